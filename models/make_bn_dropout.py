"""Writes bn_dropout.onnx: a small CNN with BatchNormalization and Dropout
(symbolic batch `N`, seeded random weights), the graph PyTorch exports for
Conv-BatchNorm2d-Relu, Flatten, Dropout(0.25) in training mode (a constant
ratio, no mask output), Gemm, written with onnx.helper so it needs no
framework. `tessera train` trains it in training mode (batch statistics,
random masks); inference uses the running statistics and no dropout.

Usage: .venv/bin/python models/make_bn_dropout.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(1)
here = os.path.dirname(os.path.abspath(__file__))


def array(name, values):
    return numpy_helper.from_array(np.asarray(values, np.float32), name)


inits = [
    array("conv.weight", rng.uniform(-1 / 3, 1 / 3, (4, 1, 3, 3))),
    array("conv.bias", np.zeros(4)),
    array("bn.weight", np.ones(4)),
    array("bn.bias", np.zeros(4)),
    array("bn.running_mean", np.zeros(4)),
    array("bn.running_var", np.ones(4)),
    array("fc.weight", rng.uniform(-1 / 16, 1 / 16, (3, 256))),
    array("fc.bias", np.zeros(3)),
]
ratio = helper.make_tensor("ratio_value", TensorProto.FLOAT, [], [0.25])
nodes = [
    helper.make_node("Conv", ["input", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node(
        "BatchNormalization",
        ["c", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var"],
        ["b"],
        name="/bn/BatchNormalization",
        epsilon=1e-5,
        momentum=0.9,
    ),
    helper.make_node("Relu", ["b"], ["r"], name="/relu/Relu"),
    helper.make_node("Flatten", ["r"], ["flat"], name="/Flatten", axis=1),
    helper.make_node("Constant", [], ["ratio"], name="/dropout/Constant", value=ratio),
    helper.make_node("Dropout", ["flat", "ratio"], ["d"], name="/dropout/Dropout"),
    helper.make_node("Gemm", ["d", "fc.weight", "fc.bias"], ["logits"], name="/fc/Gemm", transB=1),
]
graph = helper.make_graph(
    nodes,
    "bn_dropout",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 8, 8])],
    [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 3])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 15)], producer_name="tessera/models/make_bn_dropout.py")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
onnx.save(model, os.path.join(here, "bn_dropout.onnx"))
