"""Writes tiny_cnn.onnx (a LeNet-style CNN with a symbolic batch `N` and
seeded random weights) and tiny_cnn_input.npy (two 1x28x28 images).

The graph is what PyTorch exports for Conv-Relu-MaxPool x2, Flatten,
Gemm-Relu, Gemm, Softmax, written with onnx.helper so it needs no
framework. Usage: .venv/bin/python models/make_tiny_cnn.py
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(0)
here = os.path.dirname(os.path.abspath(__file__))


def weight(name, *shape):
    fan_in = int(np.prod(shape[1:]))
    bound = 1.0 / np.sqrt(fan_in)
    return numpy_helper.from_array(rng.uniform(-bound, bound, shape).astype(np.float32), name)


inits = [
    weight("conv1.weight", 6, 1, 5, 5),
    numpy_helper.from_array(np.zeros(6, np.float32), "conv1.bias"),
    weight("conv2.weight", 16, 6, 5, 5),
    numpy_helper.from_array(np.zeros(16, np.float32), "conv2.bias"),
    weight("fc1.weight", 64, 256),
    numpy_helper.from_array(np.zeros(64, np.float32), "fc1.bias"),
    weight("fc2.weight", 10, 64),
    numpy_helper.from_array(np.zeros(10, np.float32), "fc2.bias"),
]
nodes = [
    helper.make_node("Conv", ["input", "conv1.weight", "conv1.bias"], ["c1"], name="/conv1/Conv", kernel_shape=[5, 5]),
    helper.make_node("Relu", ["c1"], ["r1"], name="/relu1/Relu"),
    helper.make_node("MaxPool", ["r1"], ["p1"], name="/pool1/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Conv", ["p1", "conv2.weight", "conv2.bias"], ["c2"], name="/conv2/Conv", kernel_shape=[5, 5]),
    helper.make_node("Relu", ["c2"], ["r2"], name="/relu2/Relu"),
    helper.make_node("MaxPool", ["r2"], ["p2"], name="/pool2/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
    helper.make_node("Flatten", ["p2"], ["flat"], name="/Flatten", axis=1),
    helper.make_node("Gemm", ["flat", "fc1.weight", "fc1.bias"], ["h"], name="/fc1/Gemm", transB=1),
    helper.make_node("Relu", ["h"], ["hr"], name="/relu3/Relu"),
    helper.make_node("Gemm", ["hr", "fc2.weight", "fc2.bias"], ["logits"], name="/fc2/Gemm", transB=1),
    helper.make_node("Softmax", ["logits"], ["probabilities"], name="/Softmax", axis=1),
]
graph = helper.make_graph(
    nodes,
    "tiny_cnn",
    [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
    [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
    inits,
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tessera/models/make_tiny_cnn.py")
model.ir_version = 8
onnx.checker.check_model(model, full_check=True)
onnx.save(model, os.path.join(here, "tiny_cnn.onnx"))
np.save(os.path.join(here, "tiny_cnn_input.npy"), rng.uniform(0, 1, (2, 1, 28, 28)).astype(np.float32))

from onnx.reference import ReferenceEvaluator  # noqa: E402

x = np.load(os.path.join(here, "tiny_cnn_input.npy"))
(expected,) = ReferenceEvaluator(model).run(None, {"input": x})
np.save(os.path.join(here, "tiny_cnn_expected.npy"), expected)
