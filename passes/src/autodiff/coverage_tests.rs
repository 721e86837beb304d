//! Every graph op has a gradient rule checked by finite differences, or is
//! on the list of ops without one, with the reason. The stance: integer and
//! boolean values carry no cotangent (comparisons, logic, bitwise ops,
//! `argmax`, `shape_of` never receive one); piecewise-constant float ops
//! (`floor`, `ceil`, `round`, `sign`) have a zero gradient, as in PyTorch;
//! `bitcast` is an error, since reinterpreted bits are no function to
//! differentiate. Also here: the checks of the ops no other file covers,
//! and the recompute policy.

use super::tests::{check, check_with, uniform, Rng};
use super::{grad, grad_with, GradOptions, GradSpec, Recompute, Seed};
use crate::testing::verified;
use std::collections::HashSet;
use tessera_ir::dialect::graph;

/// The ops without a gradient rule, and why.
const WITHOUT_RULE: &[(&str, &str)] = &[
    ("tg.return", "a terminator: the grad pass seeds its operands"),
    ("tg.yield", "a terminator: region rules seed its operands"),
    ("tg.call", "differentiated by inlining the callee first (grad_with's callees)"),
    ("tg.constant", "no operands"),
    ("tg.param", "no operands; training turns parameters into arguments"),
    ("tg.iota", "no operands"),
    ("tg.shape_of", "an integer result"),
    ("tg.argmax", "an integer result"),
    ("tg.argmin", "an integer result"),
    ("tg.is_nan", "a boolean result"),
    ("tg.is_inf", "a boolean result"),
    ("tg.not", "boolean operand and result"),
    ("tg.and", "boolean operands and result"),
    ("tg.or", "boolean operands and result"),
    ("tg.xor", "boolean operands and result"),
    ("tg.bitnot", "integer operand and result"),
    ("tg.bitand", "integer operands and result"),
    ("tg.bitor", "integer operands and result"),
    ("tg.bitxor", "integer operands and result"),
    ("tg.shl", "integer operands and result"),
    ("tg.shr", "integer operands and result"),
    ("tg.eq", "a boolean result"),
    ("tg.ne", "a boolean result"),
    ("tg.lt", "a boolean result"),
    ("tg.le", "a boolean result"),
    ("tg.gt", "a boolean result"),
    ("tg.ge", "a boolean result"),
    ("tg.bitcast", "reinterprets bits: not a function to differentiate (an error)"),
];

/// The ops with a gradient rule and the test function checking it.
const WITH_RULE: &[(&str, &str)] = &[
    ("tg.neg", "unary_ops"),
    ("tg.abs", "unary_ops"),
    ("tg.exp", "unary_ops"),
    ("tg.log", "unary_ops"),
    ("tg.sqrt", "unary_ops"),
    ("tg.rsqrt", "unary_ops"),
    ("tg.reciprocal", "unary_ops"),
    ("tg.tanh", "unary_ops"),
    ("tg.sigmoid", "unary_ops"),
    ("tg.erf", "unary_ops"),
    ("tg.sin", "unary_ops"),
    ("tg.cos", "unary_ops"),
    ("tg.tan", "unary_ops"),
    ("tg.asin", "unary_ops"),
    ("tg.acos", "unary_ops"),
    ("tg.atan", "unary_ops"),
    ("tg.sinh", "unary_ops"),
    ("tg.cosh", "unary_ops"),
    ("tg.asinh", "unary_ops"),
    ("tg.acosh", "unary_ops"),
    ("tg.atanh", "unary_ops"),
    ("tg.floor", "unary_ops"),
    ("tg.ceil", "zero_gradients_and_casts"),
    ("tg.round", "zero_gradients_and_casts"),
    ("tg.sign", "zero_gradients_and_casts"),
    ("tg.cast", "zero_gradients_and_casts"),
    ("tg.add", "binary_ops_with_broadcasting"),
    ("tg.sub", "binary_ops_with_broadcasting"),
    ("tg.mul", "binary_ops_with_broadcasting"),
    ("tg.div", "binary_ops_with_broadcasting"),
    ("tg.pow", "binary_ops_with_broadcasting"),
    ("tg.max", "binary_ops_with_broadcasting"),
    ("tg.min", "binary_ops_with_broadcasting"),
    ("tg.rem", "binary_ops_with_broadcasting"),
    ("tg.mod", "binary_ops_with_broadcasting"),
    ("tg.atan2", "binary_ops_with_broadcasting"),
    ("tg.select", "select_and_fan_out"),
    ("tg.reduce_sum", "reductions"),
    ("tg.reduce_prod", "reduce_prod_with_zeros"),
    ("tg.reduce_max", "reductions"),
    ("tg.reduce_min", "reductions"),
    ("tg.cumsum", "reductions"),
    ("tg.cumprod", "cumprod_in_every_direction_with_zeros"),
    ("tg.broadcast_to", "data_movement"),
    ("tg.reshape", "data_movement"),
    ("tg.transpose", "data_movement"),
    ("tg.slice", "data_movement"),
    ("tg.reverse", "data_movement"),
    ("tg.pad", "pad_reflect_and_edge"),
    ("tg.concat", "pad_and_concat"),
    ("tg.gather", "gathers_scatters_and_sorts"),
    ("tg.gather_elements", "gathers_scatters_and_sorts"),
    ("tg.gather_nd", "gather_nd_with_batch_dims"),
    ("tg.scatter", "scatters_that_multiply_or_keep_the_extremum"),
    ("tg.scatter_nd", "scatters_that_multiply_or_keep_the_extremum"),
    ("tg.sort", "gathers_scatters_and_sorts"),
    ("tg.topk", "gathers_scatters_and_sorts"),
    ("tg.dot", "dot_general"),
    ("tg.conv", "conv_with_input_dilation"),
    ("tg.reduce_window", "pooling"),
    ("tg.batch_stats", "running_statistics_and_dropout_at_inference"),
    ("tg.dropout", "running_statistics_and_dropout_at_inference"),
    ("tg.if", "if_sends_each_branch_its_captures_gradients"),
    ("tg.loop", "loop_carries_cotangents_back_through_every_iteration"),
];

/// The sources of the gradient-check files.
const SOURCES: &[&str] = &[include_str!("tests.rs"), include_str!("more_tests.rs"), include_str!("control_tests.rs"), include_str!("coverage_tests.rs")];

/// The body of test function `name`, from the sources.
fn test_body(name: &str) -> Option<&'static str> {
    let head = format!("#[test]\nfn {name}() {{");
    SOURCES.iter().find_map(|s| {
        let at = s.find(&head)?;
        let rest = &s[at..];
        // A function ends at a closing brace followed by a blank line (a
        // fixture's brace is followed by its closing quote).
        Some(&rest[..rest.find("\n}\n\n").unwrap_or(rest.len())])
    })
}

#[test]
fn every_op_has_a_checked_rule_or_a_reason() {
    let all: HashSet<&str> = graph::ops().map(|op| op.name()).collect();
    let with: HashSet<&str> = WITH_RULE.iter().map(|(op, _)| *op).collect();
    let without: HashSet<&str> = WITHOUT_RULE.iter().map(|(op, _)| *op).collect();
    assert!(with.is_disjoint(&without), "listed twice: {:?}", with.intersection(&without).collect::<Vec<_>>());
    let listed: HashSet<&str> = with.union(&without).copied().collect();
    assert_eq!(all.difference(&listed).collect::<Vec<_>>(), Vec::<&&str>::new(), "ops on neither list");
    assert_eq!(listed.difference(&all).collect::<Vec<_>>(), Vec::<&&str>::new(), "listed ops that do not exist");
    for (op, test) in WITH_RULE {
        let body = test_body(test).unwrap_or_else(|| panic!("{op}: no test function {test}"));
        let short = op.trim_start_matches("tg.");
        assert!(body.contains(short), "{op}: the test {test} does not mention it");
    }
}

#[test]
fn bitcast_is_not_differentiable() {
    let src = "func @f(%x: tensor<3 x f16>) -> tensor<3 x bf16> {\n  %y = tg.bitcast %x {to = bf16}\n  tg.return %y\n}\n";
    let module = verified(src).into_inner();
    let spec = GradSpec { wrt: vec![0], seed: Seed::Args, name: "g".into() };
    let err = grad(module.func("f").unwrap(), &module.symbols(), &spec).unwrap_err();
    assert!(err.message.contains("'tg.bitcast' is not differentiable"), "{}", err.message);
}

#[test]
fn zero_gradients_and_casts() {
    let mut rng = Rng(91);
    for (op, lo, hi) in [("tg.ceil", 0.1, 0.9), ("tg.round", 0.1, 0.4), ("tg.sign", 0.2, 2.0)] {
        let src = format!("func @f(%x: tensor<N x 3 x f64>) -> tensor<N x 3 x f64> {{\n  %y = {op} %x\n  %z = tg.mul %y, %x\n  tg.return %z\n}}\n");
        check(&src, vec![uniform(&mut rng, &[2, 3], lo, hi)], &[0]);
    }
    let src = "func @f(%x: tensor<N x 3 x f64>) -> tensor<N x 3 x f64> {\n  %y = tg.cast %x {to = f64}\n  %z = tg.mul %y, %y\n  tg.return %z\n}\n";
    check(src, vec![uniform(&mut rng, &[2, 3], -1.0, 1.0)], &[0]);
}

#[test]
fn reduce_prod_with_zeros() {
    let src = "func @f(%x: tensor<N x 4 x f64>) -> tensor<N x f64> {\n  %y = tg.reduce_prod %x {axes = [1]}\n  tg.return %y\n}\n";
    let mut rng = Rng(92);
    let mut v = uniform(&mut rng, &[3, 4], -1.5, 1.5).to_f64s();
    // No zero in row 0, one in row 1, two in row 2.
    for i in [5, 8, 11] {
        v[i] = 0.0;
    }
    let x = tessera_ir::tensor::Tensor::from_f64(tessera_ir::DType::F64, vec![3, 4], v).unwrap();
    check(src, vec![x], &[0]);
}

#[test]
fn running_statistics_and_dropout_at_inference() {
    let src = "func @f(%x: tensor<N x 2 x f64>, %m: tensor<2 x f64>, %v: tensor<2 x f64>) -> (tensor<2 x f64>, tensor<2 x f64>, tensor<N x 2 x f64>) {
  %mean, %var = tg.batch_stats %x, %m, %v {axes = [0], momentum = 0.9}
  %d = tg.dropout %x {ratio = 0.5}
  %y = tg.mul %d, %mean
  tg.return %mean, %var, %y
}
";
    let mut rng = Rng(93);
    let inputs = vec![uniform(&mut rng, &[3, 2], -1.0, 1.0), uniform(&mut rng, &[2], -1.0, 1.0), uniform(&mut rng, &[2], 0.5, 1.0)];
    check(src, inputs, &[0, 1, 2]);
}

/// A small network with cheap ops between its contractions.
const NET: &str = "func @f(%x: tensor<N x 3 x f64>, %w: tensor<4 x 3 x f64>, %b: tensor<4 x f64>) -> tensor<f64> {
  %h = tg.dot %x, %w {lhs_contract = [1], rhs_contract = [1]}
  %z = tg.add %h, %b
  %t = tg.tanh %z
  %s = tg.sigmoid %t
  %e = tg.mul %s, %t
  %r = tg.reshape %e {shape = [N, 2, 2]}
  %q = tg.transpose %r {perm = [0, 2, 1]}
  %l = tg.reduce_sum %q {axes = [0, 1, 2]}
  tg.return %l
}
";

#[test]
fn recomputing_cheap_values_gives_the_same_gradients() {
    let mut rng = Rng(94);
    let inputs = vec![uniform(&mut rng, &[2, 3], -1.0, 1.0), uniform(&mut rng, &[4, 3], -1.0, 1.0), uniform(&mut rng, &[4], -1.0, 1.0)];
    let options = GradOptions { recompute: Recompute::Cheap, ..GradOptions::default() };
    check_with(NET, inputs.clone(), &[0, 1, 2], &options);
    let module = verified(NET).into_inner();
    let f = module.func("f").unwrap();
    let spec = GradSpec { wrt: vec![0, 1, 2], seed: Seed::Scalar(0), name: "g".into() };
    let saved = grad(f, &module.symbols(), &spec).unwrap();
    let remat = grad_with(f, &module.symbols(), &spec, &options).unwrap();
    let run = |g: tessera_ir::Func| {
        let mut m = module.clone();
        m.funcs.push(g);
        let m = tessera_ir::verify::VerifiedModule::new(m).unwrap();
        crate::Evaluator::new(&m).run("g", inputs.clone()).unwrap()
    };
    assert_eq!(run(saved.clone()), run(remat.clone()));
    // The backward ops read no cheap forward value (the add, tanh,
    // sigmoid, mul, reshape and transpose, ops 1 to 6) when recomputing;
    // only the dot's result and the arguments cross from the forward pass.
    let crossing = |g: &tessera_ir::Func| {
        let ops = &g.block(g.entry()).ops;
        let cheap: HashSet<_> = ops[1..7].iter().flat_map(|&op| g.op(op).results.clone()).collect();
        ops[8..ops.len() - 1].iter().flat_map(|&op| g.op(op).operands.clone()).filter(|v| cheap.contains(v)).count()
    };
    assert_eq!(crossing(&remat), 0);
    assert!(crossing(&saved) > 0);
}
