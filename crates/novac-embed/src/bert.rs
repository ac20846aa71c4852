//! The BERT encoder (all-MiniLM-L6-v2's architecture) on candle: token ids →
//! contextual token vectors → mean pooling over the attention mask → L2
//! normalisation. Weights come from a `model.safetensors` checked against
//! `config.json` tensor by tensor.

use crate::error::LoadError;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{Embedding, LayerNorm, Linear, VarBuilder};
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

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
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

fn linear(vb: &VarBuilder, in_dim: usize, out_dim: usize) -> candle_core::Result<Linear> {
    let w = vb.get((out_dim, in_dim), "weight")?;
    let b = vb.get(out_dim, "bias")?;
    Ok(Linear::new(w, Some(b)))
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
                layers.push(Layer {
                    query: linear(&a.pp("self.query"), h, h)?,
                    key: linear(&a.pp("self.key"), h, h)?,
                    value: linear(&a.pp("self.value"), h, h)?,
                    attn_out: linear(&a.pp("output.dense"), h, h)?,
                    attn_norm: norm(&a.pp("output.LayerNorm"), h, cfg.layer_norm_eps)?,
                    intermediate: linear(&l.pp("intermediate.dense"), h, cfg.intermediate_size)?,
                    output: linear(&l.pp("output.dense"), cfg.intermediate_size, h)?,
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
        let mut x = self.emb_norm.forward(&x)?;
        // Additive attention mask: 0 for tokens, a large negative for padding.
        let padded = batch.iter().any(|s| s.len() != len);
        let bias = if padded {
            Some(((mask.ones_like()? - &mask)? * -1e30f64)?.reshape((b, 1, 1, len))?)
        } else {
            None
        };
        let scale = 1.0 / (self.head_dim as f64).sqrt();
        for layer in &self.layers {
            let split = |t: Tensor| -> candle_core::Result<Tensor> {
                t.reshape((b, len, self.heads, self.head_dim))?
                    .transpose(1, 2)?
                    .contiguous()
            };
            let q = split((layer.query.forward(&x)? * scale)?)?;
            let k = split(layer.key.forward(&x)?)?;
            let v = split(layer.value.forward(&x)?)?;
            let mut scores = q.matmul(&k.t()?.contiguous()?)?;
            if let Some(bias) = &bias {
                scores = scores.broadcast_add(bias)?;
            }
            let probs = candle_nn::ops::softmax_last_dim(&scores)?;
            let ctx =
                probs
                    .matmul(&v)?
                    .transpose(1, 2)?
                    .contiguous()?
                    .reshape((b, len, self.hidden))?;
            let attn = layer
                .attn_norm
                .forward(&(layer.attn_out.forward(&ctx)? + &x)?)?;
            let inter = layer.intermediate.forward(&attn)?.gelu_erf()?;
            x = layer
                .out_norm
                .forward(&(layer.output.forward(&inter)? + &attn)?)?;
        }
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
