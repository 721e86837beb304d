//! The runtimes the cases run on (the kernel interpreter here, the JIT in
//! `tessera-codegen`), the driver that checks a family of cases on one of
//! them against the reference evaluator, and the macro that stamps one
//! `#[test]` per family for a runtime.

use super::{assert_same, lower_with, Case, Inputs, Tol};
use crate::Evaluator;
use std::panic::{catch_unwind, AssertUnwindSafe};
use tessera_ir::parse::parse_module;
use tessera_ir::print::print_func;
use tessera_ir::tensor::Tensor;
use tessera_ir::verify::VerifiedModule;
use tessera_ir::{DType, Diag};

/// How a runtime computes floats where the last bit depends on the
/// implementation: functions such as `exp`, `tanh` and `pow`, and sums
/// (dots, convolutions) in another order or with fused multiply-adds.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Math {
    /// As the reference evaluator does (its own routines in f64, rounded
    /// once; sums in its order): such results match bit for bit.
    Reference,
    /// Natively (libm, LLVM intrinsics, blocked FMA sums) in the dtype
    /// itself: a few units in the last place, and IEEE 754-2019's
    /// `max`/`min` of signed zeros where the reference's is unspecified.
    Native,
}

impl Math {
    /// Exact for [`Math::Reference`]; `native` for [`Math::Native`].
    pub fn or_exact(self, native: Tol) -> Tol {
        match self {
            Math::Reference => Tol::Exact,
            Math::Native => native,
        }
    }

    /// The tolerance of a float function's results in dtype `d`: exact for
    /// [`Math::Reference`]; a few ulps of `d` for [`Math::Native`] (`f16` and
    /// `bf16` within one of theirs, being computed in f32 and rounded).
    pub fn tol(self, d: DType) -> Tol {
        self.or_exact(match d {
            DType::F64 => Tol::Close { rtol: 1e-14, atol: 1e-300 },
            DType::F32 => Tol::Close { rtol: 4e-7, atol: 1e-7 },
            DType::F16 => Tol::Close { rtol: 1e-3, atol: 1e-7 },
            _ => Tol::Close { rtol: 8e-3, atol: 1e-7 },
        })
    }
}

/// Something that runs lowered (kernel-dialect) modules.
pub trait Runtime {
    /// Names it in failures ("kernel interpreter").
    const NAME: &'static str;
    /// How it computes float functions, which sets some cases' tolerances.
    const MATH: Math;
    /// A lowered module made ready to run.
    type Loaded<'m>;
    /// Makes `lowered` ready to run (compiles it, or wraps it), panicking
    /// with the diagnostics where it cannot.
    fn load(lowered: &VerifiedModule) -> Self::Loaded<'_>;
    /// Runs function `func` of `loaded` on `inputs`.
    fn run(loaded: &Self::Loaded<'_>, func: &str, inputs: &[Tensor]) -> Result<Vec<Tensor>, Diag>;
}

/// A family of cases, built for a runtime's [`Math`].
pub type Family = fn(Math) -> Vec<Case>;

/// Checks every case of `family` on `R` against the reference evaluator.
/// A failing case (its panic printed as it happens) does not stop the
/// others; the panic at the end names each one that failed.
pub fn check_family<R: Runtime>(family: Family) {
    let cases = family(R::MATH);
    let failed: Vec<&str> = cases
        .iter()
        .filter(|case| catch_unwind(AssertUnwindSafe(|| check_case::<R>(case))).is_err())
        .map(|case| case.name.as_str())
        .collect();
    let (n, total) = (failed.len(), cases.len());
    assert!(failed.is_empty(), "{n} of {total} cases failed on the {}: {}", R::NAME, failed.join(", "));
}

/// Lowers `case` once (with its pipeline) and checks each of its functions on `R`: the outputs
/// must match the reference evaluator's within the check's tolerance (and
/// equal the known outputs where it gives them).
fn check_case<R: Runtime>(case: &Case) {
    let graph = verified_case(case);
    let lowered = lower_with(&graph, case.pipeline);
    let loaded = R::load(&lowered);
    let reference = Evaluator::new(&graph);
    for check in &case.checks {
        let name = check.func.as_str();
        let func = graph.module().func(name).unwrap_or_else(|| panic!("{}: no @{name}", case.name));
        let printed = || print_func(lowered.module().func(name).unwrap());
        for (what, inputs) in check.inputs.runs(func) {
            let what = format!("{what} in case {}", case.name);
            let expected =
                reference.run(name, inputs.clone()).unwrap_or_else(|d| panic!("@{name} {what}: {}", d.message));
            let actual = R::run(&loaded, name, &inputs)
                .unwrap_or_else(|d| panic!("@{name} {what} on the {}: {}\n{}", R::NAME, d.message, printed()));
            assert_same(name, &what, &actual, &expected, check.tol, &printed);
            if let Inputs::Given { outputs: Some(outputs), .. } = &check.inputs {
                let got: Vec<Vec<f64>> = actual.iter().map(Tensor::to_f64s).collect();
                assert_eq!(&got, outputs, "@{name} {what}: the known outputs");
            }
        }
    }
}

/// `case`'s module parsed (under the case's name) and verified, panicking
/// with the rendered diagnostics.
fn verified_case(case: &Case) -> VerifiedModule {
    let verified = parse_module(&case.src, &case.name).and_then(VerifiedModule::new);
    verified.unwrap_or_else(|d| panic!("{}", d.render(&Default::default())))
}

/// Stamps one `#[test]` per family of [`cases`](super::cases) for the
/// runtime `$runtime` (a type implementing [`Runtime`], named from the
/// invoking module): one module per file of `cases`, one test per family,
/// named as the family is. Both runtimes invoke it, so they run the same list.
#[macro_export]
macro_rules! differential_tests {
    ($runtime:ident) => {
        $crate::differential_tests!(@stamp $runtime;
            elementwise: [every_op_with_every_dtype_it_takes, selects_and_casts_fuse_with_broadcasting];
            control: [loops_branches_and_calls, loop_bodies_with_parallel_loops, planned_temporaries_in_one_arena];
            casts: [
                casts_between_every_pair_of_dtypes,
                bitcasts_between_every_pair_of_a_size,
                iotas_of_every_dtype
            ];
            layout: [
                broadcast_to_in_every_position,
                transposes_of_every_permutation,
                reshapes_flatten_split_and_squeeze,
                slices_with_negative_and_strided_bounds,
                reverses_along_any_axes,
                concat_along_every_axis,
                pads_grow_and_crop,
                shapes_of_static_symbolic_and_fused_values
            ];
            fusion: [
                binary_ops_broadcast_in_every_position,
                fused_chains_over_odd_and_empty_shapes,
                symbolic_batches_bind_from_the_arguments,
                temporaries_are_computed_once,
                constants_parameters_and_returned_arguments,
                empty_tensors
            ];
            reduce: [
                reductions_match_in_order_and_identity,
                half_precision_sums_accumulate_in_f32,
                reductions_fuse_their_producers,
                dots_of_every_layout
            ];
            gather: [gathers_along_any_axis_of_elements_and_tuples, scatters_with_every_reduction_in_order];
            scan: [
                arg_reductions_along_every_axis_with_ties,
                running_reductions_in_every_direction,
                sorts_and_top_k_are_stable_in_either_direction
            ];
            window: [convolutions_of_every_geometry, pooling_of_every_kind_and_padding];
        );
    };
    (@stamp $runtime:ident; $($file:ident: [$($family:ident),* $(,)?];)*) => {
        $(
            mod $file {
                $(
                    #[test]
                    fn $family() {
                        use $crate::differential::{cases, check_family};
                        check_family::<super::$runtime>(cases::$file::$family);
                    }
                )*
            }
        )*
    };
}
