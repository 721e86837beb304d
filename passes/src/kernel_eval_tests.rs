//! Tests of the kernel interpreter on hand-written kernel functions: loops
//! with and without carried values, symbols bound from the inputs, and
//! every error it reports at the op instead of panicking.

use crate::testing::{f32s, verified};
use crate::KernelEvaluator;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::DType;

const KERNELS: &str = "
param @bias = dense<[0.5, -1.0, 2.0]> : tensor<3xf32>
func @affine(%x: buffer<N x 3 x f32>, %out0: buffer<N x 3 x f32>) {
  %N = k.dim %x {axis = 0}
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %c3 = k.index_constant {value = 3}
  %two = k.constant {value = dense<2.0> : tensor<f32>}
  %b = k.param @bias
  k.for %c0, %N, %c1 {parallel = true} {
  ^bb0(%i: index):
    k.for %c0, %c3, %c1 {parallel = true} {
    ^bb1(%j: index):
      %v = k.load %x, %i, %j
      %w = k.load %b, %j
      %p = k.apply %v, %two {fn = \"tg.mul\"}
      %q = k.apply %p, %w {fn = \"tg.add\"}
      k.store %q, %out0, %i, %j
      tg.yield
    }
    tg.yield
  }
  tg.return
}
func @row_sums(%x: buffer<2x3xi32>, %out0: buffer<2xi32>) {
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %c2 = k.index_constant {value = 2}
  %c3 = k.index_constant {value = 3}
  %zero = k.constant {value = dense<0> : tensor<i32>}
  k.for %c0, %c2, %c1 {parallel = true} {
  ^bb0(%i: index):
    %sum = k.for %c0, %c3, %c1, %zero {
    ^bb1(%j: index, %acc: i32):
      %v = k.load %x, %i, %j
      %next = k.apply %acc, %v {fn = \"tg.add\"}
      tg.yield %next
    }
    k.store %sum, %out0, %i
    tg.yield
  }
  tg.return
}
func @strided(%out0: buffer<i64>, %out1: buffer<i64>, %out2: buffer<u8>) {
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %c3 = k.index_constant {value = 3}
  %c10 = k.index_constant {value = 10}
  %n = k.for %c0, %c10, %c3, %c0 {
  ^bb0(%i: index, %count: index):
    %next = k.index_add %count, %c1
    tg.yield %next
  }
  %zero = k.constant {value = dense<0> : tensor<i64>}
  %one = k.constant {value = dense<1> : tensor<i64>}
  %four = k.for %c0, %n, %c1, %zero {
  ^bb1(%k: index, %acc: i64):
    %s = k.apply %acc, %one {fn = \"tg.add\"}
    tg.yield %s
  }
  k.store %four, %out0
  %m = k.index_constant {value = -1}
  %as_u8 = k.index_cast %m {to = u8}
  k.for %c0, %c3, %c1 {parallel = true} {
  ^bb2(%i: index):
    %v = k.constant {value = dense<7> : tensor<i64>}
    k.store %v, %out1
    tg.yield
  }
  k.store %as_u8, %out2
  tg.return
}
";

fn i32s(shape: &[usize], v: &[i64]) -> Tensor {
    Tensor::new(DType::I32, shape.to_vec(), Data::Int(v.to_vec())).unwrap()
}

/// The message of the error running `name` of `src` on `inputs` gives.
fn error(src: &str, name: &str, inputs: Vec<Tensor>) -> String {
    let m = verified(src);
    KernelEvaluator::new(&m).run(name, inputs).map(|_| ()).unwrap_err().message
}

#[test]
fn runs_loop_nests_with_parameters_and_symbols() {
    let m = verified(KERNELS);
    let k = KernelEvaluator::new(&m);
    let out = k.run("affine", vec![f32s(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0])]).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].shape(), out[0].to_f64s()), (&[2, 3][..], vec![2.5, 3.0, 8.0, 8.5, 9.0, 14.0]));
    let none = k.run("affine", vec![f32s(&[0, 3], &[])]).unwrap();
    assert_eq!(none[0].shape(), [0, 3]);
    let sums = k.run("row_sums", vec![i32s(&[2, 3], &[1, 2, 3, 2147483647, 1, 0])]).unwrap();
    assert_eq!(sums[0].to_i64s(), [6, -2147483648], "i32 arithmetic wraps");
}

#[test]
fn carried_values_and_strides() {
    let m = verified(KERNELS);
    let out = KernelEvaluator::new(&m).run("strided", vec![]).unwrap();
    assert_eq!(out[0].to_i64s(), [4], "0, 3, 6, 9");
    assert_eq!(out[1].to_i64s(), [7]);
    assert_eq!(out[2].to_i64s(), [255], "an index converts as tg.cast converts an i64");
}

#[test]
fn inputs_must_fit_the_signature() {
    let m = verified(KERNELS);
    let k = KernelEvaluator::new(&m);
    let wrong = k.run("affine", vec![f32s(&[2, 4], &[0.0; 8])]).unwrap_err();
    assert_eq!(wrong.message, "@affine: input #0 must fit buffer<N x 3 x f32>, got tensor<2x4xf32>");
    let many = k.run("row_sums", vec![i32s(&[2, 3], &[0; 6]), i32s(&[2], &[0; 2]), i32s(&[1], &[0])]).unwrap_err();
    assert_eq!(many.message, "@row_sums: takes 2 buffer(s), got 3 input(s)");
    let unbound = error("func @f(%out0: buffer<N x f32>) {\n  tg.return\n}", "f", vec![]);
    assert_eq!(unbound, "@f: output argument #0: dim N has symbols no input binds");
}

#[test]
fn out_of_bounds_indices_name_the_op() {
    let src = "func @f(%x: buffer<3xf32>, %out0: buffer<3xf32>) {
  %c3 = k.index_constant {value = 3}
  %v = k.load %x, %c3
  k.store %v, %out0, %c3
  tg.return
}";
    let msg = error(src, "f", vec![f32s(&[3], &[0.0; 3])]);
    assert_eq!(msg, "'k.load' op: index [3] is out of bounds for buffer<3xf32> of shape [3]: axis 0 has size 3");
}

#[test]
fn reading_unwritten_memory_and_leaving_outputs_unwritten_are_errors() {
    let read = "func @f(%out0: buffer<2xf32>) {
  %t = k.alloc {shape = [2], dtype = f32}
  %c1 = k.index_constant {value = 1}
  %v = k.load %t, %c1
  k.store %v, %out0, %c1
  tg.return
}";
    assert_eq!(
        error(read, "f", vec![]),
        "'k.load' op: reads element [1] of buffer<2xf32> of shape [2] before anything was stored there"
    );
    let partial = "func @f(%out0: buffer<2xf32>) {
  %c0 = k.index_constant {value = 0}
  %v = k.constant {value = dense<1.0> : tensor<f32>}
  k.store %v, %out0, %c0
  tg.return
}";
    assert_eq!(error(partial, "f", vec![]), "@f: output argument #0 (buffer<2xf32>) has element [1] never written");
}

#[test]
fn constants_and_parameters_are_read_only() {
    let src = "param @w = dense<[1.0, 2.0]> : tensor<2xf32>
func @f() {
  %w = k.param @w
  %c0 = k.index_constant {value = 0}
  %v = k.load %w, %c0
  k.store %v, %w, %c0
  tg.return
}
func @g() {
  %k = k.buffer_constant {value = dense<[1, 2]> : tensor<2xi8>}
  %c0 = k.index_constant {value = 0}
  %v = k.load %k, %c0
  k.store %v, %k, %c0
  tg.return
}";
    assert_eq!(error(src, "f", vec![]), "'k.store' op: stores into the read-only buffer<2xf32> of shape [2]");
    assert_eq!(error(src, "g", vec![]), "'k.store' op: stores into the read-only buffer<2xi8> of shape [2]");
}

#[test]
fn arithmetic_errors_name_the_op() {
    let step = "func @f() {
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  k.for %c0, %c1, %c0 {
  ^bb0(%i: index):
    tg.yield
  }
  tg.return
}";
    assert_eq!(error(step, "f", vec![]), "'k.for' op: the step is 0; it must be positive");
    let div = "func @f() {
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %q = k.index_div %c1, %c0
  tg.return
}";
    assert_eq!(error(div, "f", vec![]), "'k.index_div' op: 1 and 0: the index arithmetic divides by zero");
    let big = "func @f() {
  %m = k.index_constant {value = 9223372036854775807}
  %s = k.index_mul %m, %m
  tg.return
}";
    assert_eq!(
        error(big, "f", vec![]),
        "'k.index_mul' op: 9223372036854775807 and 9223372036854775807: the index arithmetic overflows"
    );
    let scalar = "func @f() {
  %z = k.constant {value = dense<0> : tensor<i32>}
  %q = k.apply %z, %z {fn = \"tg.div\"}
  tg.return
}";
    assert_eq!(error(scalar, "f", vec![]), "'k.apply' op: tg.div: integer division by zero");
}

#[test]
fn parallel_loops_run_last_to_first() {
    // Iteration i reads what iteration i - 1 stored: fine in order, wrong
    // for a parallel loop, whose last-to-first run reads unwritten memory.
    let src = "func @f(%out0: buffer<2xf32>) {
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %c2 = k.index_constant {value = 2}
  %v = k.constant {value = dense<5.0> : tensor<f32>}
  %t = k.alloc {shape = [2], dtype = f32}
  k.for %c0, %c2, %c1 PARALLEL{
  ^bb0(%i: index):
    k.store %v, %t, %i
    %p = k.index_sub %i, %c1
    %q = k.index_max %p, %c0
    %w = k.load %t, %q
    k.store %w, %out0, %i
    tg.yield
  }
  tg.return
}";
    let m = verified(&src.replace("PARALLEL", ""));
    assert_eq!(KernelEvaluator::new(&m).run("f", vec![]).unwrap()[0].to_f64s(), [5.0, 5.0]);
    assert_eq!(
        error(&src.replace("PARALLEL", "{parallel = true} "), "f", vec![]),
        "'k.load' op: reads element [0] of buffer<2xf32> of shape [2] before anything was stored there"
    );
}

#[test]
fn only_kernel_functions_run() {
    let graph = "func @f(%x: tensor<2xf32>) -> tensor<2xf32> {\n  tg.return %x\n}";
    assert_eq!(
        error(graph, "f", vec![f32s(&[2], &[0.0; 2])]),
        "@f: a kernel function returns nothing; its outputs are buffer arguments"
    );
    let mixed = "func @f(%x: buffer<2xf32>) {\n  %c = tg.constant {value = dense<1.0> : tensor<f32>}\n  tg.return\n}";
    assert_eq!(
        error(mixed, "f", vec![f32s(&[2], &[0.0; 2])]),
        "'tg.constant' op: is not a kernel-dialect op; the kernel interpreter runs kernel functions only"
    );
}

#[test]
fn integers_become_indices_counting_from_the_end_and_checked() {
    let src = "func @pick(%x: buffer<3xf32>, %i: buffer<2xi32>, %out0: buffer<2xf32>) {
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %c2 = k.index_constant {value = 2}
  %c3 = k.index_constant {value = 3}
  k.for %c0, %c2, %c1 {parallel = true} {
  ^bb0(%j: index):
    %v = k.load %i, %j
    %p = k.to_index %v, %c3 {axis = 0}
    %e = k.load %x, %p
    k.store %e, %out0, %j
    tg.yield
  }
  tg.return
}";
    let m = verified(src);
    let x = f32s(&[3], &[10.0, 20.0, 30.0]);
    let out = KernelEvaluator::new(&m).run("pick", vec![x.clone(), i32s(&[2], &[-1, 1])]).unwrap();
    assert_eq!(out[0].to_f64s(), [30.0, 20.0]);
    for (i, shown) in [(3, 3), (-4, -4)] {
        assert_eq!(
            error(src, "pick", vec![x.clone(), i32s(&[2], &[0, i])]),
            format!("'k.to_index' op: index {shown} is out of range for axis 0 of size 3")
        );
    }
}
