//! tessera-codegen: kernel dialect to LLVM IR and PTX, C libraries (not yet written; see README.md).
