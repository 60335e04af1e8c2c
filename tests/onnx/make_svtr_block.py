#!/usr/bin/env python3
"""make_svtr_block.py - two small ONNX graphs (opset 9, as paddle2onnx writes
PP-OCRv4's recogniser) with the ops of its SVTR attention block written out,
for tests/test_onnx_paddle.c, which runs them in deepc and in ONNX Runtime:

  x (N, 6, 8) -> LayerNorm written out (ReduceMean, Sub, Pow, ReduceMean,
  Add eps, Sqrt, Div, Mul gamma, Add beta) -> MatMul + bias to q, k, v ->
  Reshape (N, 6, 3, 2, 4) -> Transpose [2, 0, 3, 1, 4] -> Slice + Squeeze of
  axis 0 -> q * scale, Transpose k [0, 1, 3, 2], MatMul, Softmax (axis 3),
  MatMul v -> Transpose [0, 2, 1, 3] -> Reshape (N, 6, 8) -> MatMul + bias,
  + x -> hard_swish written out (x + 3, Clip 0 6, * x, / 6) -> * 1.5 + 0.2

- svtr_block_fused.onnx: exactly that (deepc recognises the LayerNorm and the
  hard_swish and imports them as one layer each);
- svtr_block_general.onnx: the same computation spelled so that no pattern
  matches (Mul(d, d) for Pow(d, 2), the Clip's max 6.5 instead of 6), so
  every op goes through its own translator.

Run: /usr/bin/python3 tests/onnx/make_svtr_block.py  (writes beside itself;
needs numpy and onnx).  Weights: numpy's default_rng(22).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
T, C, HEADS, D = 6, 8, 2, 4


def build(general):
    rng = np.random.default_rng(22)
    inits = []

    def const(name, arr, dtype=np.float32):
        inits.append(numpy_helper.from_array(np.asarray(arr, dtype=dtype), name))
        return name

    nodes = []

    def node(op, ins, **attrs):
        out = f"{op.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(op, ins, [out], **attrs))
        return out

    x = "x"
    m = node("ReduceMean", [x], axes=[-1])
    d = node("Sub", [x, m])
    sq = node("Mul", [d, d]) if general else node("Pow", [d, const("two", 2.0)])
    v = node("ReduceMean", [sq], axes=[-1])
    e = node("Add", [v, const("eps", 1e-5)])
    s = node("Sqrt", [e])
    y = node("Div", [d, s])
    g = node("Mul", [y, const("gamma", rng.uniform(0.5, 1.5, C))])
    ln = node("Add", [g, const("beta", rng.uniform(-0.5, 0.5, C))])
    qkv = node("Add", [node("MatMul", [ln, const("w_qkv", rng.normal(0, 0.4, (C, 3 * C)))]),
                       const("b_qkv", rng.normal(0, 0.1, 3 * C))])
    r = node("Reshape", [qkv, const("shape5", [0, T, 3, HEADS, D], np.int64)])
    t = node("Transpose", [r], perm=[2, 0, 3, 1, 4])
    parts = []
    for i in range(3):
        sl = node("Slice", [t], axes=[0], starts=[i], ends=[i + 1])
        parts.append(node("Squeeze", [sl], axes=[0]))
    q = node("Mul", [parts[0], const("scale", D ** -0.5)])
    kt = node("Transpose", [parts[1]], perm=[0, 1, 3, 2])
    p = node("Softmax", [node("MatMul", [q, kt])], axis=3)
    o = node("Transpose", [node("MatMul", [p, parts[2]])], perm=[0, 2, 1, 3])
    o = node("Reshape", [o, const("shape3", [0, T, C], np.int64)])
    o = node("Add", [node("MatMul", [o, const("w_o", rng.normal(0, 0.4, (C, C)))]),
                     const("b_o", rng.normal(0, 0.1, C))])
    res = node("Add", [x, o])
    a = node("Add", [res, const("three", 3.0)])
    c = node("Clip", [a], min=0.0, max=6.5 if general else 6.0)
    h = node("Div", [node("Mul", [res, c]), const("six", 6.0)])
    h = node("Add", [node("Mul", [h, const("k", 1.5)]), const("o", 0.2)])
    nodes[-1].output[0] = "y"
    graph = helper.make_graph(
        nodes, "svtr_block_general" if general else "svtr_block_fused",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", T, C])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", T, C])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 9)],
                              producer_name="make_svtr_block.py")
    model.ir_version = 6
    onnx.checker.check_model(model)
    return model


for general in (False, True):
    name = "svtr_block_general.onnx" if general else "svtr_block_fused.onnx"
    onnx.save(build(general), os.path.join(HERE, name))
    print("wrote", name)
