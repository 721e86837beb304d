//! Conversions: `tg.cast` between every pair of dtypes (on rounding ties,
//! overflow, NaN and infinities), `tg.bitcast` between every pair of
//! same-size dtypes, and `tg.iota` in every dtype.

use super::values::cast_sources;
use crate::differential::{Case, Math, Tol, N1_N5};
use tessera_ir::parse::parse_module;
use tessera_ir::DType;

/// One module with `@{from}_to_{to}` for every pair of dtypes, checked on
/// special values (rounding ties, overflow, NaN, infinities) and on
/// random ones.
pub fn casts_between_every_pair_of_dtypes(_: Math) -> Vec<Case> {
    let mut src = String::new();
    for from in DType::ALL {
        for to in DType::ALL {
            src += &format!(
                "func @{from}_to_{to}(%x: tensor<16x{from}>) -> tensor<16x{to}> {{\n  %0 = tg.cast %x {{to = {to}}}\n  tg.return %0\n}}\n"
            );
        }
    }
    let mut case = Case::new("casts/every_pair", src);
    for from in DType::ALL {
        for to in DType::ALL {
            let name = format!("{from}_to_{to}");
            let specials = vec![cast_sources(from)];
            case = case.given(&name, "on special values", specials, None, Tol::Exact).once(name, Tol::Exact);
        }
    }
    vec![case]
}

/// Every pair of same-size dtypes `tg.bitcast` converts between, as `(from, to)`:
/// floats and integers of 1 to 8 bytes, the half-precision floats, and
/// `i1` (one byte, true when nonzero).
const BITCASTS: &[(&str, &str)] = &[
    ("f32", "i32"),
    ("i32", "f32"),
    ("f32", "u32"),
    ("f64", "i64"),
    ("i64", "f64"),
    ("f16", "i16"),
    ("i16", "f16"),
    ("bf16", "u16"),
    ("u16", "bf16"),
    ("f16", "bf16"),
    ("bf16", "f16"),
    ("i8", "u8"),
    ("i1", "u8"),
    ("u8", "i1"),
    ("i1", "i8"),
];

/// One module with `@{from}_to_{to}` for each same-size pair over a
/// symbolic batch, bit for bit against the reference.
pub fn bitcasts_between_every_pair_of_a_size(_: Math) -> Vec<Case> {
    let mut src = String::new();
    for (from, to) in BITCASTS {
        src += &format!(
            "func @{from}_to_{to}(%x: tensor<N x 7 x {from}>) -> tensor<N x 7 x {to}> {{\n  %y = tg.bitcast %x {{to = {to}}}\n  tg.return %y\n}}\n"
        );
    }
    let case = Case::new("casts/bitcasts", src);
    vec![BITCASTS.iter().fold(case, |case, (from, to)| case.each(format!("{from}_to_{to}"), N1_N5, Tol::Exact))]
}

/// `@iota_{dtype}` (3 x 300 along the long axis, past `u8`'s range) for
/// every dtype iotas take; and iotas fused into their readers.
pub fn iotas_of_every_dtype(_: Math) -> Vec<Case> {
    let mut src = String::new();
    let mut names = Vec::new();
    for d in DType::ALL {
        let f = format!("func @iota_{d}() -> tensor<3 x 300 x {d}> {{\n  %0 = tg.iota {{shape = [3, 300], dtype = {d}, axis = 1}}\n  tg.return %0\n}}\n");
        if parse_module(&f, "probe.tir").is_ok() {
            src += &f;
            names.push(format!("iota_{d}"));
        }
    }
    assert!(names.len() >= 12, "{names:?}");
    let every = names.into_iter().fold(Case::new("casts/iotas", src), |case, name| case.once(name, Tol::Exact));
    let fused = "func @f(%x: tensor<N x 3 x f32>) -> (tensor<N x 3 x f32>, tensor<300xu8>, tensor<2049xf16>, tensor<4 x N x i64>) {
  %i = tg.iota {shape = [N, 3], dtype = f32, axis = 0}
  %y = tg.add %x, %i
  %u = tg.iota {shape = [300], dtype = u8, axis = 0}
  %h = tg.iota {shape = [2049], dtype = f16, axis = 0}
  %k = tg.iota {shape = [4, N], dtype = i64, axis = 1}
  tg.return %y, %u, %h, %k
}";
    vec![every, Case::new("casts/fused_iotas", fused).each("f", N1_N5, Tol::Exact)]
}
