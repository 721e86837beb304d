//! Every elementwise op over every dtype it takes, on random values and on
//! special ones (NaN, infinities, signed zeros, integer extremes, shifts
//! past the width), and `select` and casts fused with broadcasting.

use super::values::{specials, without_zeros};
use crate::differential::{Case, Math, Tol};
use tessera_ir::dialect::all_ops;
use tessera_ir::op::Arity;
use tessera_ir::parse::parse_module;
use tessera_ir::tensor::Tensor;
use tessera_ir::{DType, Traits};

/// The float ops whose results come from libm, or are computed with a
/// different rounding sequence than the reference's (which computes in f64
/// and rounds once), where the runtime computes them natively.
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
/// floats, then [`Math::tol`]. Float `max` and `min` compare by value under
/// [`Math::Native`]: of `-0` and `+0` it gives IEEE 754-2019's answer (`+0`
/// is the larger), where the reference's `f64::max` leaves it unspecified.
fn tolerance(op: &str, d: DType, math: Math) -> Tol {
    if math == Math::Native && d.is_float() && matches!(op, "tg.max" | "tg.min") {
        return Tol::Close { rtol: 0.0, atol: 0.0 };
    }
    if !d.is_float() || !INEXACT.contains(&op) {
        return Tol::Exact;
    }
    math.tol(d)
}

/// The inputs on special values of op `op` on dtype `d` with `n` operands:
/// a column against a row for binary ops, with no zero divisors (nor zero
/// bases for integer powers), and a column of conditions for `select`.
fn special_inputs(op: &str, d: DType, n: usize) -> Vec<Tensor> {
    let s = specials(d);
    let column = |t: &Tensor| t.reshaped(vec![16, 1]).unwrap();
    let divides = matches!(op, "tg.div" | "tg.rem" | "tg.mod") && !d.is_float();
    let raises = op == "tg.pow" && !d.is_float();
    match n {
        1 => vec![s],
        2 if divides => vec![column(&s), without_zeros(&s)],
        2 if raises => vec![column(&without_zeros(&s)), s],
        2 => vec![column(&s), s],
        _ => vec![column(&specials(DType::I1)), column(&s), s],
    }
}

/// One module with a function `@{op}_{dtype}` per op and dtype it accepts
/// (each a single op): unary ops read 16 values, binary ops the 16x16 grid
/// of pairs (a column against a row), `select` a column of conditions too.
pub fn every_op_with_every_dtype_it_takes(math: Math) -> Vec<Case> {
    let mut src = String::new();
    let mut funcs = Vec::new();
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
            let name = format!("{}_{d}", op.name().trim_start_matches("tg."));
            // Parsing infers the result type, or fails when the op refuses the dtype.
            let probe = format!("func @{name}({}) {{\n{body}  tg.return\n}}\n", args.join(", "));
            let Ok(m) = parse_module(&probe, "probe.tir") else { continue };
            let f = &m.funcs[0];
            let result = f.ty(f.op(f.block(f.entry()).ops[0]).results[0]).clone();
            src += &format!("func @{name}({}) -> {result} {{\n{body}  tg.return %0\n}}\n", args.join(", "));
            funcs.push((name, op.name(), d, n));
        }
    }
    assert!(funcs.len() > 200, "only {} op/dtype pairs", funcs.len());
    let mut case = Case::new("elementwise/ops", src);
    for (name, op, d, n) in funcs {
        let tol = tolerance(op, d, math);
        case = case.once(&name, tol).given(name, "on special values", special_inputs(op, d, n), None, tol);
    }
    vec![case]
}

/// `select` with a broadcast condition, and casts of its result and of an
/// operand, to integers and through half precision; casts of integers.
pub fn selects_and_casts_fuse_with_broadcasting(_: Math) -> Vec<Case> {
    let src = "func @select_cast(%c: tensor<7x1xi1>, %a: tensor<7x3xf32>, %b: tensor<3xf32>) -> (tensor<7x3xf32>, tensor<7x3xi8>, tensor<7x3xf16>) {
  %s = tg.select %c, %a, %b
  %i = tg.cast %s {to = i8}
  %h = tg.cast %a {to = f16}
  tg.return %s, %i, %h
}
func @through_half(%c: tensor<7x1xi1>, %a: tensor<7x3xf32>, %b: tensor<3xf32>) -> (tensor<7x3xf32>, tensor<7x3xi8>, tensor<7x3xf16>, tensor<7x3xbf16>) {
  %s = tg.select %c, %a, %b
  %i = tg.cast %s {to = i8}
  %h = tg.cast %a {to = f16}
  %e = tg.exp %h
  %g = tg.cast %e {to = bf16}
  tg.return %s, %i, %h, %g
}
func @int_casts(%x: tensor<17xi32>) -> (tensor<17xf64>, tensor<17xi1>, tensor<17xu8>) {
  %f = tg.cast %x {to = f64}
  %b = tg.cast %x {to = i1}
  %u = tg.cast %x {to = u8}
  tg.return %f, %b, %u
}";
    vec![Case::new("elementwise/select_cast", src)
        .once("select_cast", Tol::Exact)
        .once("through_half", Tol::Close { rtol: 8e-3, atol: 0.0 })
        .once("int_casts", Tol::Exact)]
}
