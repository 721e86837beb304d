//! Seeded random numbers as graph IR: a counter-based generator built from
//! u32 integer primitives (`tg.iota`, `tg.mul`, `tg.bitxor`, `tg.shr`), so
//! that it evaluates, lowers and runs like any elementwise arithmetic, and
//! the reference evaluator and generated code draw the same bits.
//!
//! Element `(i0, i1, ..., ir-1)` of a draw with counter `c` is
//! `fmix32(h_r)` scaled to `[0, 1)`, where `h_0 = fmix32(c * K + key(seed))`,
//! `h_{a+1} = (h_a + i_a) * K` (K = 0x9E3779B1, all arithmetic mod 2^32)
//! and `fmix32` is MurmurHash3's finaliser, a bijection with full
//! avalanche: each step's counter moves every element's hash input by a
//! pseudo-random offset, and distinct indices give distinct inputs.

use tessera_ir::dialect::graph::{elementwise as ew, shape};
use tessera_ir::{Attr, Attrs, Builder, DType, Diag, Dim, ValueId};

/// The odd multiplier that spreads indices (2^32 / golden ratio).
const SPREAD: u32 = 0x9E37_79B1;

/// MurmurHash3's 32-bit finaliser.
pub fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

/// The generator's key for a 64-bit seed.
fn key(seed: u64) -> u32 {
    fmix32(fmix32(seed as u32) ^ (seed >> 32) as u32)
}

/// [`fmix32`] as graph IR on a u32 tensor.
fn fmix(b: &mut Builder, mut h: ValueId) -> Result<ValueId, Diag> {
    for (shift, mul) in [(16, Some(0x85EB_CA6B_u32)), (13, Some(0xC2B2_AE35)), (16, None)] {
        let s = b.scalar(DType::U32, f64::from(shift))?;
        let shifted = b.binary(&ew::SHR, h, s)?;
        h = b.binary(&ew::BITXOR, h, shifted)?;
        if let Some(m) = mul {
            let m = b.scalar(DType::U32, f64::from(m))?;
            h = b.binary(&ew::MUL, h, m)?;
        }
    }
    Ok(h)
}

/// Uniform f32 numbers in `[0, 1)` (multiples of 2^-24) of shape `dims`,
/// for `seed` and a rank-0 counter (any numeric dtype; a new value each
/// step draws new numbers).
pub fn uniform(b: &mut Builder, dims: &[Dim], seed: u64, counter: ValueId) -> Result<ValueId, Diag> {
    let c = b.cast(counter, DType::U32)?;
    let k = b.scalar(DType::U32, f64::from(SPREAD))?;
    let c = b.binary(&ew::MUL, c, k)?;
    let key = b.scalar(DType::U32, f64::from(key(seed)))?;
    let c = b.binary(&ew::ADD, c, key)?;
    let mut h = fmix(b, c)?;
    for (axis, d) in dims.iter().enumerate() {
        let mut along = vec![Dim::Known(1); dims.len()];
        along[axis] = d.clone();
        let attrs = Attrs::from([("shape", Attr::shape(&along)), ("dtype", Attr::DType(DType::U32)), ("axis", Attr::Int(axis as i64))]);
        let index = b.op(&shape::IOTA, &[], attrs)?;
        let sum = b.binary(&ew::ADD, h, index)?;
        h = b.binary(&ew::MUL, sum, k)?;
    }
    h = fmix(b, h)?;
    let s = b.scalar(DType::U32, 8.0)?;
    let top = b.binary(&ew::SHR, h, s)?;
    let top = b.cast(top, DType::F32)?;
    let unit = b.scalar(DType::F32, 2f64.powi(-24))?;
    b.binary(&ew::MUL, top, unit)
}
