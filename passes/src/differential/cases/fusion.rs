//! Elementwise chains as the lowering fuses them: broadcasting in every
//! position, chains over odd and empty shapes, symbolic batches bound from
//! the arguments, values used twice or never, constants and parameters.

use crate::differential::{Case, Math, Tol, N1_N5, N1_N5_N0};
use tessera_ir::parse::parse_module;
use tessera_ir::DType;

/// The operand shapes of [`binary_ops_broadcast_in_every_position`] (`""` a scalar).
const BROADCASTS: [(&str, &str); 10] = [
    ("3x7", "3x7"),
    ("3x1x7", "5x1"),
    ("5x1", "3x1x7"),
    ("1", "3x7"),
    ("3x7", ""),
    ("", "17"),
    ("1x7", "3x1"),
    ("33x1x1", "1x17x3"),
    ("7x0", "1"),
    ("0x1", "1x3"),
];

/// For each pair of operand shapes, `select(a < b, a - b, b * a)` as
/// `@mul{k}` and `select(a < b, a - b, b ** a)` as `@pow{k}`: one fused
/// nest each.
pub fn binary_ops_broadcast_in_every_position(math: Math) -> Vec<Case> {
    let t = |s: &str| if s.is_empty() { "tensor<f32>".to_string() } else { format!("tensor<{s}xf32>") };
    let mut src = String::new();
    let mut checks = Vec::new();
    for (k, (a, b)) in BROADCASTS.iter().enumerate() {
        for (name, op, tol) in [("mul", "mul %b, %a", Tol::Exact), ("pow", "pow %b, %a", math.tol(DType::F32))] {
            let f = format!(
                "func @{name}{k}(%a: {}, %b: {}) {{\n  %0 = tg.sub %a, %b\n  %1 = tg.{op}\n  %2 = tg.lt %a, %b\n  %3 = tg.select %2, %0, %1\n  tg.return %3\n}}\n",
                t(a),
                t(b)
            );
            // Infer the result type through the parser, then declare it.
            let probe = parse_module(&f, "probe.tir").unwrap();
            let func = &probe.funcs[0];
            let last = func.block(func.entry()).ops[3];
            let ty = func.ty(func.op(last).results[0]).to_string();
            src += &f.replace(") {", &format!(") -> {ty} {{"));
            checks.push((format!("{name}{k}"), tol));
        }
    }
    vec![checks.into_iter().fold(Case::new("fusion/broadcast", src), |case, (name, tol)| case.once(name, tol))]
}

/// `tanh(relu(x * w + b))` over `n x 17` for n from 0 to 1000, as `@chain{n}`.
pub fn fused_chains_over_odd_and_empty_shapes(math: Math) -> Vec<Case> {
    let sizes = [1, 3, 7, 17, 33, 1000, 0];
    let mut src = String::new();
    for n in sizes {
        src += &format!(
            "func @chain{n}(%x: tensor<{n} x 17 x f32>, %w: tensor<17xf32>, %b: tensor<1x17xf32>) -> tensor<{n} x 17 x f32> {{
  %zero = tg.constant {{value = dense<0.0> : tensor<f32>}}
  %0 = tg.mul %x, %w
  %1 = tg.add %0, %b
  %2 = tg.max %1, %zero
  %3 = tg.tanh %2
  tg.return %3
}}
"
        );
    }
    let case = Case::new("fusion/chains", src);
    vec![sizes.iter().fold(case, |case, n| case.once(format!("chain{n}"), math.tol(DType::F32)))]
}

/// `relu(x * w + b)` over a symbolic batch of 17 features in dtype `d`, as
/// function `@{name}`: one fused, parallel loop nest.
pub fn relu_affine(name: &str, d: &str) -> String {
    format!(
        "func @{name}(%x: tensor<N x 17 x {d}>, %w: tensor<17x{d}>, %b: tensor<1x17x{d}>) -> tensor<N x 17 x {d}> {{
  %zero = tg.constant {{value = dense<0.0> : tensor<{d}>}}
  %0 = tg.mul %x, %w
  %1 = tg.add %0, %b
  %2 = tg.max %1, %zero
  tg.return %2
}}"
    )
}

/// A batch `N` bound from the arguments, read by an elementwise chain and a
/// reduction (`@f`), and [`relu_affine`] (`@mlp_tail`, in f32 and f64).
pub fn symbolic_batches_bind_from_the_arguments(_: Math) -> Vec<Case> {
    let f = "func @f(%x: tensor<N x 3 x f32>, %b: tensor<3xf32>, %s: tensor<f32>) -> (tensor<N x 3 x f32>, tensor<N x f32>) {
  %0 = tg.mul %x, %s
  %1 = tg.add %0, %b
  %2 = tg.reduce_max %1 {axes = [1]}
  tg.return %1, %2
}";
    let src = [f.to_string(), relu_affine("mlp_tail", "f32"), relu_affine("mlp_tail_f64", "f64")].join("\n");
    vec![Case::new("fusion/symbolic_batch", src)
        .each("f", N1_N5_N0, Tol::Exact)
        .each("mlp_tail", N1_N5, Tol::Exact)
        .each("mlp_tail_f64", N1_N5, Tol::Exact)]
}

/// Values used twice (`@twice`, and with symbolic shapes `@symbolic`), never
/// (`@unused`), or read repeatedly through a broadcast (`@broadcast`, and
/// through a `broadcast_to` `@remap`).
pub fn temporaries_are_computed_once(math: Math) -> Vec<Case> {
    let src = "func @twice(%x: tensor<7x3xf32>) -> tensor<7x3xf32> {
  %e = tg.exp %x
  %s = tg.mul %e, %e
  %t = tg.add %s, %e
  tg.return %t
}
func @symbolic(%x: tensor<N x 3 x f32>, %y: tensor<2*N + 1 x f32>) -> (tensor<N x 3 x f32>, tensor<2*N + 1 x f32>) {
  %e = tg.exp %x
  %s = tg.mul %e, %e
  %t = tg.add %s, %e
  %n = tg.neg %y
  %m = tg.mul %n, %n
  %u = tg.add %m, %n
  tg.return %t, %u
}
func @unused(%x: tensor<7x3xf32>) -> tensor<7x3xf32> {
  %dead = tg.exp %x
  %also = tg.reduce_sum %dead {axes = [0]}
  %k = tg.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>}
  %y = tg.neg %x
  tg.return %y
}
func @broadcast(%x: tensor<33x17xf64>, %b: tensor<17xf64>) -> tensor<33x17xf64> {
  %e = tg.exp %b
  %y = tg.add %x, %e
  tg.return %y
}
func @remap(%b: tensor<3x1xi32>) -> tensor<3x7xi32> {
  %n = tg.neg %b
  %w = tg.broadcast_to %n {shape = [3, 7]}
  %y = tg.abs %w
  tg.return %y
}";
    vec![Case::new("fusion/temporaries", src)
        .once("twice", math.tol(DType::F32))
        .each("symbolic", N1_N5_N0, Tol::Close { rtol: 1e-6, atol: 1e-6 })
        .once("unused", Tol::Exact)
        .once("broadcast", math.tol(DType::F64))
        .once("remap", Tol::Exact)]
}

/// Parameters (f32 and f16), dense constants and arguments returned as
/// they are, or twice.
pub fn constants_parameters_and_returned_arguments(_: Math) -> Vec<Case> {
    let src = "param @w = dense<[1.5, -2.0, 0.25]> : tensor<3xf32>
param @h = dense<[[1.0, 2.0], [3.0, 0.5]]> : tensor<2x2xf16>
func @f(%x: tensor<N x 3 x f32>) -> (tensor<N x 3 x f32>, tensor<3xf32>, tensor<2x2xi64>, tensor<N x 3 x f32>, tensor<4xf32>, tensor<N x 3 x f32>) {
  %w = tg.param @w
  %k = tg.constant {value = dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>}
  %s = tg.constant {value = dense<0.5> : tensor<4xf32>}
  %y = tg.mul %x, %w
  tg.return %y, %w, %k, %x, %s, %y
}
func @g(%x: tensor<2x2xf16>) -> tensor<2x2xf16> {
  %h = tg.param @h
  %w = tg.param @w
  %c = tg.constant {value = dense<[true, false]> : tensor<2xi1>}
  %y = tg.add %x, %h
  %z = tg.select %c, %y, %x
  tg.return %z
}";
    vec![Case::new("fusion/constants", src).each("f", N1_N5, Tol::Exact).once("g", Tol::Exact)]
}

/// Elementwise ops and reductions of empty tensors (empty loops, and the
/// reductions' identities).
pub fn empty_tensors(_: Math) -> Vec<Case> {
    let src = "func @f(%x: tensor<0x3xf32>, %y: tensor<3xf32>) -> (tensor<0x3xf32>, tensor<3xf32>, tensor<0xf32>) {
  %0 = tg.add %x, %y
  %1 = tg.reduce_sum %x {axes = [0]}
  %2 = tg.reduce_max %x {axes = [1]}
  tg.return %0, %1, %2
}";
    vec![Case::new("fusion/empty", src).once("f", Tol::Exact)]
}
