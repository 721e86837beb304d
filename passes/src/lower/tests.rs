//! Tests of `lower-to-kernel`: the shared differential cases
//! ([`crate::differential::cases`]) run lowered on the kernel interpreter
//! against the reference evaluator, one test per family; what the lowering
//! makes of them (what fuses into one loop nest, what is materialised,
//! counted in kernel ops); and what it refuses.

use crate::differential::{cases, lower, verified, Family, Math, Runtime};
use crate::kernel_eval::KernelEvaluator;
use crate::testing::count_named;
use crate::{PassManager, Pipeline};
use tessera_ir::print::print_func;
use tessera_ir::tensor::{Data, Tensor};
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Diag, Func, Type};

/// The kernel interpreter as a differential runtime.
struct Interpreter;

impl Runtime for Interpreter {
    const NAME: &'static str = "kernel interpreter";
    const MATH: Math = Math::Reference;
    type Loaded<'m> = KernelEvaluator<'m>;

    fn load(lowered: &VerifiedModule) -> KernelEvaluator<'_> {
        KernelEvaluator::new(lowered)
    }

    fn run(loaded: &KernelEvaluator<'_>, func: &str, inputs: &[Tensor]) -> Result<Vec<Tensor>, Diag> {
        loaded.run(func, inputs.to_vec())
    }
}

crate::differential_tests!(Interpreter);

/// Function `func` of case `case` of `family` (built for the interpreter), lowered.
pub(super) fn lowered(family: Family, case: &str, func: &str) -> Func {
    let cases = family(Interpreter::MATH);
    let case = cases.iter().find(|c| c.name == case).unwrap_or_else(|| panic!("no case {case}"));
    lower(&verified(&case.src)).module().func(func).unwrap_or_else(|| panic!("no @{func} in {}", case.name)).clone()
}

/// The number of loop nests at the top of a kernel function.
fn top_level_nests(f: &Func) -> usize {
    f.block(f.entry()).ops.iter().filter(|&&op| f.op(op).def.name() == "k.for").count()
}

#[test]
fn each_elementwise_op_is_one_apply() {
    let cases = cases::elementwise::every_op_with_every_dtype_it_takes(Math::Reference);
    let module = lower(&verified(&cases[0].src));
    for check in &cases[0].checks {
        assert_eq!(count_named(module.module().func(&check.func).unwrap(), "k.apply"), 1, "@{}", check.func);
    }
}

#[test]
fn moved_elements_are_read_in_place() {
    use cases::layout::*;
    for k in 0..6 {
        let f = lowered(transposes_of_every_permutation, "layout/transposes", &format!("t{k}"));
        assert_eq!(count_named(&f, "k.alloc"), 0, "t{k}: the transpose feeding neg is read in place");
    }
    let f = lowered(reshapes_flatten_split_and_squeeze, "layout/reshapes", "f");
    assert_eq!(count_named(&f, "k.alloc"), 0, "the transpose is read through the reshape");
    let f = lowered(concat_along_every_axis, "layout/concat", "f");
    assert_eq!(count_named(&f, "k.alloc"), 0, "the neg is computed while concatenating");
    let f = lowered(shapes_of_static_symbolic_and_fused_values, "layout/shape_of", "f");
    assert_eq!(count_named(&f, "k.apply"), 0, "no element is computed");
    let f = lowered(cases::casts::iotas_of_every_dtype, "casts/fused_iotas", "f");
    assert_eq!((count_named(&f, "k.alloc"), count_named(&f, "k.index_cast")), (0, 4), "iotas fuse into their readers");
}

#[test]
fn broadcasting_chains_are_one_loop_nest() {
    let cases = cases::fusion::binary_ops_broadcast_in_every_position(Math::Reference);
    let module = lower(&verified(&cases[0].src));
    for check in &cases[0].checks {
        let f = module.module().func(&check.func).unwrap();
        assert_eq!((count_named(f, "k.alloc"), top_level_nests(f)), (0, 1), "@{} fuses into one nest", check.func);
    }
    let f = lowered(cases::fusion::symbolic_batches_bind_from_the_arguments, "fusion/symbolic_batch", "mlp_tail");
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
fn values_are_computed_once_and_only_when_used() {
    let temporaries = |func: &str| lowered(cases::fusion::temporaries_are_computed_once, "fusion/temporaries", func);
    let f = temporaries("twice");
    assert_eq!(count_named(&f, "k.alloc"), 1, "exp is computed once into a temporary");
    assert_eq!((count_named(&f, "k.apply"), top_level_nests(&f)), (3, 2));
    let f = temporaries("unused");
    assert_eq!((top_level_nests(&f), count_named(&f, "k.alloc"), count_named(&f, "k.buffer_constant")), (1, 0, 0));
    assert_eq!(count_named(&f, "k.apply"), 1);
    // exp(b) is read 33 times per element by the add: computed once, into a temporary.
    assert_eq!(count_named(&temporaries("broadcast"), "k.alloc"), 1);
    // A broadcast_to only moves elements: inlined even where repeated, so
    // the neg it reads (repeated through it) is materialised.
    let g = temporaries("remap");
    assert_eq!((count_named(&g, "k.alloc"), top_level_nests(&g)), (1, 2));
    let f = lowered(cases::fusion::constants_parameters_and_returned_arguments, "fusion/constants", "f");
    assert_eq!((count_named(&f, "k.param"), count_named(&f, "k.buffer_constant")), (1, 1));
}

#[test]
fn reductions_and_dots_read_their_operands_in_place() {
    use cases::reduce::*;
    let f = lowered(reductions_fuse_their_producers, "reduce/fused", "f");
    assert_eq!((count_named(&f, "k.alloc"), top_level_nests(&f)), (0, 1));
    let f = lowered(half_precision_sums_accumulate_in_f32, "reduce/half_sums", "f");
    assert_eq!(count_named(&f, "k.cast"), 7, "each operand widened, each result narrowed: 2 + 3 + 2");
    let operands = |func: &str| lowered(dots_of_every_layout, "reduce/dot_operands", func);
    let f = operands("transposed");
    assert_eq!(count_named(&f, "k.alloc"), 0);
    assert_eq!(count_named(&f, "k.matmul"), 1, "the dot reads the transposed y through strides");
    assert_eq!(top_level_nests(&f), 1);
    let f = operands("strided");
    assert_eq!((count_named(&f, "k.matmul"), count_named(&f, "k.alloc")), (3, 2));
    assert_eq!(count_named(&operands("computed"), "k.alloc"), 1, "exp(a) is computed once");
}

#[test]
fn unknown_dims_are_errors_naming_them() {
    let src = "func @f(%x: tensor<3x4xf32>, %n: tensor<2x?xf32>) -> tensor<3x4xf32> {
  %r = tg.reshape %x {shape = [?]}
  tg.return %x
}";
    let m = verified(src);
    let err = PassManager::new(Pipeline::parse("lower-to-kernel").unwrap()).run(m.into_inner()).unwrap_err();
    let messages: Vec<&str> = err.0.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(messages[0], "pass 'lower-to-kernel' failed:");
    assert!(messages[1].starts_with("@f: signature type #1 tensor<2x?xf32> has a '?' dim"), "{messages:?}");
    assert!(messages[2].starts_with("'tg.reshape' op: its result tensor<?xf32> has a '?' dim"), "{messages:?}");
    assert_eq!(messages.len(), 3);
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
