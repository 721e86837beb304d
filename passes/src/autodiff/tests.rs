//! Finite-difference checks (in f64) of every differentiable graph op's
//! gradient rule, through the `grad` pass and the reference evaluator:
//! for random inputs and random output cotangents `s`, each gradient
//! element must match the central difference of `sum(s * f(x))`.

use super::{grad_with, GradOptions, GradSpec, Seed};
use crate::testing::verified;
use crate::Evaluator;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, DTypeClass};

/// A small deterministic generator (xorshift64*).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Uniform f64 values in `lo..hi`.
pub(crate) fn uniform(rng: &mut Rng, shape: &[usize], lo: f64, hi: f64) -> Tensor {
    let n = shape.iter().product();
    let v = (0..n).map(|_| lo + (hi - lo) * rng.next()).collect();
    Tensor::from_f64(DType::F64, shape.to_vec(), v).unwrap()
}

/// An i64 tensor.
pub(crate) fn ints(shape: &[usize], v: &[i64]) -> Tensor {
    Tensor::convert_f64(DType::I64, shape.to_vec(), &v.iter().map(|&x| x as f64).collect::<Vec<_>>()).unwrap()
}

/// `sum(s_i * out_i)` over the float outputs.
fn weighted(outputs: &[Tensor], seeds: &[Tensor]) -> f64 {
    outputs
        .iter()
        .zip(seeds)
        .filter(|(o, _)| o.dtype().is_in(DTypeClass::Float))
        .map(|(o, s)| o.to_f64s().iter().zip(s.to_f64s()).map(|(a, b)| a * b).sum::<f64>())
        .sum()
}

/// `x` with element `j` moved by `d`.
fn nudged(x: &Tensor, j: usize, d: f64) -> Tensor {
    let mut v = x.to_f64s();
    v[j] += d;
    Tensor::from_f64(x.dtype(), x.shape().to_vec(), v).unwrap()
}

/// Differentiates `@f` of `src` with respect to the arguments `wrt` and
/// compares every gradient element with a central difference.
pub(crate) fn check(src: &str, inputs: Vec<Tensor>, wrt: &[usize]) {
    check_with(src, inputs, wrt, &GradOptions::default());
}

/// [`check`] with the grad pass's options.
pub(crate) fn check_with(src: &str, inputs: Vec<Tensor>, wrt: &[usize], options: &GradOptions) {
    let mut module = verified(src).into_inner();
    let f = module.func("f").expect("a function @f").clone();
    let spec = GradSpec { wrt: wrt.to_vec(), seed: Seed::Args, name: "f_grad".into() };
    let g = grad_with(&f, &module.symbols(), &spec, options).unwrap_or_else(|d| panic!("grad: {}", d.message));
    module.funcs.push(g);
    let printed = tessera_ir::print::print_module(&module);
    let module = VerifiedModule::new(module).unwrap_or_else(|d| panic!("{d}\n{printed}"));
    let eval = Evaluator::new(&module);
    let run = |args: Vec<Tensor>| eval.run("f", args).unwrap_or_else(|d| panic!("{}", d.message));
    let outputs = run(inputs.clone());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let seeds: Vec<Tensor> = outputs
        .iter()
        .map(|o| if o.dtype().is_in(DTypeClass::Float) { uniform(&mut rng, o.shape(), -1.0, 1.0) } else { Tensor::zeros(o.dtype(), o.shape().to_vec()) })
        .collect();
    let all = eval.run("f_grad", [inputs.clone(), seeds.clone()].concat()).unwrap_or_else(|d| panic!("{}\n{printed}", d.message));
    let grads = &all[outputs.len()..];
    let eps = 1e-6;
    for (k, &arg) in wrt.iter().enumerate() {
        let x = &inputs[arg];
        let got = grads[k].to_f64s();
        assert_eq!(grads[k].shape(), x.shape(), "gradient shape of argument #{arg}");
        for (j, &gj) in got.iter().enumerate() {
            let mut plus = inputs.clone();
            plus[arg] = nudged(x, j, eps);
            let mut minus = inputs.clone();
            minus[arg] = nudged(x, j, -eps);
            let fd = (weighted(&run(plus), &seeds) - weighted(&run(minus), &seeds)) / (2.0 * eps);
            assert!((fd - gj).abs() <= 1e-5 * (1.0 + fd.abs()), "argument #{arg} element {j}: grad {gj}, finite difference {fd}\n{printed}");
        }
    }
}

/// Checks a unary op on inputs drawn from `lo..hi`, with a symbolic dim.
fn unary(op: &str, lo: f64, hi: f64) {
    let src = format!("func @f(%x: tensor<N x 3 x f64>) -> tensor<N x 3 x f64> {{\n  %y = {op} %x\n  tg.return %y\n}}\n");
    check(&src, vec![uniform(&mut Rng(7), &[2, 3], lo, hi)], &[0]);
}

#[test]
fn unary_ops() {
    for op in ["tg.neg", "tg.exp", "tg.tanh", "tg.sigmoid", "tg.erf", "tg.sin", "tg.cos", "tg.atan", "tg.sinh", "tg.cosh", "tg.asinh"] {
        unary(op, -2.0, 2.0);
    }
    for op in ["tg.log", "tg.sqrt", "tg.rsqrt", "tg.reciprocal"] {
        unary(op, 0.5, 3.0);
    }
    for op in ["tg.asin", "tg.acos", "tg.atanh", "tg.tan"] {
        unary(op, -0.8, 0.8);
    }
    unary("tg.acosh", 1.5, 3.0);
    unary("tg.abs", 0.2, 2.0);
    unary("tg.abs", -2.0, -0.2);
    unary("tg.floor", 0.1, 0.9);
}

/// Checks a binary op with broadcasting (`[N, 1, 3]` with `[2, 3]`).
fn binary(op: &str, lo: f64, hi: f64) {
    let src = format!(
        "func @f(%a: tensor<N x 1 x 3 x f64>, %b: tensor<2 x 3 x f64>) -> tensor<N x 2 x 3 x f64> {{\n  %y = {op} %a, %b\n  tg.return %y\n}}\n"
    );
    let mut rng = Rng(11);
    check(&src, vec![uniform(&mut rng, &[2, 1, 3], lo, hi), uniform(&mut rng, &[2, 3], lo, hi)], &[0, 1]);
}

#[test]
fn binary_ops_with_broadcasting() {
    for op in ["tg.add", "tg.sub", "tg.mul", "tg.div", "tg.max", "tg.min", "tg.atan2"] {
        binary(op, -2.0, 2.0);
    }
    binary("tg.pow", 0.5, 2.0);
    binary("tg.rem", 0.3, 2.0);
    binary("tg.mod", -2.0, -0.3);
}

#[test]
fn select_and_fan_out() {
    let src = "func @f(%a: tensor<N x 3 x f64>, %b: tensor<3 x f64>) -> tensor<N x 3 x f64> {
  %z = tg.constant {value = dense<0.0> : tensor<f64>}
  %c = tg.gt %a, %z
  %m = tg.mul %a, %a
  %s = tg.select %c, %m, %b
  %y = tg.add %s, %a
  tg.return %y
}
";
    let mut rng = Rng(3);
    check(src, vec![uniform(&mut rng, &[4, 3], -1.0, 1.0), uniform(&mut rng, &[3], -1.0, 1.0)], &[0, 1]);
}

#[test]
fn reductions() {
    for (op, keep) in [("reduce_sum", "true"), ("reduce_sum", "false"), ("reduce_max", "false"), ("reduce_min", "true"), ("reduce_prod", "false")] {
        let src = format!(
            "func @f(%x: tensor<N x 3 x 4 x f64>) -> tensor<?xf64> {{\n  %y = tg.{op} %x {{axes = [0, 2], keepdims = {keep}}}\n  %r = tg.reshape %y {{shape = [3]}}\n  tg.return %r\n}}\n"
        );
        check(&src, vec![uniform(&mut Rng(5), &[2, 3, 4], 0.5, 1.5)], &[0]);
    }
    for (ex, rev) in [("false", "false"), ("true", "false"), ("false", "true"), ("true", "true")] {
        let src = format!(
            "func @f(%x: tensor<3 x 4 x f64>) -> tensor<3 x 4 x f64> {{\n  %y = tg.cumsum %x {{axis = 1, exclusive = {ex}, reverse = {rev}}}\n  tg.return %y\n}}\n"
        );
        check(&src, vec![uniform(&mut Rng(5), &[3, 4], -1.0, 1.0)], &[0]);
    }
}

#[test]
fn data_movement() {
    let x = || vec![uniform(&mut Rng(9), &[2, 3, 5], -1.0, 1.0)];
    let cases = [
        ("%y = tg.broadcast_to %x {shape = [4, N, 3, 5]}", "?x?x?x?"),
        ("%y = tg.reshape %x {shape = [N, 15]}", "?x?"),
        ("%y = tg.transpose %x {perm = [2, 0, 1]}", "?x?x?"),
        ("%y = tg.reverse %x {axes = [0, 2]}", "?x?x?"),
        ("%y = tg.slice %x {starts = [1, 4], ends = [3, 0], axes = [1, 2], steps = [1, -2]}", "?x?x?"),
        ("%y = tg.slice %x {starts = [0, 1], ends = [2, 5], axes = [1, 2], steps = [1, 3]}", "?x?x?"),
        ("%y = tg.slice %x {starts = [1], ends = [4611686018427387903], axes = [0]}", "?x?x?"),
    ];
    for (body, result) in cases {
        let src = format!("func @f(%x: tensor<N x 3 x 5 x f64>) -> tensor<{result}xf64> {{\n  {body}\n  tg.return %y\n}}\n");
        check(&src, x(), &[0]);
    }
}

#[test]
fn pad_and_concat() {
    let src = "func @f(%x: tensor<3 x 4 x f64>, %v: tensor<f64>) -> tensor<?x?xf64> {
  %y = tg.pad %x, %v {low = [1, -1], high = [-1, 2]}
  tg.return %y
}
";
    let mut rng = Rng(1);
    check(src, vec![uniform(&mut rng, &[3, 4], -1.0, 1.0), uniform(&mut rng, &[], -1.0, 1.0)], &[0, 1]);
    let src = "func @f(%a: tensor<2 x 3 x f64>, %b: tensor<2 x 1 x f64>, %c: tensor<2 x M x f64>) -> tensor<2 x ? x f64> {
  %y = tg.concat %a, %b, %c {axis = 1}
  tg.return %y
}
";
    check(src, vec![uniform(&mut rng, &[2, 3], -1.0, 1.0), uniform(&mut rng, &[2, 1], -1.0, 1.0), uniform(&mut rng, &[2, 2], -1.0, 1.0)], &[0, 1, 2]);
}

#[test]
fn gathers_scatters_and_sorts() {
    let mut rng = Rng(21);
    let x = uniform(&mut rng, &[3, 4, 2], -1.0, 1.0);
    let src = "func @f(%x: tensor<3 x 4 x 2 x f64>, %i: tensor<2 x 3 x i64>) -> tensor<?x?x?x?xf64> {
  %y = tg.gather %x, %i {axis = 1}
  tg.return %y
}
";
    check(src, vec![x.clone(), ints(&[2, 3], &[0, 3, -1, 1, 1, 2])], &[0]);
    let src = "func @f(%x: tensor<3 x 4 x 2 x f64>, %i: tensor<2 x i64>) -> tensor<?x?x?xf64> {
  %y = tg.gather %x, %i {axis = 0}
  tg.return %y
}
";
    check(src, vec![x.clone(), ints(&[2], &[2, 2])], &[0]);
    let src = "func @f(%x: tensor<3 x 4 x 2 x f64>, %i: tensor<3 x 2 x 2 x i64>) -> tensor<3 x 2 x 2 x f64> {
  %y = tg.gather_elements %x, %i {axis = 1}
  tg.return %y
}
";
    check(src, vec![x.clone(), ints(&[3, 2, 2], &[0, 1, 3, 3, 2, 0, 1, 1, 0, 0, 3, 2])], &[0]);
    let src = "func @f(%x: tensor<3 x 4 x 2 x f64>, %i: tensor<3 x 2 x i64>) -> tensor<3 x 2 x f64> {
  %y = tg.gather_nd %x, %i
  tg.return %y
}
";
    check(src, vec![x.clone(), ints(&[3, 2], &[0, 1, 2, 3, 0, 1])], &[0]);
    for reduction in ["none", "add"] {
        let src = format!(
            "func @f(%x: tensor<3 x 4 x f64>, %i: tensor<2 x 4 x i64>, %u: tensor<2 x 4 x f64>) -> tensor<3 x 4 x f64> {{\n  %y = tg.scatter %x, %i, %u {{axis = 0, reduction = \"{reduction}\"}}\n  tg.return %y\n}}\n"
        );
        let inputs = vec![uniform(&mut rng, &[3, 4], -1.0, 1.0), ints(&[2, 4], &[0, 2, 1, 0, 1, 0, 2, 2]), uniform(&mut rng, &[2, 4], -1.0, 1.0)];
        check(&src, inputs, &[0, 2]);
        let src = format!(
            "func @f(%x: tensor<3 x 4 x f64>, %i: tensor<2 x 1 x i64>, %u: tensor<2 x 4 x f64>) -> tensor<3 x 4 x f64> {{\n  %y = tg.scatter_nd %x, %i, %u {{reduction = \"{reduction}\"}}\n  tg.return %y\n}}\n"
        );
        let inputs = vec![uniform(&mut rng, &[3, 4], -1.0, 1.0), ints(&[2, 1], &[2, 0]), uniform(&mut rng, &[2, 4], -1.0, 1.0)];
        check(&src, inputs, &[0, 2]);
    }
    let src = "func @f(%x: tensor<3 x 4 x f64>) -> (tensor<3 x 4 x f64>, tensor<3 x 4 x i64>) {
  %v, %i = tg.sort %x {axis = 1}
  tg.return %v, %i
}
";
    check(src, vec![uniform(&mut rng, &[3, 4], -1.0, 1.0)], &[0]);
    let src = "func @f(%x: tensor<3 x 4 x f64>) -> (tensor<2 x 4 x f64>, tensor<2 x 4 x i64>) {
  %v, %i = tg.topk %x {k = 2, axis = 0}
  tg.return %v, %i
}
";
    check(src, vec![uniform(&mut rng, &[3, 4], -1.0, 1.0)], &[0]);
}

#[test]
fn dot_general() {
    let mut rng = Rng(33);
    let src = "func @f(%a: tensor<2 x 3 x 4 x f64>, %b: tensor<4 x 2 x 5 x f64>) -> tensor<2 x 3 x 5 x f64> {
  %y = tg.dot %a, %b {lhs_batch = [0], rhs_batch = [1], lhs_contract = [2], rhs_contract = [0]}
  tg.return %y
}
";
    check(src, vec![uniform(&mut rng, &[2, 3, 4], -1.0, 1.0), uniform(&mut rng, &[4, 2, 5], -1.0, 1.0)], &[0, 1]);
    let src = "func @f(%a: tensor<N x 3 x 4 x f64>, %b: tensor<5 x 4 x 3 x f64>) -> tensor<N x 5 x f64> {
  %y = tg.dot %a, %b {lhs_contract = [2, 1], rhs_contract = [1, 2]}
  tg.return %y
}
";
    check(src, vec![uniform(&mut rng, &[2, 3, 4], -1.0, 1.0), uniform(&mut rng, &[5, 4, 3], -1.0, 1.0)], &[0, 1]);
}

#[test]
fn convolution() {
    let mut rng = Rng(44);
    let src = "func @f(%x: tensor<N x 4 x 7 x 6 x f64>, %w: tensor<6 x 2 x 3 x 2 x f64>) -> tensor<N x 6 x ? x ? x f64> {
  %y = tg.conv %x, %w {strides = [2, 1], dilations = [1, 2], pad_low = [1, 0], pad_high = [0, 1], groups = 2}
  tg.return %y
}
";
    check(src, vec![uniform(&mut rng, &[2, 4, 7, 6], -1.0, 1.0), uniform(&mut rng, &[6, 2, 3, 2], -1.0, 1.0)], &[0, 1]);
    let src = "func @f(%x: tensor<2 x 3 x 8 x f64>, %w: tensor<2 x 3 x 3 x f64>) -> tensor<2 x 2 x ? x f64> {
  %y = tg.conv %x, %w {strides = [3], pad_low = [2], pad_high = [2]}
  tg.return %y
}
";
    check(src, vec![uniform(&mut rng, &[2, 3, 8], -1.0, 1.0), uniform(&mut rng, &[2, 3, 3], -1.0, 1.0)], &[0, 1]);
}

#[test]
fn pooling() {
    let mut rng = Rng(55);
    for kind in ["max", "sum", "min"] {
        let src = format!(
            "func @f(%x: tensor<N x 2 x 6 x 5 x f64>) -> tensor<N x 2 x ? x ? x f64> {{\n  %y = tg.reduce_window %x {{kind = \"{kind}\", window = [1, 1, 3, 2], strides = [1, 1, 2, 2], pad_low = [0, 0, 1, 0], pad_high = [0, 0, 1, 1]}}\n  tg.return %y\n}}\n"
        );
        check(&src, vec![uniform(&mut rng, &[2, 2, 6, 5], -1.0, 1.0)], &[0]);
    }
}

#[test]
fn mlp_with_parameters_as_arguments() {
    let src = "param @w = dense<[[0.1, -0.2, 0.3], [0.4, 0.5, -0.6]]> : tensor<2x3xf64>
func @f(%x: tensor<N x 3 x f64>) -> tensor<f64> {
  %w = tg.param @w
  %h = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [1]}
  %z = tg.constant {value = dense<0.0> : tensor<f64>}
  %r = tg.max %h, %z
  %t = tg.tanh %r
  %s = tg.reduce_sum %t {axes = [0, 1]}
  tg.return %s
}
";
    let module = verified(src).into_inner();
    let (f, names) = super::params_to_args(&module, module.func("f").unwrap()).unwrap();
    assert_eq!(names, ["w"]);
    let mut plain = module.clone();
    plain.funcs = vec![f];
    let text = tessera_ir::print::print_module(&plain);
    let mut rng = Rng(66);
    let w = Tensor::from_f64(DType::F64, vec![2, 3], vec![0.1, -0.2, 0.3, 0.4, 0.5, -0.6]).unwrap();
    check(&text, vec![uniform(&mut rng, &[4, 3], -1.0, 1.0), w], &[0, 1]);
}
