"""Writes mlp.tir: a 64-32-10 MLP with a symbolic batch N and seeded random
weights, in tessera's text IR. It keeps what a naive importer leaves behind
(a double negation, a parameter read twice, a zero bias-add) so that
`tessera opt --pipeline=canonicalize,cse,dce` has something to clean up.

Usage: python3 models/make_mlp.py > models/mlp.tir
"""
import random
import struct

random.seed(0)


def blob(values):
    return "0x" + b"".join(struct.pack("<f", v) for v in values).hex()


def uniform(n, bound):
    return [random.uniform(-bound, bound) for _ in range(n)]


params = [
    ("fc1.weight", (32, 64), uniform(32 * 64, 64 ** -0.5)),
    ("fc1.bias", (32,), uniform(32, 64 ** -0.5)),
    ("fc2.weight", (10, 32), uniform(10 * 32, 32 ** -0.5)),
    ("fc2.bias", (10,), uniform(10, 32 ** -0.5)),
]

print("// A 64-32-10 MLP with a symbolic batch N; made by models/make_mlp.py.")
for i, (name, shape, _) in enumerate(params):
    dims = "x".join(str(d) for d in shape)
    print(f"param @{name} = dense_resource<blob{i}> : tensor<{dims}xf32>")
print("""func @mlp(%x: tensor<N x 64 x f32>) -> tensor<N x 10 x f32> {
  %w1 = tg.param @fc1.weight
  %b1 = tg.param @fc1.bias
  %h = tg.dot %x, %w1 {lhs_contract = [1], rhs_contract = [1]}
  %h_bias = tg.add %h, %b1
  %zero = tg.constant {value = dense<0.0> : tensor<f32>}
  %relu = tg.max %h_bias, %zero
  %w2 = tg.param @fc2.weight
  %logits = tg.dot %relu, %w2 {lhs_contract = [1], rhs_contract = [1]}
  %b2 = tg.param @fc2.bias
  %b2_again = tg.param @fc2.bias
  %neg = tg.neg %b2
  %pos = tg.neg %neg
  %out = tg.add %logits, %pos
  %zero4 = tg.constant {value = dense<0.0> : tensor<10xf32>}
  %unused = tg.add %b2_again, %zero4
  tg.return %out
}""")
print("resources {")
for i, (_, _, values) in enumerate(params):
    print(f'  blob{i} = "{blob(values)}"')
print("}")
