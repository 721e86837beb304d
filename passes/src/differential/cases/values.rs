//! Hand-picked input values that exercise a dtype's edges, for the
//! elementwise and cast families.

use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::DType;

/// Sixteen values of `d` that exercise its edges: NaN, infinities, signed
/// zeros, integer extremes, shift amounts at and past the width.
pub fn specials(d: DType) -> Tensor {
    let bits = d.size_bytes() as i64 * 8;
    let data = match d {
        DType::I1 => Data::Bool((0..16).map(|i| i % 3 == 0).collect()),
        d if d.is_float() => Data::Float(vec![
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.5,
            -2.5,
            2.5,
            3.0,
            1e-3,
            -7.25,
            100.0,
            1e30,
            1e-30,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NAN,
        ]),
        d if d.is_signed_int() => {
            let max = if bits == 64 { i64::MAX } else { (1 << (bits - 1)) - 1 };
            let min = -max - 1;
            Data::Int(vec![0, 1, -1, 2, -3, 7, -8, 9, max, min, max - 1, min + 1, 5, 63, bits - 1, bits])
        }
        _ => {
            let max = if bits == 64 { u64::MAX } else { (1 << bits) - 1 };
            let w = bits as u64;
            Data::UInt(vec![0, 1, 2, 3, 7, 8, 9, max, max - 1, 5, 63, w - 1, w, w + 1, 100, 200])
        }
    };
    Tensor::new(d, vec![16], data).unwrap()
}

/// `t` with every zero replaced by one (a divisor the reference accepts).
pub fn without_zeros(t: &Tensor) -> Tensor {
    let data = match t.data() {
        Data::Int(v) => Data::Int(v.iter().map(|&x| if x == 0 { 1 } else { x }).collect()),
        Data::UInt(v) => Data::UInt(v.iter().map(|&x| if x == 0 { 1 } else { x }).collect()),
        other => other.clone(),
    };
    Tensor::new(t.dtype(), t.shape().to_vec(), data).unwrap()
}

/// Sixteen values of `d` for casting from it: rounding ties, values that
/// overflow or wrap narrower dtypes, NaN and infinities, and (for `i64`)
/// an integer that `f32` reaches differently through `f64` than directly.
pub fn cast_sources(d: DType) -> Tensor {
    let data = match d {
        DType::I1 => Data::Bool((0..16).map(|i| i % 2 == 0).collect()),
        d if d.is_float() => Data::Float(vec![
            -1.7,
            2.9,
            0.0,
            -0.0,
            300.0,
            -300.0,
            1e10,
            -1e10,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            65520.0,
            1.0 / 3.0,
            2.5,
            -2.5,
            3e38,
        ]),
        d if d.is_signed_int() => Data::Int(vec![
            0,
            1,
            -1,
            127,
            -128,
            255,
            300,
            -300,
            65519,
            65520,
            16_777_217,
            i64::MAX,
            i64::MIN,
            (1 << 60) + (1 << 36) + 1,
            -(1 << 40),
            (1 << 31) + 7,
        ]),
        _ => Data::UInt(vec![
            0,
            1,
            127,
            128,
            255,
            256,
            300,
            65535,
            65536,
            16_777_217,
            u64::MAX,
            1 << 63,
            (1 << 60) + (1 << 36) + 1,
            u32::MAX as u64,
            2049,
            7,
        ]),
    };
    Tensor::new(d, vec![16], data).unwrap()
}
