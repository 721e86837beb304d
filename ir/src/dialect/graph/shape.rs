//! Placeholder until the ops of this family are declared.

use crate::op::OpRef;

/// Every op declared in this file.
pub static OPS: &[OpRef] = &[];
