//! `tg.bitcast` between every pair of same-size dtypes: floats and
//! integers of 1 to 8 bytes, the half-precision floats, and `i1` (one
//! byte, true when nonzero), bit for bit against the reference.

use crate::harness::{check_each, Tol, N1_N5};

#[test]
fn bitcasts_between_every_pair_of_a_size() {
    let pairs = [
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
    for (from, to) in pairs {
        let src = format!(
            "func @f(%x: tensor<N x 7 x {from}>) -> tensor<N x 7 x {to}> {{\n  %y = tg.bitcast %x {{to = {to}}}\n  tg.return %y\n}}"
        );
        check_each(&src, "f", N1_N5, Tol::Exact);
    }
}
