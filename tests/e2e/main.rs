//! End-to-end tests of tessera, in one binary (every test binary links the
//! whole compiler, so there is only one).
//!
//! Fixtures live in `tests/fixtures/`: `ops/` and `syntax/` (parse, verify,
//! print; the snapshot shows inferred types), `passes/` (a `// RUN:
//! --pipeline=...` first line; the snapshot is the output), `invalid/` (each
//! expected diagnostic is stated as `// expected-error@+1 {{text}}`).
//! Snapshots are reviewed like code: update them with `INSTA_UPDATE=always
//! cargo test` and read the diff.

mod binary;
mod clib;
mod cli;
mod cli_run;
mod codegen_conformance;
mod corpus;
mod fixture;
mod invalid;
mod ir_normal_form;
mod kernel;
mod memory;
mod onnx_cases;
mod onnx_conformance;
mod onnx_export;
mod ops;
mod passes;
mod roundtrip;
mod tract_check;
mod train;
mod train_c;
mod train_modes;
mod tsr;
mod tsr_models;
