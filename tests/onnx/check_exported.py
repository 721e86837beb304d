#!/usr/bin/env python3
"""Checks models tessera exported against ONNX Runtime.

Usage: check_exported.py FOLDER

Every subfolder of FOLDER holding a `model.onnx` and a `case.json` is one
case. `case.json` names the inputs and the expected outputs (tessera's own)
as `.npy` files beside the model, and the tolerance:

    {"inputs": [{"name": "input", "file": "input_0.npy"}],
     "outputs": [{"name": "probabilities", "file": "output_0.npy"}],
     "rtol": 1e-4, "atol": 1e-5}

For each case the model must pass `onnx.checker.check_model(full_check=True)`
(strict shape inference included; external data is read from beside the
model), load in an `onnxruntime.InferenceSession` on the CPU, and produce
every expected output within `|actual - expected| <= atol + rtol * |expected|`
(NaN matching NaN; shapes and dtypes must match exactly).

Prints one line per case and `N passed, M failed`; exits 1 when any failed.
"""

from __future__ import annotations

import json
import os
import sys


def check_case(folder: str) -> str | None:
    """Runs one case; returns None when it passes, else the reason."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    model_path = os.path.join(folder, "model.onnx")
    with open(os.path.join(folder, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    try:
        onnx.checker.check_model(model_path, full_check=True)
    except Exception as e:  # noqa: BLE001 - any checker failure is the case's failure
        return f"check_model: {type(e).__name__}: {e}"
    try:
        session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001
        return f"onnxruntime cannot load the model: {e}"
    feeds = {i["name"]: np.load(os.path.join(folder, i["file"])) for i in case["inputs"]}
    wanted = [o["name"] for o in case["outputs"]]
    try:
        actual = session.run(wanted, feeds)
    except Exception as e:  # noqa: BLE001
        return f"onnxruntime cannot run the model: {e}"
    rtol, atol = float(case["rtol"]), float(case["atol"])
    for spec, got in zip(case["outputs"], actual):
        want = np.load(os.path.join(folder, spec["file"]))
        name = spec["name"]
        if got.shape != want.shape or got.dtype != want.dtype:
            return f"output '{name}': {got.dtype}{list(got.shape)} from onnxruntime, {want.dtype}{list(want.shape)} from tessera"
        if not np.allclose(got, want, rtol=rtol, atol=atol, equal_nan=True):
            diff = np.abs(got.astype(np.float64) - want.astype(np.float64))
            return f"output '{name}': max |difference| {np.nanmax(diff):.3g} exceeds atol {atol} + rtol {rtol}"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    root = argv[1]
    cases = sorted(
        d for d in os.listdir(root)
        if os.path.isfile(os.path.join(root, d, "model.onnx")) and os.path.isfile(os.path.join(root, d, "case.json"))
    )
    failed = 0
    for name in cases:
        reason = check_case(os.path.join(root, name))
        if reason is None:
            print(f"PASS {name}")
        else:
            failed += 1
            print(f"FAIL {name}: {reason}")
    print(f"onnx runtime: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed or not cases else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
