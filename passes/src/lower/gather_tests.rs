//! The gathers' and scatters' lowering beyond the shared differential
//! cases ([`crate::differential::cases::gather`]): what is fused, and
//! indices out of range as errors naming the op.

use super::tests::lowered;
use crate::differential::cases::gather::{gathers_along_any_axis_of_elements_and_tuples, OUT_OF_RANGE};
use crate::differential::{lower, verified};
use crate::kernel_eval::KernelEvaluator;
use crate::testing::count_named;
use crate::Evaluator;
use tessera_ir::tensor::Tensor;
use tessera_ir::DType;

#[test]
fn gathers_fuse_all_but_reused_indices() {
    let gathers = |func: &str| lowered(gathers_along_any_axis_of_elements_and_tuples, "gather/gathers", func);
    let fused = gathers("fused");
    assert_eq!(count_named(&fused, "k.alloc"), 1, "the indices are materialised, the transpose and gather fused");
    let elements = gathers("elements");
    assert_eq!(count_named(&elements, "k.alloc"), 0, "gather_elements reads each index once: the rem is fused");
}

#[test]
fn indices_out_of_range_are_errors_at_the_op() {
    let m = verified(OUT_OF_RANGE);
    let lowered = lower(&m);
    let x = Tensor::from_f64(DType::F32, vec![2, 3], vec![1.0; 6]).unwrap();
    let run = |name: &str, inputs: Vec<Tensor>| {
        let expected = Evaluator::new(&m).run(name, inputs.clone()).unwrap_err().message;
        let actual = KernelEvaluator::new(&lowered).run(name, inputs).unwrap_err().message;
        (expected, actual)
    };
    let (expected, actual) = run("g", vec![x.clone(), Tensor::from_i64s(&[1, -4])]);
    assert!(expected.contains("index -4 is out of range for axis 1 of size 3"), "{expected}");
    assert_eq!(actual, "'k.to_index' op: index -4 is out of range for axis 1 of size 3");
    let u = Tensor::from_f64(DType::F32, vec![1, 3], vec![5.0; 3]).unwrap();
    let at = |i: i64| Tensor::from_i64s(&[i]).reshaped(vec![1, 1]).unwrap();
    let (expected, actual) = run("s", vec![x, at(2), u.clone()]);
    assert!(expected.contains("index 2 is out of range for axis 0 of size 2"), "{expected}");
    assert_eq!(actual, "'k.to_index' op: index 2 is out of range for axis 0 of size 2");
    // An empty axis has no position to read: the index is reported, nothing is read.
    let empty = Tensor::from_f64(DType::F32, vec![0, 3], Vec::new()).unwrap();
    let (_, actual) = run("s", vec![empty, at(0), u]);
    assert_eq!(actual, "'k.to_index' op: index 0 is out of range for axis 0 of size 0");
}
