//! Differential tests of `lower-to-kernel`: each function is run by the
//! graph dialect's reference evaluator and, lowered, by the kernel
//! interpreter, on the same pseudo-random inputs, and the outputs compared
//! with a tolerance stated per test (exact wherever the lowering computes
//! the same scalar operations in the same order; reductions and dots on
//! f32 round after every step where the reference accumulates in f64).
//! Shapes are odd (1, 3, 7, 17, 33) or empty, symbols are bound to 1 and
//! 5, broadcasting comes in every position, and fusion is checked by
//! counting the kernel ops the lowering produced.

use crate::kernel_eval::KernelEvaluator;
use crate::differential::{assert_same, lower, verified, Rng, Tol, F32_SUM, N1_N5, N1_N5_N0};
use crate::testing::count_named;
use crate::{Evaluator, PassManager, Pipeline};
use tessera_ir::dialect::all_ops;
use tessera_ir::op::Arity;
use tessera_ir::parse::parse_module;
use tessera_ir::print::print_func;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Func, Traits, Type};

/// Runs function `name` of `src` on random inputs (symbols bound by
/// `bindings`), by the reference evaluator and lowered by the kernel
/// interpreter; asserts the outputs agree within `tol`; returns the
/// lowered function.
pub(super) fn check(src: &str, name: &str, bindings: &[(&str, i64)], tol: Tol) -> Func {
    let m = verified(src);
    let lowered = lower(&m);
    run_both(&m, &lowered, name, bindings, tol);
    lowered.module().func(name).unwrap().clone()
}

/// The comparison of [`check`] on an already lowered module.
fn run_both(m: &VerifiedModule, lowered: &VerifiedModule, name: &str, bindings: &[(&str, i64)], tol: Tol) {
    let func = m.module().func(name).unwrap_or_else(|| panic!("no @{name}"));
    let inputs = Rng::for_bindings(bindings).inputs(func, bindings);
    let expected = Evaluator::new(m).run(name, inputs.clone()).unwrap_or_else(|d| panic!("@{name}: {}", d.message));
    let printed = || print_func(lowered.module().func(name).unwrap());
    let actual = KernelEvaluator::new(lowered)
        .run(name, inputs)
        .unwrap_or_else(|d| panic!("@{name} lowered: {}\n{}", d.message, printed()));
    assert_same(name, &format!("{bindings:?}"), &actual, &expected, tol, &printed);
}

/// Checks `func` for every binding in `each`.
pub(super) fn check_each(src: &str, name: &str, each: &[&[(&str, i64)]], tol: Tol) -> Func {
    let m = verified(src);
    let lowered = lower(&m);
    for bindings in each {
        run_both(&m, &lowered, name, bindings, tol);
    }
    lowered.module().func(name).unwrap().clone()
}

/// The number of loop nests at the top of a kernel function.
fn top_level_nests(f: &Func) -> usize {
    f.block(f.entry()).ops.iter().filter(|&&op| f.op(op).def.name() == "k.for").count()
}


#[test]
fn every_elementwise_op_with_every_dtype_it_takes() {
    let mut tested = 0;
    for op in all_ops().filter(|op| op.traits().contains(Traits::ELEMENTWISE) && op.attrs().is_empty()) {
        let Arity::Exactly(n) = op.operands() else { panic!("{} has a variable arity", op.name()) };
        for dtype in [DType::F32, DType::F64, DType::F16, DType::I32, DType::I8, DType::U8, DType::I1] {
            let ty = format!("tensor<3x7x{dtype}>");
            let args: Vec<String> = (0..n).map(|i| format!("%a{i}: {ty}")).collect();
            let uses: Vec<String> = (0..n).map(|i| format!("%a{i}")).collect();
            let body = format!("  %0 = {} {}\n", op.name(), uses.join(", "));
            // Parsing infers the result type, or fails when the op refuses the dtype.
            let probe = format!("func @f({}) {{\n{body}  tg.return\n}}\n", args.join(", "));
            let Ok(m) = parse_module(&probe, "probe.tir") else { continue };
            let f = &m.funcs[0];
            let result = f.ty(f.op(f.block(f.entry()).ops[0]).results[0]).clone();
            let src = format!("func @f({}) -> {result} {{\n{body}  tg.return %0\n}}\n", args.join(", "));
            let lowered = check(&src, "f", &[], Tol::Exact);
            assert_eq!(count_named(&lowered, "k.apply"), 1, "{}", op.name());
            tested += 1;
        }
    }
    assert!(tested > 80, "only {tested} op/dtype pairs verified");
}

#[test]
fn select_and_cast() {
    let src = "func @f(%c: tensor<7x1xi1>, %a: tensor<7x3xf32>, %b: tensor<3xf32>) -> (tensor<7x3xf32>, tensor<7x3xi8>, tensor<7x3xf16>) {
  %s = tg.select %c, %a, %b
  %i = tg.cast %s {to = i8}
  %h = tg.cast %a {to = f16}
  tg.return %s, %i, %h
}";
    check(src, "f", &[], Tol::Exact);
    let ints = "func @g(%x: tensor<17xi32>) -> (tensor<17xf64>, tensor<17xi1>, tensor<17xu8>) {
  %f = tg.cast %x {to = f64}
  %b = tg.cast %x {to = i1}
  %u = tg.cast %x {to = u8}
  tg.return %f, %b, %u
}";
    check(ints, "g", &[], Tol::Exact);
}

/// Every pair of same-size dtypes `tg.bitcast` converts between, as `(from, to)`.
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

#[test]
fn bitcasts_between_every_pair_of_a_size() {
    for (from, to) in BITCASTS {
        let src = format!(
            "func @f(%x: tensor<N x 7 x {from}>) -> tensor<N x 7 x {to}> {{\n  %y = tg.bitcast %x {{to = {to}}}\n  tg.return %y\n}}"
        );
        check_each(&src, "f", N1_N5, Tol::Exact);
    }
}

#[test]
fn shapes_of_static_symbolic_and_fused_values() {
    let src = "func @f(%x: tensor<N x 3 x f32>, %s: tensor<f32>) -> (tensor<2xi64>, tensor<0xi64>, tensor<3xi64>) {
  %e = tg.exp %x
  %a = tg.shape_of %e
  %b = tg.shape_of %s
  %t = tg.broadcast_to %x {shape = [2, N, 3]}
  %c = tg.shape_of %t
  tg.return %a, %b, %c
}";
    let f = check_each(src, "f", N1_N5_N0, Tol::Exact);
    assert_eq!(count_named(&f, "k.apply"), 0, "no element is computed");
}

#[test]
fn binary_ops_broadcast_in_every_position() {
    let shapes = [
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
    for (a, b) in shapes {
        let t = |s: &str| if s.is_empty() { "tensor<f32>".to_string() } else { format!("tensor<{s}xf32>") };
        let src = format!(
            "func @f(%a: {}, %b: {}) {{\n  %0 = tg.sub %a, %b\n  %1 = tg.pow %b, %a\n  %2 = tg.lt %a, %b\n  %3 = tg.select %2, %0, %1\n  tg.return %3\n}}\n",
            t(a),
            t(b)
        );
        // Infer the result type through the parser, then declare it.
        let probe = parse_module(&src, "probe.tir").unwrap();
        let f = &probe.funcs[0];
        let last = f.block(f.entry()).ops[3];
        let ty = f.ty(f.op(last).results[0]).to_string();
        let src = src.replace(") {", &format!(") -> {ty} {{"));
        let lowered = check(&src, "f", &[], Tol::Exact);
        assert_eq!(count_named(&lowered, "k.alloc"), 0, "{a} with {b} fuses into one nest");
        assert_eq!(top_level_nests(&lowered), 1, "{a} with {b}");
    }
}

#[test]
fn symbolic_batch_binds_from_the_arguments() {
    let src = "func @f(%x: tensor<N x 3 x f32>, %b: tensor<3xf32>, %s: tensor<f32>) -> (tensor<N x 3 x f32>, tensor<N x f32>) {
  %0 = tg.mul %x, %s
  %1 = tg.add %0, %b
  %2 = tg.reduce_max %1 {axes = [1]}
  tg.return %1, %2
}";
    check_each(src, "f", &[&[("N", 1)], &[("N", 5)], &[("N", 0)]], Tol::Exact);
}

#[test]
fn fused_chain_is_one_loop_nest() {
    let src =
        "func @mlp_tail(%x: tensor<N x 17 x f32>, %w: tensor<17xf32>, %b: tensor<1x17xf32>) -> tensor<N x 17 x f32> {
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %0 = tg.mul %x, %w
  %1 = tg.add %0, %b
  %2 = tg.max %1, %zero
  tg.return %2
}";
    let f = check_each(src, "mlp_tail", N1_N5, Tol::Exact);
    assert_eq!(top_level_nests(&f), 1);
    assert_eq!(count_named(&f, "k.for"), 2, "one loop per axis");
    assert_eq!(count_named(&f, "k.alloc"), 0, "no intermediate buffer");
    assert_eq!(count_named(&f, "k.store"), 1);
    assert_eq!(count_named(&f, "k.load"), 3);
    assert_eq!(count_named(&f, "k.apply"), 3);
    let parallel = f.walk().into_iter().filter(|&op| f.op(op).attrs.get("parallel").is_some()).count();
    assert_eq!(parallel, 2, "both loops are parallel");
}

#[test]
fn values_used_twice_are_materialised_once() {
    let src = "func @f(%x: tensor<7x3xf32>) -> tensor<7x3xf32> {
  %e = tg.exp %x
  %s = tg.mul %e, %e
  %t = tg.add %s, %e
  tg.return %t
}";
    let f = check(src, "f", &[], Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 1, "exp is computed once into a temporary");
    assert_eq!(count_named(&f, "k.apply"), 3);
    assert_eq!(top_level_nests(&f), 2);
}

#[test]
fn unused_values_are_not_computed() {
    let src = "func @f(%x: tensor<7x3xf32>) -> tensor<7x3xf32> {
  %dead = tg.exp %x
  %also = tg.reduce_sum %dead {axes = [0]}
  %k = tg.constant {value = dense<[1.0, 2.0]> : tensor<2xf32>}
  %y = tg.neg %x
  tg.return %y
}";
    let f = check(src, "f", &[], Tol::Exact);
    assert_eq!((top_level_nests(&f), count_named(&f, "k.alloc"), count_named(&f, "k.buffer_constant")), (1, 0, 0));
    assert_eq!(count_named(&f, "k.apply"), 1);
}

#[test]
fn broadcast_producers_are_not_recomputed() {
    // exp(b) is read 33 times per element by the add: computed once, into a temporary.
    let src = "func @f(%x: tensor<33x17xf64>, %b: tensor<17xf64>) -> tensor<33x17xf64> {
  %e = tg.exp %b
  %y = tg.add %x, %e
  tg.return %y
}";
    let f = check(src, "f", &[], Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 1);
    // A broadcast_to only moves elements: inlined even where repeated, so
    // the neg it reads (repeated through it) is materialised.
    let remap = "func @g(%b: tensor<3x1xi32>) -> tensor<3x7xi32> {
  %n = tg.neg %b
  %w = tg.broadcast_to %n {shape = [3, 7]}
  %y = tg.abs %w
  tg.return %y
}";
    let g = check(remap, "g", &[], Tol::Exact);
    assert_eq!(count_named(&g, "k.alloc"), 1);
    assert_eq!(top_level_nests(&g), 2);
}

#[test]
fn broadcast_to_in_every_position() {
    let src = "func @f(%a: tensor<3x1xf32>, %b: tensor<f32>, %c: tensor<1x1x7xf32>, %d: tensor<N x 1 x f32>) -> (tensor<5x3x7xf32>, tensor<2x3xf32>, tensor<4x3x7xf32>, tensor<N x 7 x f32>) {
  %0 = tg.broadcast_to %a {shape = [5, 3, 7]}
  %1 = tg.broadcast_to %b {shape = [2, 3]}
  %2 = tg.broadcast_to %c {shape = [4, 3, 7]}
  %3 = tg.broadcast_to %d {shape = [N, 7]}
  tg.return %0, %1, %2, %3
}";
    check_each(src, "f", N1_N5, Tol::Exact);
}

#[test]
fn transposes_of_every_permutation() {
    for perm in ["[0, 1, 2]", "[0, 2, 1]", "[1, 0, 2]", "[1, 2, 0]", "[2, 0, 1]", "[2, 1, 0]"] {
        let p: Vec<usize> = perm.trim_matches(['[', ']']).split(", ").map(|s| s.parse().unwrap()).collect();
        let dims = ["3", "N", "7"];
        let out: Vec<&str> = p.iter().map(|&i| dims[i]).collect();
        let src = format!(
            "func @f(%x: tensor<3 x N x 7 x f32>) -> (tensor<{} x f32>, tensor<{} x f32>) {{\n  %t = tg.transpose %x {{perm = {perm}}}\n  %u = tg.transpose %x {{perm = {perm}}}\n  %n = tg.neg %u\n  tg.return %t, %n\n}}\n",
            out.join(" x "),
            out.join(" x ")
        );
        let f = check_each(&src, "f", N1_N5, Tol::Exact);
        assert_eq!(count_named(&f, "k.alloc"), 0, "{perm}: the transpose feeding neg is read in place");
    }
}

#[test]
fn transposed_operands_feed_reductions_and_dots_in_place() {
    let src = "func @f(%x: tensor<7x5xf64>, %y: tensor<3x5xf64>) -> (tensor<5xf64>, tensor<7x3xf64>) {
  %t = tg.transpose %x {perm = [1, 0]}
  %s = tg.reduce_sum %t {axes = [1]}
  %yt = tg.transpose %y {perm = [1, 0]}
  %d = tg.dot %x, %yt {lhs_contract = [1], rhs_contract = [0]}
  tg.return %s, %d
}";
    let f = check(src, "f", &[], Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 0);
    assert_eq!(count_named(&f, "k.matmul"), 1, "the dot reads the transposed y through strides");
    assert_eq!(top_level_nests(&f), 1);
}

#[test]
fn reshapes_flatten_split_and_squeeze() {
    let src = "func @f(%x: tensor<3x4xf32>, %y: tensor<N x 6 x i32>, %z: tensor<N x 1 x 7 x f32>) -> (tensor<2x6xf32>, tensor<N x 2 x 3 x i32>, tensor<6 x N x i32>, tensor<1 x N x 7 x 1 x f32>, tensor<12xf32>) {
  %a = tg.reshape %x {shape = [2, 6]}
  %b = tg.reshape %y {shape = [N, 2, 3]}
  %c = tg.reshape %y {shape = [6, N]}
  %d = tg.reshape %z {shape = [1, N, 7, 1]}
  %t = tg.transpose %x {perm = [1, 0]}
  %e = tg.reshape %t {shape = [12]}
  tg.return %a, %b, %c, %d, %e
}";
    let f = check_each(src, "f", N1_N5, Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 0, "the transpose is read through the reshape");
    let empty = "func @g(%x: tensor<0x4xf32>) -> tensor<2x0x2xf32> {
  %a = tg.reshape %x {shape = [2, 0, 2]}
  tg.return %a
}";
    check(empty, "g", &[], Tol::Exact);
}

#[test]
fn slices_with_negative_and_strided_bounds() {
    let src = "func @f(%x: tensor<17x7xf32>, %y: tensor<N x 5 x f32>) -> (tensor<5x7xf32>, tensor<17x3xf32>, tensor<4x2xf32>, tensor<N - 1 x 5 x f32>, tensor<0x7xf32>, tensor<17x7xf32>) {
  %a = tg.slice %x {starts = [2], ends = [7]}
  %b = tg.slice %x {starts = [-3], ends = [100], axes = [1]}
  %c = tg.slice %x {starts = [16, 6], ends = [3, -100], steps = [-4, -4]}
  %d = tg.slice %y {starts = [1], ends = [9223372036854775807]}
  %e = tg.slice %x {starts = [5], ends = [2]}
  %g = tg.slice %x {starts = [-100], ends = [100], axes = [0], steps = [1]}
  tg.return %a, %b, %c, %d, %e, %g
}";
    check_each(src, "f", &[&[("N", 1)], &[("N", 5)], &[("N", 3)]], Tol::Exact);
}

#[test]
fn reverses_along_any_axes() {
    let src = "func @f(%x: tensor<3 x N x 7 x i32>) -> (tensor<3 x N x 7 x i32>, tensor<3 x N x 7 x i32>, tensor<3 x N x 7 x i32>) {
  %a = tg.reverse %x {axes = [1]}
  %b = tg.reverse %x {axes = [0, -1]}
  %c = tg.reverse %x {axes = []}
  tg.return %a, %b, %c
}";
    check_each(src, "f", &[&[("N", 1)], &[("N", 5)], &[("N", 0)]], Tol::Exact);
    let empty =
        "func @g(%x: tensor<0x3xf32>) -> tensor<0x3xf32> {\n  %a = tg.reverse %x {axes = [0, 1]}\n  tg.return %a\n}";
    check(empty, "g", &[], Tol::Exact);
}

#[test]
fn iotas_of_every_dtype_fuse_into_their_reader() {
    let src = "func @f(%x: tensor<N x 3 x f32>) -> (tensor<N x 3 x f32>, tensor<300xu8>, tensor<2049xf16>, tensor<4 x N x i64>) {
  %i = tg.iota {shape = [N, 3], dtype = f32, axis = 0}
  %y = tg.add %x, %i
  %u = tg.iota {shape = [300], dtype = u8, axis = 0}
  %h = tg.iota {shape = [2049], dtype = f16, axis = 0}
  %k = tg.iota {shape = [4, N], dtype = i64, axis = 1}
  tg.return %y, %u, %h, %k
}";
    let f = check_each(src, "f", N1_N5, Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 0);
    assert_eq!(count_named(&f, "k.index_cast"), 4);
}

#[test]
fn concat_along_every_axis() {
    let src = "func @f(%a: tensor<3x N x 2 x f32>, %b: tensor<3 x N x 0 x f32>, %c: tensor<3 x N x 5 x f32>, %d: tensor<1 x N x 2 x f32>) -> (tensor<3 x N x 7 x f32>, tensor<4 x N x 2 x f32>, tensor<3 x 2*N x 2 x f32>) {
  %x = tg.concat %a, %b, %c {axis = 2}
  %y = tg.concat %a, %d {axis = 0}
  %na = tg.neg %a
  %z = tg.concat %a, %na {axis = -2}
  tg.return %x, %y, %z
}";
    let f = check_each(src, "f", N1_N5, Tol::Exact);
    assert_eq!(count_named(&f, "k.alloc"), 0, "the neg is computed while concatenating");
}

#[test]
fn pads_grow_and_crop() {
    let src = "func @f(%x: tensor<3x7xf32>, %v: tensor<f32>, %y: tensor<N x 4 x i32>) -> (tensor<6x8xf32>, tensor<1x9xf32>, tensor<N + 1 x 2 x i32>, tensor<3x7xf32>) {
  %a = tg.pad %x, %v {low = [1, 0], high = [2, 1]}
  %b = tg.pad %x, %v {low = [-1, 2], high = [-1, 0], mode = \"constant\"}
  %k = tg.constant {value = dense<-5> : tensor<i32>}
  %c = tg.pad %y, %k {low = [1, -2], high = [0, 0]}
  %d = tg.pad %x, %v {low = [0, 0], high = [0, 0]}
  tg.return %a, %b, %c, %d
}";
    check_each(src, "f", N1_N5, Tol::Exact);
    for mode in ["reflect", "edge"] {
        let src = format!(
            "func @f(%x: tensor<3x7xf32>, %v: tensor<f32>, %y: tensor<N x 4 x i32>, %k: tensor<i32>) -> (tensor<7x11xf32>, tensor<3x6xf32>, tensor<N x 5 x i32>, tensor<3x7xf32>) {{
  %a = tg.pad %x, %v {{low = [2, 1], high = [2, 3], mode = \"{mode}\"}}
  %b = tg.pad %x, %v {{low = [0, -2], high = [0, 1], mode = \"{mode}\"}}
  %c = tg.pad %y, %k {{low = [0, -1], high = [0, 2], mode = \"{mode}\"}}
  %d = tg.pad %x, %v {{low = [0, 0], high = [0, 0], mode = \"{mode}\"}}
  tg.return %a, %b, %c, %d
}}"
        );
        check_each(&src, "f", N1_N5, Tol::Exact);
    }
}

#[test]
fn reductions_match_in_order_and_identity() {
    for op in ["reduce_sum", "reduce_prod", "reduce_max", "reduce_min"] {
        let src = format!(
            "func @f(%x: tensor<3 x N x 7 x f64>, %i: tensor<5x0x3xi32>, %u: tensor<7x3xu8>) -> (tensor<3 x 7 x f64>, tensor<1 x N x 1 x f64>, tensor<f64>, tensor<3 x N x 7 x f64>, tensor<5x3xi32>, tensor<3xu8>) {{
  %a = tg.{op} %x {{axes = [1]}}
  %b = tg.{op} %x {{axes = [2, 0], keepdims = true}}
  %c = tg.{op} %x {{axes = [0, 1, 2]}}
  %d = tg.{op} %x {{axes = []}}
  %e = tg.{op} %i {{axes = [1]}}
  %f = tg.{op} %u {{axes = [-2]}}
  tg.return %a, %b, %c, %d, %e, %f
}}"
        );
        check_each(&src, "f", &[&[("N", 1)], &[("N", 5)], &[("N", 0)]], Tol::Exact);
        let f32s = format!(
            "func @g(%x: tensor<33x17xf32>) -> tensor<17xf32> {{\n  %a = tg.{op} %x {{axes = [0]}}\n  tg.return %a\n}}"
        );
        let tol = match op {
            "reduce_sum" => F32_SUM,
            "reduce_prod" => Tol::Close { rtol: 1e-5, atol: 0.0 },
            _ => Tol::Exact,
        };
        check(&f32s, "g", &[], tol);
    }
}

#[test]
fn half_precision_sums_accumulate_in_f32() {
    // 1 + 2^-8 * 256 in bf16: adding 2^-8 to 1 rounds back to 1 every time,
    // so a bf16 accumulator stays at 1; the reference (and f32) reach 2.
    let src = "func @f(%x: tensor<257xbf16>, %a: tensor<1x257xbf16>, %b: tensor<257x1xbf16>) -> (tensor<bf16>, tensor<1x1xbf16>, tensor<bf16>) {
  %s = tg.reduce_sum %x {axes = [0]}
  %d = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  %m = tg.reduce_max %x {axes = [0]}
  tg.return %s, %d, %m
}";
    let m = verified(src);
    let lowered = lower(&m);
    let mut x = vec![0.00390625; 257];
    x[0] = 1.0;
    let t = |shape: Vec<usize>| Tensor::from_f64(DType::BF16, shape, x.clone()).unwrap();
    let ones = Tensor::from_f64(DType::BF16, vec![257, 1], vec![1.0; 257]).unwrap();
    let out = KernelEvaluator::new(&lowered).run("f", vec![t(vec![257]), t(vec![1, 257]), ones]).unwrap();
    assert_eq!((out[0].to_f64s(), out[1].to_f64s(), out[2].to_f64s()), (vec![2.0], vec![2.0], vec![1.0]));
    let f = lowered.module().func("f").unwrap();
    assert_eq!(count_named(f, "k.cast"), 7, "each operand widened, each result narrowed: 2 + 3 + 2");
    for n in [1, 7, 33] {
        let src = format!("func @g(%x: tensor<{n}x17xf16>, %y: tensor<17x3xf16>) -> (tensor<17xf16>, tensor<{n}x3xf16>) {{\n  %s = tg.reduce_sum %x {{axes = [0]}}\n  %d = tg.dot %x, %y {{lhs_contract = [1], rhs_contract = [0]}}\n  tg.return %s, %d\n}}");
        check(&src, "g", &[], Tol::Close { rtol: 1e-3, atol: 1e-3 });
    }
}

#[test]
fn reductions_fuse_their_producers() {
    let src = "func @f(%x: tensor<N x 17 x f32>, %y: tensor<N x 17 x f32>) -> tensor<N x f32> {
  %p = tg.mul %x, %y
  %e = tg.exp %p
  %s = tg.reduce_sum %e {axes = [1]}
  tg.return %s
}";
    let f = check_each(src, "f", N1_N5, F32_SUM);
    assert_eq!((count_named(&f, "k.alloc"), top_level_nests(&f)), (0, 1));
}

#[test]
fn dots_of_every_layout() {
    let src = "func @f(%a: tensor<7x17xf32>, %b: tensor<17x3xf32>, %bt: tensor<3x17xf32>, %p: tensor<2x N x 5xf32>, %q: tensor<2x5x4xf32>, %m: tensor<3x5x7xf32>, %n: tensor<5x7xf32>) -> (tensor<7x3xf32>, tensor<7x3xf32>, tensor<2x N x 4 x f32>, tensor<3xf32>, tensor<4x2 x N x f32>) {
  %0 = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  %1 = tg.dot %a, %bt {lhs_contract = [1], rhs_contract = [1]}
  %2 = tg.dot %p, %q {lhs_batch = [0], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}
  %3 = tg.dot %m, %n {lhs_contract = [1, 2], rhs_contract = [0, 1]}
  %4 = tg.dot %q, %p {lhs_batch = [0], rhs_batch = [0], lhs_contract = [1], rhs_contract = [2]}
  %5 = tg.transpose %4 {perm = [1, 0, 2]}
  tg.return %0, %1, %2, %3, %5
}";
    check_each(src, "f", N1_N5, F32_SUM);
    let ints = "func @g(%a: tensor<7x33xi8>, %b: tensor<33x1xi8>, %e: tensor<3x0xi64>, %z: tensor<0x2xi64>) -> (tensor<7x1xi8>, tensor<3x2xi64>) {
  %0 = tg.dot %a, %b {lhs_contract = [1], rhs_contract = [0]}
  %1 = tg.dot %e, %z {lhs_contract = [1], rhs_contract = [0]}
  tg.return %0, %1
}";
    check(ints, "g", &[], Tol::Exact);
}

#[test]
fn dots_read_strided_operands_in_place_and_copy_the_rest() {
    // Single-axis groups are always strided views; contracting axes listed
    // out of order are not, and that operand is copied (both here).
    let src = "func @f(%a: tensor<5x2x7xf32>, %b: tensor<2x7x3xf32>, %c: tensor<7x2x3xf32>, %m: tensor<4x3x5xf64>, %n: tensor<3x5x6xf64>) -> (tensor<2x5x3xf32>, tensor<2x5x3xf32>, tensor<4x6xf64>) {
  %0 = tg.dot %a, %b {lhs_batch = [1], rhs_batch = [0], lhs_contract = [2], rhs_contract = [1]}
  %1 = tg.dot %a, %c {lhs_batch = [1], rhs_batch = [1], lhs_contract = [2], rhs_contract = [0]}
  %2 = tg.dot %m, %n {lhs_contract = [2, 1], rhs_contract = [1, 0]}
  tg.return %0, %1, %2
}";
    let f = check(src, "f", &[], Tol::Close { rtol: 1e-5, atol: 1e-5 });
    assert_eq!((count_named(&f, "k.matmul"), count_named(&f, "k.alloc")), (3, 2));
}

#[test]
fn dots_materialise_computed_operands() {
    // Each element of exp(a) is read by every column: computed once.
    let src = "func @f(%a: tensor<7x5xf64>, %b: tensor<5x3xf64>) -> tensor<7x3xf64> {
  %e = tg.exp %a
  %d = tg.dot %e, %b {lhs_contract = [1], rhs_contract = [0]}
  tg.return %d
}";
    let f = check(src, "f", &[], Tol::Close { rtol: 1e-12, atol: 1e-12 });
    assert_eq!(count_named(&f, "k.alloc"), 1);
}

#[test]
fn constants_parameters_and_returned_arguments() {
    let src = "param @w = dense<[1.5, -2.0, 0.25]> : tensor<3xf32>
func @f(%x: tensor<N x 3 x f32>) -> (tensor<N x 3 x f32>, tensor<3xf32>, tensor<2x2xi64>, tensor<N x 3 x f32>, tensor<4xf32>, tensor<N x 3 x f32>) {
  %w = tg.param @w
  %k = tg.constant {value = dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>}
  %s = tg.constant {value = dense<0.5> : tensor<4xf32>}
  %y = tg.mul %x, %w
  tg.return %y, %w, %k, %x, %s, %y
}";
    let f = check_each(src, "f", N1_N5, Tol::Exact);
    assert_eq!(count_named(&f, "k.param"), 1);
    assert_eq!(count_named(&f, "k.buffer_constant"), 1);
}

#[test]
fn empty_tensors_lower_to_empty_loops() {
    let src = "func @f(%x: tensor<0x3xf32>, %y: tensor<3xf32>) -> (tensor<0x3xf32>, tensor<3xf32>, tensor<0xf32>) {
  %0 = tg.add %x, %y
  %1 = tg.reduce_sum %x {axes = [0]}
  %2 = tg.reduce_max %x {axes = [1]}
  tg.return %0, %1, %2
}";
    check(src, "f", &[], Tol::Exact);
}

#[test]
fn unlowered_ops_and_unknown_dims_are_errors_naming_them() {
    let src = "func @g(%x: tensor<3x4xf32>) -> tensor<3x4xf32> {
  tg.return %x
}
func @f(%x: tensor<3x4xf32>, %n: tensor<2x?xf32>, %c: tensor<i1>) -> tensor<3x4xf32> {
  %a = tg.call @g %x
  %b = tg.if %c {
    tg.yield %x
  } {
    tg.yield %a
  }
  %r = tg.reshape %x {shape = [?]}
  tg.return %b
}";
    let m = verified(src);
    let err = PassManager::new(Pipeline::parse("lower-to-kernel").unwrap()).run(m.into_inner()).unwrap_err();
    let messages: Vec<&str> = err.0.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages[0], "pass 'lower-to-kernel' failed:");
    assert!(messages[1].starts_with("@f: signature type #1 tensor<2x?xf32> has a '?' dim"), "{messages:?}");
    assert_eq!(messages[2], "'tg.call' op: is not lowered to the kernel dialect yet");
    assert_eq!(messages[3], "'tg.if' op: is not lowered to the kernel dialect yet");
    assert!(messages[4].starts_with("'tg.reshape' op: its result tensor<?xf32> has a '?' dim"), "{messages:?}");
    assert_eq!(messages.len(), 5);
}

#[test]
fn lowering_is_idempotent_and_keeps_kernel_functions() {
    let src = "func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tg.neg %x
  tg.return %0
}";
    let once = lower(&verified(src));
    let twice = lower(&once);
    assert_eq!(print_func(&once.module().funcs[0]), print_func(&twice.module().funcs[0]));
    let ty = |t: &Type| t.to_string();
    assert_eq!(
        once.module().funcs[0].arg_types().iter().map(ty).collect::<Vec<_>>(),
        ["buffer<3xf32>", "buffer<3xf32>"]
    );
    let out = KernelEvaluator::new(&once)
        .run("f", vec![Tensor::new(DType::F32, vec![3], Data::Float(vec![1.0, -2.0, 0.0])).unwrap()]);
    assert_eq!(out.unwrap()[0].to_f64s(), [-1.0, 2.0, -0.0]);
}
