#!/usr/bin/env bash
# Builds tessera in release mode and runs the benchmarks: the corpus models
# against ONNX Runtime (bench/compare.py) at 1 and 2 threads. Needs
# `bash .ci/setup` first (the venv with onnxruntime).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin tessera
.venv/bin/python bench/compare.py --tessera target/release/tessera "$@"
