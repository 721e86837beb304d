//! The pass manager and IR transformations.
