#!/usr/bin/env python3
"""Writes the ONNX backend node tests and the nine `light_*` models to disk.

The `onnx` wheel ships the node-test *generators*, not their data. This script
runs them (`onnx.backend.test.case.node.collect_testcases(None)`, after
`np.random.seed(0)` so the data is reproducible) and writes every case the way
ONNX's own `backend-test-tools generate-data` does:

    <out>/<case>/model.onnx
    <out>/<case>/test_data_set_0/input_<i>.pb    TensorProto, or SequenceProto /
    <out>/<case>/test_data_set_0/output_<i>.pb   OptionalProto / MapProto when the
                                                 graph input/output has that type

It also copies the light model-zoo architectures shipped in
`onnx/backend/test/data/light/` to `<out>/light/<model>/` with the same layout.
Their input is made as ONNX's runner makes it (`arange(n).reshape(shape) / n`
as float32, symbolic dims taken as 1); their expected output is the one the
wheel ships. A graph input that is also an initializer (IR version < 4) gets no
input file, so `input_<i>` is the i-th graph input that is not an initializer.

Cases that cannot be written are listed in `<out>/skipped.txt` with a reason;
`<out>/cases.txt` lists the written node cases, `<out>/light/models.txt` the
light models. `<out>/DONE` records the onnx and numpy versions and a hash of
this script; when it matches, the script exits at once. The output is built in
`<out>.partial` and renamed into place, so an interrupted run leaves no
half-written tree behind.

Usage: generate_node_tests.py [OUT]   (default: target/onnx-tests)
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time
import warnings


def stamp() -> str:
    """What DONE holds: the versions that shape the data and this script's hash."""
    from importlib.metadata import version

    with open(__file__, "rb") as f:
        script = hashlib.sha256(f.read()).hexdigest()[:16]
    return f"onnx={version('onnx')} numpy={version('numpy')} generator={script}\n"


def value_bytes(value, type_proto, name: str) -> bytes:
    """Serialises one input or output the way ONNX's own data generator does."""
    from onnx import TensorProto, numpy_helper

    if type_proto.HasField("map_type"):
        return numpy_helper.from_dict(value, name).SerializeToString()
    if type_proto.HasField("sequence_type"):
        return numpy_helper.from_list(value, name).SerializeToString()
    if type_proto.HasField("optional_type"):
        return numpy_helper.from_optional(value, name).SerializeToString()
    if isinstance(value, TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(value, name).SerializeToString()


def write_case(case, case_dir: str) -> None:
    model = case.model
    os.makedirs(case_dir)
    with open(os.path.join(case_dir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())
    for k, (inputs, outputs) in enumerate(case.data_sets):
        data_dir = os.path.join(case_dir, f"test_data_set_{k}")
        os.makedirs(data_dir)
        for prefix, values, infos in (
            ("input", inputs, model.graph.input),
            ("output", outputs, model.graph.output),
        ):
            if len(values) > len(infos):
                raise ValueError(f"{len(values)} {prefix}s given for {len(infos)} graph {prefix}s")
            for i, value in enumerate(values):
                data = value_bytes(value, infos[i].type, infos[i].name)
                with open(os.path.join(data_dir, f"{prefix}_{i}.pb"), "wb") as f:
                    f.write(data)


def write_light(light_src: str, out: str) -> list[str]:
    import numpy as np
    import onnx
    from onnx import numpy_helper

    written = []
    for file in sorted(os.listdir(light_src)):
        if not (file.startswith("light_") and file.endswith(".onnx")):
            continue
        stem = file[: -len(".onnx")]
        name = stem[len("light_") :]
        model_dir = os.path.join(out, name)
        data_dir = os.path.join(model_dir, "test_data_set_0")
        os.makedirs(data_dir)
        shutil.copyfile(os.path.join(light_src, file), os.path.join(model_dir, "model.onnx"))
        model = onnx.load(os.path.join(light_src, file))
        inits = {t.name for t in model.graph.initializer}
        n_input = 0
        for vi in model.graph.input:
            if vi.name in inits:
                continue
            shape = tuple(
                d.dim_value if d.HasField("dim_value") else 1 for d in vi.type.tensor_type.shape.dim
            )
            n = int(np.prod(shape))
            value = (np.arange(n).reshape(shape) / n).astype(np.float32)
            with open(os.path.join(data_dir, f"input_{n_input}.pb"), "wb") as f:
                f.write(numpy_helper.from_array(value, vi.name).SerializeToString())
            n_input += 1
        for i in range(len(model.graph.output)):
            expected = os.path.join(light_src, f"{stem}_output_{i}.pb")
            if not os.path.exists(expected):
                raise FileNotFoundError(f"{stem}: no expected output {i} in the onnx wheel")
            shutil.copyfile(expected, os.path.join(data_dir, f"output_{i}.pb"))
        written.append(name)
    return written


def main() -> int:
    out = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join("target", "onnx-tests"))
    done = os.path.join(out, "DONE")
    want = stamp()
    if os.path.exists(done):
        with open(done) as f:
            if f.read() == want:
                print(f"onnx node tests: up to date in {out}")
                return 0

    import numpy as np
    import onnx
    from onnx.backend.test.case.node import collect_testcases

    start = time.time()
    partial = out + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(partial)

    np.random.seed(0)
    with warnings.catch_warnings():
        # The generators compute expected values with numpy and knowingly
        # overflow (Cast) or divide by zero (ReduceLogSum); keep the log clean.
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    written, skipped = [], []
    seen = set()
    for case in cases:
        if case.name in seen:
            skipped.append((case.name, "duplicate case name"))
            continue
        seen.add(case.name)
        case_dir = os.path.join(partial, case.name)
        try:
            write_case(case, case_dir)
            written.append(case.name)
        except Exception as e:  # noqa: BLE001 - each failure is recorded with its reason
            shutil.rmtree(case_dir, ignore_errors=True)
            reason = " ".join(f"{type(e).__name__}: {e}".split())
            skipped.append((case.name, reason[:300]))

    light_src = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
    light = write_light(light_src, os.path.join(partial, "light"))

    with open(os.path.join(partial, "cases.txt"), "w") as f:
        f.writelines(f"{name}\n" for name in sorted(written))
    with open(os.path.join(partial, "skipped.txt"), "w") as f:
        f.writelines(f"{name}\t{reason}\n" for name, reason in skipped)
    with open(os.path.join(partial, "light", "models.txt"), "w") as f:
        f.writelines(f"{name}\n" for name in light)
    with open(os.path.join(partial, "DONE"), "w") as f:
        f.write(want)

    shutil.rmtree(out, ignore_errors=True)
    os.rename(partial, out)
    print(
        f"onnx node tests: {len(cases)} cases, {len(written)} written, {len(skipped)} skipped, "
        f"{len(light)} light models -> {out} ({time.time() - start:.1f}s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
