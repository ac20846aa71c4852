//! The BERT encoder (all-MiniLM-L6-v2's architecture) on candle: token ids →
//! contextual token vectors → mean pooling over the attention mask → L2
//! normalisation. Weights come from a `model.safetensors` checked against
//! `config.json` tensor by tensor.

use crate::error::LoadError;
use crate::kernels;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Embedding, LayerNorm, VarBuilder};
use std::path::Path;

/// The fields of `config.json` the encoder needs.
#[derive(Clone, Debug, serde::Deserialize)]
pub(crate) struct BertConfig {
    pub vocab_size: usize,
    pub hidden_size: usize,
    pub num_hidden_layers: usize,
    pub num_attention_heads: usize,
    pub intermediate_size: usize,
    pub max_position_embeddings: usize,
    #[serde(default = "default_type_vocab")]
    pub type_vocab_size: usize,
    #[serde(default = "default_eps")]
    pub layer_norm_eps: f64,
    #[serde(default = "default_act")]
    pub hidden_act: String,
    #[serde(default)]
    pub model_type: Option<String>,
    #[serde(default, rename = "_name_or_path")]
    pub name_or_path: Option<String>,
}

fn default_type_vocab() -> usize {
    2
}
fn default_eps() -> f64 {
    1e-12
}
fn default_act() -> String {
    "gelu".into()
}

impl BertConfig {
    pub(crate) fn validate(&self, path: &Path) -> Result<(), LoadError> {
        let bad = |message: String| LoadError::Config {
            path: path.to_path_buf(),
            message,
        };
        if let Some(t) = &self.model_type {
            if t != "bert" {
                return Err(bad(format!(
                    "model_type is {t:?}; only \"bert\" is supported"
                )));
            }
        }
        if self.hidden_act != "gelu" {
            return Err(bad(format!(
                "hidden_act is {:?}; only \"gelu\" is supported",
                self.hidden_act
            )));
        }
        if self.num_attention_heads == 0
            || self.hidden_size == 0
            || !self.hidden_size.is_multiple_of(self.num_attention_heads)
        {
            return Err(bad(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            )));
        }
        if self.num_hidden_layers == 0 || self.vocab_size == 0 || self.max_position_embeddings < 3 {
            return Err(bad(
                "num_hidden_layers, vocab_size and max_position_embeddings must be positive".into(),
            ));
        }
        Ok(())
    }
}

/// One encoder layer. The query, key and value projections are one matrix
/// (`[3 × hidden, hidden]`, the query rows pre-scaled by `1/√head_dim`), so
/// a layer makes four matmuls; biases are plain rows for the fused
/// in-place kernels of `kernels.rs`.
struct Layer {
    qkv: Tensor,
    qkv_bias: Vec<f32>,
    attn_out: Tensor,
    attn_out_bias: Vec<f32>,
    attn_norm: LayerNorm,
    intermediate: Tensor,
    intermediate_bias: Vec<f32>,
    output: Tensor,
    output_bias: Vec<f32>,
    out_norm: LayerNorm,
}

/// The encoder's weights.
pub(crate) struct Bert {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    emb_norm: LayerNorm,
    layers: Vec<Layer>,
    heads: usize,
    head_dim: usize,
    pub(crate) hidden: usize,
    device: Device,
}

/// A dense layer's weight `[out, in]` and bias.
fn linear(vb: &VarBuilder, in_dim: usize, out_dim: usize) -> candle_core::Result<(Tensor, Tensor)> {
    Ok((
        vb.get((out_dim, in_dim), "weight")?,
        vb.get(out_dim, "bias")?,
    ))
}

fn norm(vb: &VarBuilder, dim: usize, eps: f64) -> candle_core::Result<LayerNorm> {
    let w = vb.get(dim, "weight")?;
    let b = vb.get(dim, "bias")?;
    Ok(LayerNorm::new(w, b, eps))
}

impl Bert {
    /// Loads the weights in `bytes` (the content of `path`).
    pub(crate) fn load(bytes: &[u8], path: &Path, cfg: &BertConfig) -> Result<Bert, LoadError> {
        let device = Device::Cpu;
        let weights = |e: candle_core::Error| LoadError::Weights {
            path: path.to_path_buf(),
            message: first_line(&e.to_string()),
        };
        let tensors = candle_core::safetensors::load_buffer(bytes, &device).map_err(weights)?;
        // Some exports prefix every name with `bert.`.
        let prefixed = tensors.keys().any(|k| k.starts_with("bert.embeddings."));
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let vb = if prefixed { vb.pp("bert") } else { vb };
        let h = cfg.hidden_size;
        let load = || -> candle_core::Result<Bert> {
            let e = vb.pp("embeddings");
            let word = Embedding::new(e.get((cfg.vocab_size, h), "word_embeddings.weight")?, h);
            let position = Embedding::new(
                e.get(
                    (cfg.max_position_embeddings, h),
                    "position_embeddings.weight",
                )?,
                h,
            );
            let token_type = Embedding::new(
                e.get((cfg.type_vocab_size, h), "token_type_embeddings.weight")?,
                h,
            );
            let emb_norm = norm(&e.pp("LayerNorm"), h, cfg.layer_norm_eps)?;
            let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
            for i in 0..cfg.num_hidden_layers {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let a = l.pp("attention");
                let (wq, bq) = linear(&a.pp("self.query"), h, h)?;
                let (wk, bk) = linear(&a.pp("self.key"), h, h)?;
                let (wv, bv) = linear(&a.pp("self.value"), h, h)?;
                let scale = 1.0 / ((h / cfg.num_attention_heads) as f64).sqrt();
                let (wo, bo) = linear(&a.pp("output.dense"), h, h)?;
                let (wi, bi) = linear(&l.pp("intermediate.dense"), h, cfg.intermediate_size)?;
                let (wout, bout) = linear(&l.pp("output.dense"), cfg.intermediate_size, h)?;
                layers.push(Layer {
                    qkv: Tensor::cat(&[(wq * scale)?, wk, wv], 0)?
                        .t()?
                        .contiguous()?,
                    qkv_bias: Tensor::cat(&[(bq * scale)?, bk, bv], 0)?.to_vec1()?,
                    attn_out: wo.t()?.contiguous()?,
                    attn_out_bias: bo.to_vec1()?,
                    attn_norm: norm(&a.pp("output.LayerNorm"), h, cfg.layer_norm_eps)?,
                    intermediate: wi.t()?.contiguous()?,
                    intermediate_bias: bi.to_vec1()?,
                    output: wout.t()?.contiguous()?,
                    output_bias: bout.to_vec1()?,
                    out_norm: norm(&l.pp("output.LayerNorm"), h, cfg.layer_norm_eps)?,
                });
            }
            Ok(Bert {
                word,
                position,
                token_type,
                emb_norm,
                layers,
                heads: cfg.num_attention_heads,
                head_dim: h / cfg.num_attention_heads,
                hidden: h,
                device: device.clone(),
            })
        };
        load().map_err(weights)
    }

    /// Sentence embeddings of a batch of token-id sequences (each at most
    /// `max_positions` long, non-empty): mean-pooled, L2-normalised.
    pub(crate) fn embed(&self, batch: &[&[u32]]) -> candle_core::Result<Vec<Vec<f32>>> {
        let b = batch.len();
        let len = batch.iter().map(|s| s.len()).max().unwrap_or(0);
        if b == 0 || len == 0 {
            return Ok(vec![Vec::new(); b]);
        }
        let mut ids = Vec::with_capacity(b * len);
        let mut mask = Vec::with_capacity(b * len);
        for seq in batch {
            ids.extend_from_slice(seq);
            ids.extend(std::iter::repeat_n(0u32, len - seq.len()));
            mask.extend(std::iter::repeat_n(1f32, seq.len()));
            mask.extend(std::iter::repeat_n(0f32, len - seq.len()));
        }
        let dev = &self.device;
        let ids = Tensor::from_vec(ids, (b, len), dev)?;
        let mask = Tensor::from_vec(mask, (b, len), dev)?;
        let positions = Tensor::arange(0u32, len as u32, dev)?.unsqueeze(0)?;
        let types = Tensor::zeros((1, len), DType::U32, dev)?;
        let x = self
            .word
            .forward(&ids)?
            .broadcast_add(&self.position.forward(&positions)?)?
            .broadcast_add(&self.token_type.forward(&types)?)?;
        let x = self.emb_norm.forward(&x)?;
        let lens: Vec<usize> = batch.iter().map(|s| s.len()).collect();
        let (heads, hd, hidden) = (self.heads, self.head_dim, self.hidden);
        let mut x = x.reshape((b * len, hidden))?;
        for layer in &self.layers {
            // [b·len, 3·hidden] → [3, b·heads, len, head_dim]: one copy for q, k and v.
            let qkv = x.matmul(&layer.qkv)?;
            qkv.inplace_op1(&kernels::Bias(&layer.qkv_bias))?;
            let qkv = qkv
                .reshape((b, len, 3, heads, hd))?
                .permute((2, 0, 3, 1, 4))?
                .contiguous()?
                .reshape((3, b * heads, len, hd))?;
            let q = qkv.get(0)?;
            let k = qkv.get(1)?;
            let v = qkv.get(2)?;
            let probs = q.matmul(&k.t()?)?;
            probs.inplace_op1(&kernels::MaskedSoftmax {
                lens: &lens,
                heads,
                len,
            })?;
            let ctx = probs
                .matmul(&v)?
                .reshape((b, heads, len, hd))?
                .transpose(1, 2)?
                .contiguous()?
                .reshape((b * len, hidden))?;
            let attn = ctx.matmul(&layer.attn_out)?;
            attn.inplace_op2(&x, &kernels::BiasResidual(&layer.attn_out_bias))?;
            let attn = layer.attn_norm.forward(&attn)?;
            let inter = attn.matmul(&layer.intermediate)?;
            inter.inplace_op1(&kernels::BiasGelu(&layer.intermediate_bias))?;
            let out = inter.matmul(&layer.output)?;
            out.inplace_op2(&attn, &kernels::BiasResidual(&layer.output_bias))?;
            x = layer.out_norm.forward(&out)?;
        }
        let x = x.reshape((b, len, hidden))?;
        // Mean pooling over real tokens, then L2 normalisation.
        let m = mask.unsqueeze(D::Minus1)?;
        let summed = x.broadcast_mul(&m)?.sum(1)?;
        let counts = m.sum(1)?.clamp(1e-9, f64::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norms = mean.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
        mean.broadcast_div(&norms)?.to_vec2::<f32>()
    }
}

/// The first line of a (possibly multi-line, backtrace-carrying) error text.
pub(crate) fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}
