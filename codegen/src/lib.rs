//! tessera-codegen: placeholder while the crate builds.
