//! tessera-runtime: what generated code links against (not yet written; see README.md).
