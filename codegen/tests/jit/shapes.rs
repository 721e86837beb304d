//! Broadcasting in every position, fused chains over odd and empty shapes,
//! symbolic batches bound at run time, and the ops that move elements:
//! broadcast_to, transpose, reshape, slice, reverse, concat and pad.

use crate::harness::{check, check_all, check_each, Compiled, Tol, N1_N5, N1_N5_N0};
use tessera_ir::parse::parse_module;

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
    let t = |s: &str| if s.is_empty() { "tensor<f32>".to_string() } else { format!("tensor<{s}xf32>") };
    let mut src = String::new();
    for (k, (a, b)) in shapes.iter().enumerate() {
        let f = format!(
            "func @f{k}(%a: {}, %b: {}) {{\n  %0 = tg.sub %a, %b\n  %1 = tg.mul %b, %a\n  %2 = tg.lt %a, %b\n  %3 = tg.select %2, %0, %1\n  tg.return %3\n}}\n",
            t(a),
            t(b)
        );
        // Infer the result type through the parser, then declare it.
        let probe = parse_module(&f, "probe.tir").unwrap();
        let func = &probe.funcs[0];
        let last = func.block(func.entry()).ops[3];
        let ty = func.ty(func.op(last).results[0]).to_string();
        src += &f.replace(") {", &format!(") -> {ty} {{"));
    }
    let c = Compiled::new(&src);
    for k in 0..shapes.len() {
        c.check(&format!("f{k}"), &[], Tol::Exact);
    }
}

#[test]
fn fused_chains_over_odd_and_empty_shapes() {
    let mut src = String::new();
    let sizes = [1, 3, 7, 17, 33, 1000, 0];
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
    let c = Compiled::new(&src);
    for n in sizes {
        c.check(&format!("chain{n}"), &[], Tol::Close { rtol: 4e-7, atol: 1e-7 });
    }
}

#[test]
fn symbolic_batch_binds_from_the_arguments() {
    let src = "func @f(%x: tensor<N x 3 x f32>, %b: tensor<3xf32>, %s: tensor<f32>) -> (tensor<N x 3 x f32>, tensor<N x f32>) {
  %0 = tg.mul %x, %s
  %1 = tg.add %0, %b
  %2 = tg.reduce_max %1 {axes = [1]}
  tg.return %1, %2
}
func @mlp_tail(%x: tensor<N x 17 x f64>, %w: tensor<17xf64>, %b: tensor<1x17xf64>) -> tensor<N x 17 x f64> {
  %zero = tg.constant {value = dense<0.0> : tensor<f64>}
  %0 = tg.mul %x, %w
  %1 = tg.add %0, %b
  %2 = tg.max %1, %zero
  tg.return %2
}";
    check_all(src, &[("f", N1_N5_N0, Tol::Exact), ("mlp_tail", N1_N5, Tol::Exact)]);
}

#[test]
fn temporaries_with_symbolic_shapes() {
    // exp(x) is used twice: materialised in a k.alloc of shape N x 3.
    let src =
        "func @f(%x: tensor<N x 3 x f32>, %y: tensor<2*N + 1 x f32>) -> (tensor<N x 3 x f32>, tensor<2*N + 1 x f32>) {
  %e = tg.exp %x
  %s = tg.mul %e, %e
  %t = tg.add %s, %e
  %n = tg.neg %y
  %m = tg.mul %n, %n
  %u = tg.add %m, %n
  tg.return %t, %u
}";
    check_each(src, "f", N1_N5_N0, Tol::Close { rtol: 1e-6, atol: 1e-6 });
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
    let mut src = String::new();
    let perms = ["[0, 1, 2]", "[0, 2, 1]", "[1, 0, 2]", "[1, 2, 0]", "[2, 0, 1]", "[2, 1, 0]"];
    for (k, perm) in perms.iter().enumerate() {
        let p: Vec<usize> = perm.trim_matches(['[', ']']).split(", ").map(|s| s.parse().unwrap()).collect();
        let dims = ["3", "N", "7"];
        let out: Vec<&str> = p.iter().map(|&i| dims[i]).collect();
        src += &format!(
            "func @t{k}(%x: tensor<3 x N x 7 x f32>) -> (tensor<{} x f32>, tensor<{} x f32>) {{\n  %t = tg.transpose %x {{perm = {perm}}}\n  %u = tg.transpose %x {{perm = {perm}}}\n  %n = tg.neg %u\n  tg.return %t, %n\n}}\n",
            out.join(" x "),
            out.join(" x ")
        );
    }
    let c = Compiled::new(&src);
    for k in 0..perms.len() {
        for bindings in N1_N5 {
            c.check(&format!("t{k}"), bindings, Tol::Exact);
        }
    }
}

#[test]
fn reshapes_slices_and_reverses() {
    let src = "func @reshape(%x: tensor<3x4xf32>, %y: tensor<N x 6 x i32>, %z: tensor<N x 1 x 7 x f32>) -> (tensor<2x6xf32>, tensor<N x 2 x 3 x i32>, tensor<6 x N x i32>, tensor<1 x N x 7 x 1 x f32>, tensor<12xf32>) {
  %a = tg.reshape %x {shape = [2, 6]}
  %b = tg.reshape %y {shape = [N, 2, 3]}
  %c = tg.reshape %y {shape = [6, N]}
  %d = tg.reshape %z {shape = [1, N, 7, 1]}
  %t = tg.transpose %x {perm = [1, 0]}
  %e = tg.reshape %t {shape = [12]}
  tg.return %a, %b, %c, %d, %e
}
func @slice(%x: tensor<17x7xf32>, %y: tensor<N x 5 x f32>) -> (tensor<5x7xf32>, tensor<17x3xf32>, tensor<4x2xf32>, tensor<N - 1 x 5 x f32>, tensor<0x7xf32>, tensor<17x7xf32>) {
  %a = tg.slice %x {starts = [2], ends = [7]}
  %b = tg.slice %x {starts = [-3], ends = [100], axes = [1]}
  %c = tg.slice %x {starts = [16, 6], ends = [3, -100], steps = [-4, -4]}
  %d = tg.slice %y {starts = [1], ends = [9223372036854775807]}
  %e = tg.slice %x {starts = [5], ends = [2]}
  %g = tg.slice %x {starts = [-100], ends = [100], axes = [0], steps = [1]}
  tg.return %a, %b, %c, %d, %e, %g
}
func @reverse(%x: tensor<3 x N x 7 x i32>) -> (tensor<3 x N x 7 x i32>, tensor<3 x N x 7 x i32>, tensor<3 x N x 7 x i32>) {
  %a = tg.reverse %x {axes = [1]}
  %b = tg.reverse %x {axes = [0, -1]}
  %c = tg.reverse %x {axes = []}
  tg.return %a, %b, %c
}";
    check_all(
        src,
        &[
            ("reshape", N1_N5, Tol::Exact),
            ("slice", &[&[("N", 1)], &[("N", 5)], &[("N", 3)]], Tol::Exact),
            ("reverse", N1_N5_N0, Tol::Exact),
        ],
    );
}

#[test]
fn concat_along_every_axis_and_pads() {
    let src = "func @concat(%a: tensor<3x N x 2 x f32>, %b: tensor<3 x N x 0 x f32>, %c: tensor<3 x N x 5 x f32>, %d: tensor<1 x N x 2 x f32>) -> (tensor<3 x N x 7 x f32>, tensor<4 x N x 2 x f32>, tensor<3 x 2*N x 2 x f32>) {
  %x = tg.concat %a, %b, %c {axis = 2}
  %y = tg.concat %a, %d {axis = 0}
  %na = tg.neg %a
  %z = tg.concat %a, %na {axis = -2}
  tg.return %x, %y, %z
}
func @pad(%x: tensor<3x7xf32>, %v: tensor<f32>, %y: tensor<N x 4 x i32>) -> (tensor<6x8xf32>, tensor<1x9xf32>, tensor<N + 1 x 2 x i32>, tensor<3x7xf32>) {
  %a = tg.pad %x, %v {low = [1, 0], high = [2, 1]}
  %b = tg.pad %x, %v {low = [-1, 2], high = [-1, 0], mode = \"constant\"}
  %k = tg.constant {value = dense<-5> : tensor<i32>}
  %c = tg.pad %y, %k {low = [1, -2], high = [0, 0]}
  %d = tg.pad %x, %v {low = [0, 0], high = [0, 0]}
  tg.return %a, %b, %c, %d
}";
    check_all(src, &[("concat", N1_N5, Tol::Exact), ("pad", N1_N5, Tol::Exact)]);
}

#[test]
fn constants_parameters_and_returned_arguments() {
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
    check_all(src, &[("f", N1_N5, Tol::Exact), ("g", &[&[]], Tol::Exact)]);
}

#[test]
fn empty_tensors() {
    let src = "func @f(%x: tensor<0x3xf32>, %y: tensor<3xf32>) -> (tensor<0x3xf32>, tensor<3xf32>, tensor<0xf32>) {
  %0 = tg.add %x, %y
  %1 = tg.reduce_sum %x {axes = [0]}
  %2 = tg.reduce_max %x {axes = [1]}
  tg.return %0, %1, %2
}";
    check(src, "f", Tol::Exact);
}
