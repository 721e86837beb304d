//! The differential cases, by family, run on every runtime by
//! [`differential_tests!`](crate::differential_tests): graph modules with
//! odd (1, 3, 7, 17, 33) or empty shapes, symbols bound to 1 and 5 (and 0
//! where empty tensors matter), and a tolerance stated per check (exact
//! wherever the lowering computes the same scalar operations in the same
//! order; f32 sums and dots round after every step where the reference
//! accumulates in f64). Each family is a [`Family`](super::Family); what
//! a runtime checks beyond these (fusion, status bits, LLVM IR) stays in
//! its own tests.

pub mod casts;
pub mod control;
pub mod elementwise;
pub mod fusion;
pub mod gather;
pub mod layout;
pub mod reduce;
pub mod scan;
mod values;
pub mod window;
