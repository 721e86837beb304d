//! What the back end refuses, and how: every error is a diagnostic naming
//! the function or op, located, never a panic; run-time failures (a
//! division by zero, a bad input) come back as errors from `run`.

use crate::harness::{lower, verified};
use tessera_codegen::{emit_llvm_ir, IrStage, JitModule};
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

/// The messages of compiling `src` (verified, not lowered), which must fail.
fn compile_errors(src: &str) -> Vec<String> {
    match JitModule::compile(&verified(src)) {
        Ok(_) => panic!("compiled:\n{src}"),
        Err(d) => d.0.iter().map(|d| d.message.clone()).collect(),
    }
}

#[test]
fn graph_functions_must_be_lowered_first() {
    let src = "func @f(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = tg.neg %x
  tg.return %0
}
func @g(%x: buffer<3xf32>) {
  %c = tg.constant {value = dense<1.0> : tensor<f32>}
  tg.return
}";
    let errors = compile_errors(src);
    assert_eq!(
        errors,
        [
            "@f: returns values; a kernel function writes its outputs into buffer arguments (run lower-to-kernel first)",
            "'tg.constant' op: is not a kernel-dialect op; lower the function with lower-to-kernel first",
        ]
    );
    let args = compile_errors("func @h(%x: tensor<3xf32>) {\n  tg.return\n}");
    assert_eq!(args, ["@h: argument #0 has type tensor<3xf32>; kernel functions take buffers"]);
    let ir = emit_llvm_ir(&verified(src), IrStage::Translated).unwrap_err();
    assert_eq!(ir.0.len(), 2);
}

#[test]
fn unsupported_kernel_forms_name_their_op() {
    let src = "func @alloc_in_loop(%x: buffer<3xf32>, %out0: buffer<3xf32>) {
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %c3 = k.index_constant {value = 3}
  k.for %c0, %c3, %c1 {
  ^bb0(%i: index):
    %t = k.alloc {shape = [3], dtype = f32}
    %v = k.load %x, %i
    k.store %v, %t, %i
    k.store %v, %out0, %i
    tg.yield
  }
  tg.return
}
func @zero_step(%out0: buffer<3xf32>) {
  %c0 = k.index_constant {value = 0}
  %c3 = k.index_constant {value = 3}
  k.for %c0, %c3, %c0 {
  ^bb0(%i: index):
    tg.yield
  }
  tg.return
}";
    let errors = compile_errors(src);
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].starts_with("'k.alloc' op: an allocation inside a k.for is not supported"), "{errors:?}");
    assert_eq!(errors[1], "'k.for' op: the step is 0; it must be positive");
}

#[test]
fn parameters_need_a_value() {
    let src = "param @w : tensor<3xf32>
func @f(%out0: buffer<3xf32>) {
  %w = k.param @w
  %c0 = k.index_constant {value = 0}
  %v = k.load %w, %c0
  k.store %v, %out0, %c0
  tg.return
}";
    assert_eq!(compile_errors(src), ["parameter @w has no value to compile in"]);
}

#[test]
fn run_time_failures_are_errors() {
    let src = "func @f(%x: tensor<N x 3 x f32>, %y: tensor<N x 3 x f32>) -> tensor<N x 3 x f32> {
  %0 = tg.add %x, %y
  tg.return %0
}";
    let jit = JitModule::compile(&lower(&verified(src))).unwrap();
    let t = |n: usize, d: DType| Tensor::zeros(d, vec![n, 3]);
    let message = |r: Result<Vec<Tensor>, tessera_ir::Diag>| r.unwrap_err().message;
    assert_eq!(message(jit.run("g", &[])), "no function named @g");
    assert_eq!(
        message(jit.run("f", &[t(2, DType::F32), t(2, DType::F64)])),
        "@f: input #1 must fit buffer<N x 3 x f32>, got tensor<2x3xf64>"
    );
    assert_eq!(
        message(jit.run("f", &[t(2, DType::F32), t(4, DType::F32)])),
        "@f: input #1: N is 2 from an earlier input but 4 here"
    );
    assert_eq!(
        message(jit.run("f", &[t(2, DType::F32), t(2, DType::F32), t(2, DType::F32), t(2, DType::F32)])),
        "@f: takes 3 buffer(s), got 4 input(s)"
    );
    assert_eq!(message(jit.run("f", &[])), "@f: output argument #0: dim N has symbols no input binds");
    assert_eq!(jit.run("f", &[t(2, DType::F32), t(2, DType::F32)]).unwrap()[0].shape(), [2, 3]);
}

#[test]
fn a_step_known_at_run_time_must_be_positive() {
    let src = "func @f(%x: buffer<N x f32>, %out0: buffer<3xf32>) {
  %n = k.dim %x {axis = 0}
  %c0 = k.index_constant {value = 0}
  %c3 = k.index_constant {value = 3}
  %one = k.constant {value = dense<1.0> : tensor<f32>}
  k.for %c0, %c3, %n {
  ^bb0(%i: index):
    k.store %one, %out0, %i
    tg.yield
  }
  tg.return
}";
    let jit = JitModule::compile(&verified(src)).unwrap();
    let out = jit.run("f", &[Tensor::zeros(DType::F32, vec![1])]).unwrap();
    assert_eq!(out[0].to_f64s(), [1.0, 1.0, 1.0]);
    let err = jit.run("f", &[Tensor::zeros(DType::F32, vec![0])]).unwrap_err();
    assert_eq!(err.message, "@f: a k.for step is not positive");
}

#[test]
fn a_failed_allocation_is_an_error() {
    // 4e18 bytes per row of x, beyond any address space: the allocator
    // refuses, and the function returns through its exit block, freeing
    // what it holds.
    let src = "func @big(%x: buffer<N x f32>, %out0: buffer<N x f32>) {
  %t = k.alloc {shape = [N, 1000000000000000000], dtype = f32}
  %n = k.dim %x {axis = 0}
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  k.for %c0, %n, %c1 {parallel = true} {
  ^bb0(%i: index):
    %v = k.load %x, %i
    k.store %v, %t, %i, %c0
    %w = k.load %t, %i, %c0
    k.store %w, %out0, %i
    tg.yield
  }
  tg.return
}";
    let jit = JitModule::compile(&verified(src)).unwrap();
    let err = jit.run("big", &[Tensor::zeros(DType::F32, vec![1])]).unwrap_err();
    assert_eq!(err.message, "@big: out of memory allocating a temporary buffer");
    assert!(jit.run("big", &[Tensor::zeros(DType::F32, vec![0])]).unwrap()[0].is_empty());
}
