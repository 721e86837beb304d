#!/usr/bin/env python3
"""Latency of the corpus models: tessera's generated code against ONNX Runtime.

For every model under ../shared/corpus (or the folders given), at 1 and 2
threads, runs `tessera bench` (which also times tract in its own process)
and ONNX Runtime (intra_op_num_threads = threads, inter_op 1, all graph
optimisations) on the model's recorded inputs, and prints one table of
median latencies and ratios (below 1: tessera is faster).

    bash bench/run.sh            # builds tessera in release mode, then runs this
    .venv/bin/python bench/compare.py --tessera target/release/tessera [MODEL_DIR ...]

ONNX Runtime is timed like tessera: warm-up runs, then the median of timed
runs, inputs already in memory. These machines are shared and noisy: read
ratios, not absolute times.
"""
import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort


def ort_median_ms(model: Path, feeds: dict, threads: int, warmup: int, runs: int) -> float:
    """Median latency of one ONNX Runtime session run, in milliseconds."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    for _ in range(warmup):
        session.run(None, feeds)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def tessera_bench(tessera: str, model: Path, inputs: list, threads: int, warmup: int, runs: int) -> dict:
    """`tessera bench --json` on the model's inputs."""
    args = [tessera, "bench", str(model), "--json", "--threads", str(threads), "--warmup", str(warmup), "--runs", str(runs)]
    for name, file in inputs:
        args += ["--input", f"{name}={file}"]
    out = subprocess.run(args, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip())
    return json.loads(out.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", type=Path, help="corpus model folders (default: all of ../shared/corpus)")
    parser.add_argument("--tessera", default="target/release/tessera")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    corpus = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
    dirs = args.models or sorted(p.parent for p in corpus.glob("*/meta.json"))
    if not dirs:
        print(f"no models: give model folders or put the corpus at {corpus}", file=sys.stderr)
        return 1
    header = f"{'model':<22} {'thr':>3} {'tessera ms':>11} {'ORT ms':>9} {'tessera/ORT':>11} {'tract ms':>9} {'compile ms':>10}"
    print(header)
    print("-" * len(header))
    worst = 0.0
    for d in dirs:
        meta = json.loads((d / "meta.json").read_text())
        inputs = [(i["name"], d / i["file"]) for i in meta["inputs"]]
        feeds = {name: np.load(file) for name, file in inputs}
        for threads in [int(t) for t in args.threads.split(",")]:
            try:
                ours = tessera_bench(args.tessera, d / "model.onnx", inputs, threads, args.warmup, args.runs)
            except RuntimeError as e:
                print(f"{d.name:<22} {threads:>3} tessera failed: {e}")
                continue
            theirs = ort_median_ms(d / "model.onnx", feeds, threads, args.warmup, args.runs)
            ratio = ours["median_ms"] / theirs
            worst = max(worst, ratio)
            tract = ours.get("tract") or {}
            tract_ms = f"{tract['median_ms']:.4f}" if "median_ms" in tract else "-"
            print(
                f"{d.name:<22} {threads:>3} {ours['median_ms']:>11.4f} {theirs:>9.4f} {ratio:>11.2f} {tract_ms:>9} {ours['compile_ms']:>10.1f}"
            )
    print(f"\nworst tessera/ORT ratio: {worst:.2f} (target: 1.5 or less; below 1 is faster)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
