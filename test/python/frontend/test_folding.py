"""Constant folding (a node whose inputs are all known at compile time is evaluated by the
importer) follows ONNX's rules, checked against onnxruntime: GatherElements along long axes
and with indices smaller than the data, Expand and Where broadcasting, Pad with negative pads,
and BERT's defaulted ``token_type_ids`` as both torch.onnx exporters spell it."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from models import FLOAT, make_model
from onnx import TensorProto, helper
from operator_models import bert_token_types

from quartet import QuartetError
from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs

pytest.importorskip("onnxruntime", reason="folding is checked against onnxruntime")

node = helper.make_node


def folded_plus_input(nodes, constants, folded: str, shape, opset: int = 17) -> onnx.ModelProto:
    """y = x + ``folded`` (computed by ``nodes`` from ``constants`` alone), x a graph input:
    the folded value reaches a kernel, and the model has something to run."""
    nodes = [*nodes, node("Cast", [folded], ["folded_f"], to=TensorProto.FLOAT)]
    nodes.append(node("Add", ["x", "folded_f"], ["y"]))
    return make_model(nodes, [("x", FLOAT, shape)], [("y", FLOAT, shape)], constants, opset)


def assert_matches_onnxruntime(model: onnx.ModelProto, folded_ops: set[str]) -> None:
    compiled = compile_model(model, target="cpu", cache=False)
    assert not folded_ops & set(compiled.graph.op_counts), compiled.graph.op_counts
    feeds = compiled.random_inputs(seed=0)
    engine, expected = reference_outputs(model, feeds, compiled.outputs)
    assert engine == "onnxruntime"
    np.testing.assert_array_equal(compiled.run(feeds)["y"], expected["y"])


GATHER_CASES = {
    # (data shape, indices, axis): the output has the indices' shape
    "a 64-long axis, 16 positions": ((1, 64), np.arange(16).reshape(1, 16), 1),
    "a 200-long axis, negative indices": ((2, 200), np.array([[199, -200, 3], [-1, 0, 77]]), 1),
    "indices smaller in the other dims": ((5, 70, 3), np.array([[[69, -3]], [[0, 1]]]), 1),
    "axis 0, negative axis": ((100, 4), np.array([[99, 0, -100, 50]]), -2),
    "the last axis of three": ((2, 3, 90), np.array([[[89], [-90], [45]]]), 2),
}


@pytest.mark.parametrize("case", sorted(GATHER_CASES))
def test_gather_elements_folds_as_onnxruntime_computes_it(case):
    data_shape, indices, axis = GATHER_CASES[case]
    data = np.random.default_rng(1).integers(-50, 50, data_shape).astype(np.int64)
    constants = [("data", data), ("indices", indices.astype(np.int64))]
    gather = node("GatherElements", ["data", "indices"], ["gathered"], axis=axis)
    model = folded_plus_input([gather], constants, "gathered", list(indices.shape))
    assert_matches_onnxruntime(model, {"GatherElements"})


@pytest.mark.parametrize(
    ("indices", "fragment"),
    [
        (np.array([[3, 64]]), "index 64 is out of range for axis 1 of size 64"),
        (np.array([[-65, 0]]), "index -65 is out of range for axis 1 of size 64"),
        (np.zeros((2, 3), np.int64), "the indices' dimension 0 is 2, larger than the data's 1"),
    ],
)
def test_gather_elements_with_bad_indices_names_the_node(indices, fragment):
    constants = [("data", np.arange(64).reshape(1, 64)), ("indices", indices.astype(np.int64))]
    gather = node("GatherElements", ["data", "indices"], ["gathered"], axis=1, name="gather")
    model = folded_plus_input([gather], constants, "gathered", list(indices.shape))
    with pytest.raises(QuartetError, match=f"node 'gather' \\(GatherElements\\).*{fragment}"):
        compile_model(model, target="cpu", cache=False)


def test_expand_and_where_broadcast_as_onnx_does():
    """Expand's shape may be shorter than the data's rank or hold 1 where the data does not;
    Where broadcasts its three operands together."""
    constants = [
        ("column", np.arange(3, dtype=np.int64).reshape(3, 1)),
        ("shape", np.array([2, 1, 4], np.int64)),
        ("row", np.arange(12, dtype=np.int64).reshape(1, 3, 4) * 10),
        ("short", np.array([1, 4], np.int64)),
        ("condition", np.array([[[True], [False], [True]]])),
        ("minus", np.int64(-1)),
    ]
    nodes = [
        node("Expand", ["column", "shape"], ["wide"]),  # (3,1) by [2,1,4] -> (2,3,4)
        node("Expand", ["row", "short"], ["same"]),  # (1,3,4) by [1,4] -> (1,3,4)
        node("Where", ["condition", "wide", "minus"], ["picked"]),  # (1,3,1) (2,3,4) ()
        node("Add", ["picked", "same"], ["folded"]),
    ]
    model = folded_plus_input(nodes, constants, "folded", [2, 3, 4])
    assert_matches_onnxruntime(model, {"Expand", "Where"})


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "wrap"])
def test_pad_with_negative_pads_folds_as_onnxruntime_computes_it(mode):
    """A negative count removes elements (np.pad, which onnx.reference calls, refuses it);
    cropped before padding, as onnxruntime does. ``axes`` names the padded axes."""
    constants = [
        ("data", np.arange(60, dtype=np.int64).reshape(3, 4, 5)),
        ("pads", np.array([-1, 1, 1, -1], np.int64)),  # axis 2: -1 and 1; axis 0: 1 and -1
        ("value", np.int64(-7)),
        ("axes", np.array([2, 0], np.int64)),
    ]
    padding = node("Pad", ["data", "pads", "value", "axes"], ["padded"], mode=mode)
    model = folded_plus_input([padding], constants, "padded", [3, 4, 5], opset=19)
    assert_matches_onnxruntime(model, {"Pad"})


def bert_embedding(spelling: str, seq: int = 16, max_positions: int = 64, dim: int = 8):
    """y = x + the embedding of BERT's default token types (:func:`bert_token_types`)."""
    nodes, constants = bert_token_types(spelling, seq, max_positions)
    types = np.random.default_rng(2).normal(size=(2, dim)).astype(np.float32)
    nodes += [
        node("Gather", ["token_type_embeddings", "token_types"], ["type_embedding"]),
        node("Add", ["x", "type_embedding"], ["y"]),
    ]
    constants.append(("token_type_embeddings", types))
    shape = [1, seq, dim]
    return make_model(nodes, [("x", FLOAT, shape)], [("y", FLOAT, shape)], constants, opset=17)


@pytest.mark.parametrize("spelling", ["dynamo", "torchscript"])
def test_bert_token_type_ids_from_the_buffer_fold(spelling):
    assert_matches_onnxruntime(bert_embedding(spelling), {"GatherElements", "Expand", "Gather"})
