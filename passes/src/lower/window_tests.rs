//! The window ops' lowering beyond the shared differential cases
//! ([`crate::differential::cases::window`]): what is materialised, what
//! is fused, and where half precision is widened.

use super::tests::lowered;
use crate::differential::cases::window::{convolutions_of_every_geometry, pooling_of_every_kind_and_padding};
use crate::testing::count_named;

#[test]
fn convolutions_materialise_computed_operands_and_fuse_remaps() {
    let conv = |func: &str| lowered(convolutions_of_every_geometry, "window/conv", func);
    // exp(x) is read once per tap: computed once; then the patches, and the
    // transposed weight laid out as the product's [O, C x taps] operand.
    assert_eq!(count_named(&conv("materialised"), "k.alloc"), 3);
    assert_eq!(count_named(&conv("materialised"), "k.matmul"), 1, "f32 and f64 convolutions are products");
    assert_eq!(count_named(&conv("half"), "k.cast"), 3, "each operand widened, the sum narrowed");
}

#[test]
fn average_pooling_is_a_sum_and_a_division() {
    let f = lowered(pooling_of_every_kind_and_padding, "window/pool", "average");
    assert_eq!(count_named(&f, "k.alloc"), 2, "the pooled operand and the sums are materialised");
}
