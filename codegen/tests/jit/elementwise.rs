//! Every elementwise op over every dtype it takes (on special values: NaN,
//! infinities, signed zeros, integer extremes, shifts past the width; and
//! on random ones), casts between every pair of dtypes, iotas of every
//! dtype, `select`, and integer division by zero reported as an error.

use crate::harness::{Compiled, Tol};
use tessera_ir::dialect::all_ops;
use tessera_ir::op::Arity;
use tessera_ir::parse::parse_module;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::{DType, Traits};

/// The float ops whose results come from libm or are computed with a
/// different rounding sequence than the reference's (which computes in f64
/// and rounds once): they match to a few units in the last place.
const INEXACT: &[&str] = &[
    "tg.exp",
    "tg.log",
    "tg.rsqrt",
    "tg.tanh",
    "tg.sigmoid",
    "tg.erf",
    "tg.sin",
    "tg.cos",
    "tg.tan",
    "tg.asin",
    "tg.acos",
    "tg.atan",
    "tg.sinh",
    "tg.cosh",
    "tg.asinh",
    "tg.acosh",
    "tg.atanh",
    "tg.pow",
    "tg.atan2",
];

/// The tolerance of op `op` on dtype `d`: exact unless an inexact op on
/// floats, then a few ulps of `d` (`f16`/`bf16` within one of their ulps,
/// being computed in f32 and rounded). Float `max` and `min` compare by
/// value: of `-0` and `+0` the JIT gives IEEE 754-2019's answer (`+0` is
/// the larger), where the reference's `f64::max` leaves it unspecified.
fn tolerance(op: &str, d: DType) -> Tol {
    if d.is_float() && matches!(op, "tg.max" | "tg.min") {
        return Tol::Close { rtol: 0.0, atol: 0.0 };
    }
    if !d.is_float() || !INEXACT.contains(&op) {
        return Tol::Exact;
    }
    match d {
        DType::F64 => Tol::Close { rtol: 1e-14, atol: 1e-300 },
        DType::F32 => Tol::Close { rtol: 4e-7, atol: 1e-7 },
        DType::F16 => Tol::Close { rtol: 1e-3, atol: 1e-7 },
        _ => Tol::Close { rtol: 8e-3, atol: 1e-7 },
    }
}

/// Sixteen values of `d` that exercise its edges.
fn specials(d: DType) -> Tensor {
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
fn without_zeros(t: &Tensor) -> Tensor {
    let data = match t.data() {
        Data::Int(v) => Data::Int(v.iter().map(|&x| if x == 0 { 1 } else { x }).collect()),
        Data::UInt(v) => Data::UInt(v.iter().map(|&x| if x == 0 { 1 } else { x }).collect()),
        other => other.clone(),
    };
    Tensor::new(t.dtype(), t.shape().to_vec(), data).unwrap()
}

/// The function name for op `op` on dtype `d`: `add_f32`.
fn func_name(op: &str, d: DType) -> String {
    format!("{}_{d}", op.trim_start_matches("tg."))
}

#[test]
fn every_elementwise_op_with_every_dtype_it_takes() {
    // One module holding a function per (op, dtype) the op accepts; unary
    // ops read 16 values, binary ops the 16x16 grid of pairs (a column
    // against a row), select a column of conditions.
    let mut src = String::new();
    let mut cases = Vec::new();
    for op in all_ops().filter(|op| op.traits().contains(Traits::ELEMENTWISE) && op.attrs().is_empty()) {
        let Arity::Exactly(n) = op.operands() else { panic!("{} has a variable arity", op.name()) };
        for d in DType::ALL {
            let types: Vec<String> = match n {
                1 => vec![format!("tensor<16x{d}>")],
                2 => vec![format!("tensor<16x1x{d}>"), format!("tensor<16x{d}>")],
                _ => vec!["tensor<16x1xi1>".into(), format!("tensor<16x1x{d}>"), format!("tensor<16x{d}>")],
            };
            let args: Vec<String> = types.iter().enumerate().map(|(i, t)| format!("%a{i}: {t}")).collect();
            let uses: Vec<String> = (0..n).map(|i| format!("%a{i}")).collect();
            let body = format!("  %0 = {} {}\n", op.name(), uses.join(", "));
            let name = func_name(op.name(), d);
            // Parsing infers the result type, or fails when the op refuses the dtype.
            let probe = format!("func @{name}({}) {{\n{body}  tg.return\n}}\n", args.join(", "));
            let Ok(m) = parse_module(&probe, "probe.tir") else { continue };
            let f = &m.funcs[0];
            let result = f.ty(f.op(f.block(f.entry()).ops[0]).results[0]).clone();
            src += &format!("func @{name}({}) -> {result} {{\n{body}  tg.return %0\n}}\n", args.join(", "));
            cases.push((op.name(), d, n));
        }
    }
    assert!(cases.len() > 200, "only {} op/dtype pairs", cases.len());
    let c = Compiled::new(&src);
    for &(op, d, n) in &cases {
        let name = func_name(op, d);
        let tol = tolerance(op, d);
        c.check(&name, &[], tol);
        let s = specials(d);
        let column = |t: &Tensor| t.reshaped(vec![16, 1]).unwrap();
        let divides = matches!(op, "tg.div" | "tg.rem" | "tg.mod") && !d.is_float();
        let raises = op == "tg.pow" && !d.is_float();
        let inputs = match n {
            1 => vec![s],
            2 if divides => vec![column(&s), without_zeros(&s)],
            2 if raises => vec![column(&without_zeros(&s)), s],
            2 => vec![column(&s), s],
            _ => vec![column(&specials(DType::I1)), column(&s), s],
        };
        c.check_inputs(&name, inputs, tol, "on special values");
    }
}

#[test]
fn integer_division_by_zero_is_an_error_not_a_crash() {
    let mut src = String::new();
    let ops = ["div", "rem", "mod"];
    let dtypes = [DType::I8, DType::I32, DType::I64, DType::U8, DType::U64];
    for op in ops {
        for d in dtypes {
            src += &format!(
                "func @{op}_{d}(%a: tensor<4x{d}>, %b: tensor<4x{d}>) -> tensor<4x{d}> {{\n  %0 = tg.{op} %a, %b\n  tg.return %0\n}}\n"
            );
        }
    }
    src += "func @pow_i32(%a: tensor<2xi32>, %b: tensor<2xi32>) -> tensor<2xi32> {\n  %0 = tg.pow %a, %b\n  tg.return %0\n}\n";
    let c = Compiled::new(&src);
    for op in ops {
        for d in dtypes {
            let a = Tensor::convert_f64(d, vec![4], &[7.0, 8.0, 9.0, 10.0]).unwrap();
            let b = Tensor::convert_f64(d, vec![4], &[1.0, 2.0, 0.0, 3.0]).unwrap();
            let err = c.jit.run(&format!("{op}_{d}"), &[a.clone(), b]).unwrap_err();
            assert!(err.message.ends_with("integer division by zero"), "{op} {d}: {}", err.message);
            let ok = Tensor::convert_f64(d, vec![4], &[1.0, 2.0, 4.0, 3.0]).unwrap();
            c.check_inputs(&format!("{op}_{d}"), vec![a, ok], Tol::Exact, "after an error");
        }
    }
    let zero_to_negative = c
        .jit
        .run("pow_i32", &[Tensor::from_i64s(&[0, 2]).cast(DType::I32), Tensor::from_i64s(&[-1, 3]).cast(DType::I32)]);
    assert!(zero_to_negative.unwrap_err().message.ends_with("integer division by zero"));
}

/// Sixteen values of `d` for casting from it: rounding ties, values that
/// overflow or wrap narrower dtypes, NaN and infinities, and (for `i64`)
/// an integer that `f32` reaches differently through `f64` than directly.
fn cast_sources(d: DType) -> Tensor {
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

#[test]
fn casts_between_every_pair_of_dtypes() {
    let mut src = String::new();
    for from in DType::ALL {
        for to in DType::ALL {
            src += &format!(
                "func @{from}_to_{to}(%x: tensor<16x{from}>) -> tensor<16x{to}> {{\n  %0 = tg.cast %x {{to = {to}}}\n  tg.return %0\n}}\n"
            );
        }
    }
    let c = Compiled::new(&src);
    for from in DType::ALL {
        for to in DType::ALL {
            let name = format!("{from}_to_{to}");
            c.check_inputs(&name, vec![cast_sources(from)], Tol::Exact, "on special values");
            c.check(&name, &[], Tol::Exact);
        }
    }
}

#[test]
fn iotas_of_every_dtype() {
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
    let c = Compiled::new(&src);
    for name in &names {
        c.check(name, &[], Tol::Exact);
    }
}

#[test]
fn select_and_cast_fuse_with_broadcasting() {
    let src = "func @f(%c: tensor<7x1xi1>, %a: tensor<7x3xf32>, %b: tensor<3xf32>) -> (tensor<7x3xf32>, tensor<7x3xi8>, tensor<7x3xf16>, tensor<7x3xbf16>) {
  %s = tg.select %c, %a, %b
  %i = tg.cast %s {to = i8}
  %h = tg.cast %a {to = f16}
  %e = tg.exp %h
  %g = tg.cast %e {to = bf16}
  tg.return %s, %i, %h, %g
}";
    crate::harness::check(src, "f", Tol::Close { rtol: 8e-3, atol: 0.0 });
}
