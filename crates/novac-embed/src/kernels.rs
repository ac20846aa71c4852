//! CPU kernels for the encoder's element-wise steps, as candle in-place ops.
//!
//! candle 0.9 computes GELU's `erf` and softmax's `exp` one element at a
//! time through libm; at 256 word pieces those calls were about a fifth of
//! an embedding. The functions here are branch-free polynomials that the
//! compiler vectorises (SSE2 on any x86-64), and the ops work in place on a
//! matmul's fresh output, so bias, residual, GELU and softmax add no
//! allocation. Accuracy: `exp` within 2e-7 relative, `erf` within 3e-7
//! absolute (Abramowitz–Stegun 7.1.26), far below the 1e-4 the golden
//! scores are held to. Cost: none beyond candle, which is already a dependency.

use candle_core::{CpuStorage, InplaceOp1, InplaceOp2, Layout};

const LOG2E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_359_4;
const LN2_LO: f32 = -2.121_944_4e-4;
/// 1.5 × 2²³: adding and subtracting it rounds an f32 to the nearest integer.
const ROUND: f32 = 12_582_912.0;

/// `e^x`, branch-free, for `x` in any range (clamped to [-87, 88]).
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // t = ROUND + n exactly, so n is also in t's low mantissa bits: reading
    // it there (not with `as i32`, which compiles to a scalar NaN check per
    // lane) keeps the whole function vectorised.
    let t = x * LOG2E + ROUND;
    let n = t - ROUND;
    let ni = (t.to_bits() as i32).wrapping_sub(ROUND.to_bits() as i32);
    let r = x - n * LN2_HI - n * LN2_LO;
    // Taylor series to degree 7 on |r| ≤ ln2/2: remainder below 6e-9.
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0
                    + r * (1.0 / 24.0
                        + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f32::from_bits((ni.wrapping_add(127) as u32) << 23);
    p * scale
}

/// `erf(x)` (Abramowitz–Stegun 7.1.26, max error 1.5e-7 in exact arithmetic).
#[inline(always)]
pub(crate) fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152 + t * 1.061_405_4))));
    let y = 1.0 - poly * exp(-a * a);
    y.copysign(x)
}

/// GELU with the exact (erf) form, as BERT and torch's default use.
#[inline(always)]
pub(crate) fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// Softmax of one row in place; entries at `valid..` are padding and get 0.
pub(crate) fn softmax_row(row: &mut [f32], valid: usize) {
    let valid = valid.min(row.len());
    let (live, pad) = row.split_at_mut(valid);
    pad.fill(0.0);
    let max = max(live);
    if !max.is_finite() {
        return;
    }
    for v in live.iter_mut() {
        *v = exp(*v - max);
    }
    let sum = sum(live);
    let inv = 1.0 / sum;
    for v in live.iter_mut() {
        *v *= inv;
    }
}

/// The largest value (eight running lanes, so that it vectorises; NaN is skipped).
fn max(xs: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, &v) in lanes.iter_mut().zip(c) {
            *l = if v > *l { v } else { *l };
        }
    }
    lanes
        .iter()
        .chain(rest)
        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
}

/// A sum with eight running lanes, so that it vectorises.
fn sum(xs: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let chunks = xs.chunks_exact(8);
    let rest = chunks.remainder();
    for c in chunks {
        for (l, v) in lanes.iter_mut().zip(c) {
            *l += v;
        }
    }
    lanes.iter().sum::<f32>() + rest.iter().sum::<f32>()
}

fn contiguous_mut<'a>(s: &'a mut CpuStorage, l: &Layout) -> candle_core::Result<&'a mut [f32]> {
    let CpuStorage::F32(data) = s else {
        candle_core::bail!("expected f32 storage")
    };
    match l.contiguous_offsets() {
        Some((a, b)) if b <= data.len() => Ok(&mut data[a..b]),
        _ => candle_core::bail!("expected a contiguous tensor"),
    }
}

fn contiguous<'a>(s: &'a CpuStorage, l: &Layout) -> candle_core::Result<&'a [f32]> {
    let CpuStorage::F32(data) = s else {
        candle_core::bail!("expected f32 storage")
    };
    match l.contiguous_offsets() {
        Some((a, b)) if b <= data.len() => Ok(&data[a..b]),
        _ => candle_core::bail!("expected a contiguous tensor"),
    }
}

fn check_bias(data: &[f32], bias: &[f32]) -> candle_core::Result<()> {
    if bias.is_empty() || !data.len().is_multiple_of(bias.len()) {
        candle_core::bail!("bias of {} does not divide {}", bias.len(), data.len());
    }
    Ok(())
}

/// `x = f(x + bias)` over every row of `data` (the bias is one row): one
/// loop for the bias kernels, `f` inlined into it.
#[inline(always)]
fn map_biased(data: &mut [f32], bias: &[f32], f: impl Fn(f32) -> f32) -> candle_core::Result<()> {
    check_bias(data, bias)?;
    for row in data.chunks_exact_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = f(*v + b);
        }
    }
    Ok(())
}

/// `x += bias` then `x = gelu(x)`, row by row (the bias is one row).
pub(crate) struct BiasGelu<'a>(pub &'a [f32]);

impl InplaceOp1 for BiasGelu<'_> {
    fn name(&self) -> &'static str {
        "novac-bias-gelu"
    }
    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> candle_core::Result<()> {
        map_biased(contiguous_mut(s, l)?, self.0, gelu)
    }
}

/// `x += bias` (one row, repeated).
pub(crate) struct Bias<'a>(pub &'a [f32]);

impl InplaceOp1 for Bias<'_> {
    fn name(&self) -> &'static str {
        "novac-bias"
    }
    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> candle_core::Result<()> {
        map_biased(contiguous_mut(s, l)?, self.0, |x| x)
    }
}

/// `x += bias + residual` (the residual has x's shape).
pub(crate) struct BiasResidual<'a>(pub &'a [f32]);

impl InplaceOp2 for BiasResidual<'_> {
    fn name(&self) -> &'static str {
        "novac-bias-residual"
    }
    fn cpu_fwd(
        &self,
        s1: &mut CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<()> {
        let data = contiguous_mut(s1, l1)?;
        let residual = contiguous(s2, l2)?;
        check_bias(data, self.0)?;
        if residual.len() != data.len() {
            candle_core::bail!("residual of {} for {}", residual.len(), data.len());
        }
        for (row, res) in data
            .chunks_exact_mut(self.0.len())
            .zip(residual.chunks_exact(self.0.len()))
        {
            for ((v, b), r) in row.iter_mut().zip(self.0).zip(res) {
                *v += b + r;
            }
        }
        Ok(())
    }
}

/// Softmax over the last dimension of attention scores `[batch, heads, len,
/// len]`, in place; key positions at or beyond `lens[batch]` are padding
/// and get probability 0.
pub(crate) struct MaskedSoftmax<'a> {
    pub lens: &'a [usize],
    pub heads: usize,
    pub len: usize,
}

impl InplaceOp1 for MaskedSoftmax<'_> {
    fn name(&self) -> &'static str {
        "novac-masked-softmax"
    }
    fn cpu_fwd(&self, s: &mut CpuStorage, l: &Layout) -> candle_core::Result<()> {
        let data = contiguous_mut(s, l)?;
        let per_batch = self.heads * self.len * self.len;
        if self.len == 0 || data.len() != per_batch * self.lens.len() {
            candle_core::bail!("scores of {} for {} sequences", data.len(), self.lens.len());
        }
        for (block, &valid) in data.chunks_exact_mut(per_batch).zip(self.lens) {
            for row in block.chunks_exact_mut(self.len) {
                softmax_row(row, valid);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Tensor};

    fn samples() -> Vec<f32> {
        (-4000..=4000).map(|i| i as f32 * 0.005).collect()
    }

    #[test]
    fn exp_is_within_2e7_relative() {
        for x in samples().into_iter().chain([-86.0, -50.0, 30.0, 87.5]) {
            let want = (x as f64).exp();
            let got = exp(x) as f64;
            assert!(
                ((got - want) / want).abs() < 2e-7,
                "exp({x}) = {got}, want {want}"
            );
        }
        assert!(exp(-1e30) < 1e-37);
        assert!(exp(f32::NEG_INFINITY) < 1e-37);
    }

    #[test]
    fn gelu_matches_candles_erf_gelu() {
        let xs = samples();
        let want = Tensor::new(xs.as_slice(), &Device::Cpu)
            .and_then(|t| t.gelu_erf())
            .and_then(|t| t.to_vec1::<f32>())
            .expect("candle gelu");
        for ((x, w), got) in xs.iter().zip(&want).zip(xs.iter().map(|&x| gelu(x))) {
            assert!((got - w).abs() < 5e-7, "gelu({x}) = {got}, candle {w}");
        }
        assert!(erf(0.0).abs() < 1e-7);
        assert!((erf(10.0) - 1.0).abs() < 1e-7 && (erf(-10.0) + 1.0).abs() < 1e-7);
    }

    #[test]
    fn softmax_matches_candle_and_masks_padding() {
        let len = 37;
        let scores: Vec<f32> = (0..len * len)
            .map(|i| ((i * 7919) % 113) as f32 * 0.37 - 20.0)
            .collect();
        let t = Tensor::from_vec(scores.clone(), (1, 1, len, len), &Device::Cpu).expect("t");
        let want = candle_nn::ops::softmax_last_dim(&t)
            .and_then(|t| t.flatten_all())
            .and_then(|t| t.to_vec1::<f32>())
            .expect("softmax");
        t.inplace_op1(&MaskedSoftmax {
            lens: &[len],
            heads: 1,
            len,
        })
        .expect("op");
        let got = t.flatten_all().and_then(|t| t.to_vec1::<f32>()).expect("v");
        for (g, w) in got.iter().zip(&want) {
            assert!((g - w).abs() < 1e-6, "{g} vs {w}");
        }
        let mut row = vec![1.0, 2.0, 3.0, 99.0];
        softmax_row(&mut row, 3);
        assert_eq!(row[3], 0.0);
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn ops_reject_mismatched_shapes() {
        let t = Tensor::zeros((2, 5), candle_core::DType::F32, &Device::Cpu).expect("t");
        assert!(t.inplace_op1(&Bias(&[1.0, 2.0, 3.0])).is_err());
        assert!(t.inplace_op1(&BiasGelu(&[])).is_err());
        let r = Tensor::zeros((2, 4), candle_core::DType::F32, &Device::Cpu).expect("r");
        assert!(t.inplace_op2(&r, &BiasResidual(&[0.0; 5])).is_err());
        let lens = [5usize];
        assert!(t
            .inplace_op1(&MaskedSoftmax {
                lens: &lens,
                heads: 1,
                len: 5
            })
            .is_err());
    }
}
