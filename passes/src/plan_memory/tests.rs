//! Tests of `plan-memory`: planned arenas are smaller than the
//! temporaries they replace, planning twice changes nothing, and the kernel
//! interpreter fails a load through a view whose bytes another view
//! overwrote. That planned functions compute what the reference evaluator
//! computes, on the interpreter and the JIT: `differential::cases::control`.

use crate::differential::cases::control::MLP;
use crate::kernel_eval::KernelEvaluator;
use crate::{PassManager, Pipeline};
use tessera_ir::bindings::Bindings;
use tessera_ir::dialect::kernel::{self, KernelOp};
use tessera_ir::parse::parse_module;
use tessera_ir::print::print_func;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Func, Type};

/// Parses, verifies and runs `pipeline` on `src`.
fn run_pipeline(src: &str, pipeline: &str) -> (VerifiedModule, VerifiedModule) {
    let render = |d: tessera_ir::Diags| d.render(&Default::default());
    let m = VerifiedModule::new(parse_module(src, "test.tir").unwrap_or_else(|d| panic!("{}", render(d))))
        .unwrap_or_else(|d| panic!("{}", render(d)));
    let pm = PassManager::new(Pipeline::parse(pipeline).unwrap()).verify_each(true);
    let k = pm.run(m.module().clone()).unwrap_or_else(|d| panic!("{}", render(d)));
    (m, k)
}

/// A tensor of `shape` holding `0.25 * (i mod 9) - 1` at flat position `i`.
fn ramp(shape: &[usize]) -> Tensor {
    let n = shape.iter().product::<usize>();
    Tensor::from_f64(DType::F32, shape.to_vec(), (0..n).map(|i| 0.25 * (i % 9) as f64 - 1.0).collect()).unwrap()
}

/// The bytes of `func`'s top-level `k.alloc`s with the symbols bound by `inputs`.
fn allocated(func: &Func, inputs: &[Tensor]) -> Vec<usize> {
    let types: Vec<_> = func.arg_types().into_iter().filter_map(|t| match t { Type::Buffer(b) => Some(b), _ => None }).collect();
    let bindings = Bindings::from_inputs(&types[..inputs.len()], inputs, |i| i.to_string()).unwrap();
    func.block(func.entry())
        .ops
        .iter()
        .filter(|&&op| kernel::kind(func.op(op).def) == Some(KernelOp::Alloc))
        .map(|&op| match func.ty(func.op(op).results[0]) {
            Type::Buffer(t) => t.dims.iter().map(|d| bindings.size(d).unwrap()).product::<usize>() * t.dtype.size_bytes(),
            _ => 0,
        })
        .collect()
}

#[test]
fn planned_functions_keep_their_temporaries_in_one_smaller_arena() {
    // That they compute the same: `differential::cases::control`.
    let (_, unplanned) = run_pipeline(MLP, "lower-to-kernel");
    let (_, planned) = run_pipeline(MLP, "lower-to-kernel,plan-memory");
    let func = planned.module().func("mlp").unwrap();
    for n in [1, 5] {
        let inputs = vec![ramp(&[n, 16]), ramp(&[16, 32]), ramp(&[32, 8])];
        let before: usize = allocated(unplanned.module().func("mlp").unwrap(), &inputs).iter().sum();
        let after = allocated(func, &inputs);
        assert_eq!(after.len(), 1, "one arena\n{}", print_func(func));
        assert!(after[0] < before, "N = {n}: an arena of {} bytes for {before} bytes of temporaries", after[0]);
    }
}

#[test]
fn planning_twice_changes_nothing() {
    let (_, once) = run_pipeline(MLP, "lower-to-kernel,plan-memory");
    let (_, twice) = run_pipeline(MLP, "lower-to-kernel,plan-memory,plan-memory");
    let printed = |m: &VerifiedModule| print_func(m.module().func("mlp").unwrap());
    assert_eq!(printed(&once), printed(&twice));
}

#[test]
fn the_interpreter_refuses_a_read_through_an_overwritten_view() {
    // Two views of one arena share bytes while both are live.
    let src = "
func @clash(%x: buffer<4xf32>, %out0: buffer<4xf32>) {
  %arena = k.alloc {shape = [16], dtype = u8}
  %c0 = k.index_constant {value = 0}
  %c1 = k.index_constant {value = 1}
  %c4 = k.index_constant {value = 4}
  %a = k.view %arena, %c0 {shape = [4], dtype = f32}
  %b = k.view %arena, %c4 {shape = [2], dtype = f32}
  k.for %c0, %c4, %c1 {
  ^bb0(%i: index):
    %v = k.load %x, %i
    k.store %v, %a, %i
    tg.yield
  }
  %one = k.constant {value = dense<1.0> : tensor<f32>}
  k.store %one, %b, %c0
  k.for %c0, %c4, %c1 {
  ^bb1(%j: index):
    %w = k.load %a, %j
    k.store %w, %out0, %j
    tg.yield
  }
  tg.return
}";
    let (_, k) = run_pipeline(src, "");
    let err = KernelEvaluator::new(&k).run("clash", vec![ramp(&[4])]).expect_err("the clash ran");
    assert!(err.message.contains("whose bytes a store through another view"), "{}", err.message);
}
