"""Deterministic mutants of the seed models: structural (bytes and graph surgery, mostly
invalid) and valid (attributes, axes, dtypes, dims changed where onnx.checker and strict shape
inference still accept the model).

Mutant ``i`` is a pure function of ``i``: its seed model is ``SEEDS[i % 4]``, its kind
alternates every four, and its random choices come from ``random.Random(i)``, so a sample
(CI) and the full set (``QUARTET_FUZZ=full``) name and build the same mutants.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
from onnx import AttributeProto, TensorProto, helper, numpy_helper, shape_inference
from seeds import SEEDS

SEED_NAMES = sorted(SEEDS)
VALID_ATTEMPTS = 24  # mutations tried until one passes the checker and shape inference


@dataclass(frozen=True)
class Mutant:
    index: int
    seed: str
    kind: str  # "structural" or "valid"
    what: str  # the mutations applied, for the failure report
    data: bytes

    @property
    def name(self) -> str:
        return f"{self.index:03d}-{self.seed}-{self.kind}-{self.what}"


def mutant(index: int) -> Mutant:
    rng = random.Random(index)
    seed = SEED_NAMES[index % len(SEED_NAMES)]
    model = SEEDS[seed]()
    if (index // len(SEED_NAMES)) % 2 == 0:
        what, data = _structural(model, rng)
        return Mutant(index, seed, "structural", what, data)
    what, valid = _valid(model, rng)
    return Mutant(index, seed, "valid", what, valid.SerializeToString())


# -- structural ------------------------------------------------------------------------------


def _structural(model: onnx.ModelProto, rng: random.Random) -> tuple[str, bytes]:
    name, mutate = rng.choice(list(_STRUCTURAL.items()))
    return name, mutate(model, rng)


def _flip_bytes(model, rng) -> bytes:
    data = bytearray(model.SerializeToString())
    for _ in range(rng.randint(1, 8)):
        data[rng.randrange(len(data))] ^= rng.randint(1, 255)
    return bytes(data)


def _truncate(model, rng) -> bytes:
    data = model.SerializeToString()
    return data[: rng.randrange(len(data))]


def _splice(model, rng) -> bytes:
    other = SEEDS[rng.choice(SEED_NAMES)]().SerializeToString()
    data = model.SerializeToString()
    return data[: rng.randrange(len(data))] + other[rng.randrange(len(other)) :]


def _graph_surgery(edit: Callable[[onnx.GraphProto, random.Random], None]):
    def mutate(model, rng) -> bytes:
        model = copy.deepcopy(model)
        graph = _some_graph(model.graph, rng)
        edit(graph, rng)
        return model.SerializeToString()

    return mutate


def _some_graph(graph: onnx.GraphProto, rng: random.Random) -> onnx.GraphProto:
    """The main graph, or (one time in three) a subgraph of it when there is one."""
    subgraphs = [a.g for node in graph.node for a in node.attribute if a.type == a.GRAPH]
    return rng.choice(subgraphs) if subgraphs and rng.random() < 1 / 3 else graph


def _drop_node(graph, rng) -> None:
    del graph.node[rng.randrange(len(graph.node))]


def _duplicate_node(graph, rng) -> None:
    index = rng.randrange(len(graph.node))
    twin = copy.deepcopy(graph.node[index])
    if rng.random() < 0.5:  # dangling outputs under new names, else the same names twice
        twin.output[:] = [f"{name}_twin" for name in twin.output]
    graph.node.insert(index + 1, twin)


def _rewire(graph, rng) -> None:
    names = [value.name for value in graph.input] + [init.name for init in graph.initializer]
    names += [output for node in graph.node for output in node.output]
    names.append("no_such_value")
    node = rng.choice([node for node in graph.node if node.input] or list(graph.node))
    if node.input:
        node.input[rng.randrange(len(node.input))] = rng.choice(names)
    else:
        node.input.append(rng.choice(names))


def _wrong_attribute(graph, rng) -> None:
    node = rng.choice(list(graph.node))
    replacements = [
        helper.make_attribute("axis", 1.5),
        helper.make_attribute("strides", "two"),
        helper.make_attribute("kernel_shape", [0, -3]),
        helper.make_attribute("pads", [1, 2, 3]),
        helper.make_attribute("perm", [0, 0, 7]),
        helper.make_attribute("alpha", [1.0, 2.0]),
        helper.make_attribute("keepdims", 7),
        helper.make_attribute("epsilon", -1.0),
        helper.make_attribute("transB", "yes"),
        helper.make_attribute("then_branch", 3),
        helper.make_attribute("axes", [99]),
    ]
    for attribute in node.attribute:
        if rng.random() < 0.5:  # retype an existing attribute
            replacement = rng.choice(replacements)
            attribute.CopyFrom(replacement)
            attribute.name = attribute.name if rng.random() < 0.3 else node.attribute[0].name
            return
    node.attribute.append(rng.choice(replacements))


def _bad_element_type(graph, rng) -> None:
    values = [*graph.input, *graph.output]
    if not values:
        return
    kinds = [
        TensorProto.STRING,
        TensorProto.COMPLEX64,
        TensorProto.UINT8,
        TensorProto.BFLOAT16,
        TensorProto.FLOAT8E4M3FN,
        TensorProto.INT4,
        TensorProto.UNDEFINED,
    ]
    rng.choice(values).type.tensor_type.elem_type = rng.choice(kinds)


def _bad_dims(graph, rng) -> None:
    values = [v for v in graph.input if v.type.tensor_type.shape.dim] or list(graph.output)
    if not values:
        return
    dims = rng.choice(values).type.tensor_type.shape.dim
    dim = dims[rng.randrange(len(dims))]
    choice = rng.choice(["zero", "negative", "huge", "symbolic"])
    if choice == "symbolic":
        dim.dim_param = "batch"
    else:
        dim.dim_value = {"zero": 0, "negative": -2, "huge": 1 << 40}[choice]


def _opset(model, rng) -> bytes:
    model = copy.deepcopy(model)
    model.opset_import[0].version = rng.choice([1, 6, 9, 11, 12, 13, 17, 21, 28, 30, 99])
    return model.SerializeToString()


_STRUCTURAL = {
    "flip-bytes": _flip_bytes,
    "truncate": _truncate,
    "splice": _splice,
    "drop-node": _graph_surgery(_drop_node),
    "duplicate-node": _graph_surgery(_duplicate_node),
    "rewire": _graph_surgery(_rewire),
    "wrong-attribute": _graph_surgery(_wrong_attribute),
    "bad-element-type": _graph_surgery(_bad_element_type),
    "bad-dims": _graph_surgery(_bad_dims),
    "opset": _opset,
}


# -- valid -----------------------------------------------------------------------------------


def _valid(seed: onnx.ModelProto, rng: random.Random) -> tuple[str, onnx.ModelProto]:
    """One or two mutations the checker and strict shape inference accept (else the seed)."""
    for _ in range(VALID_ATTEMPTS):
        model = copy.deepcopy(seed)
        applied = [mutate(model, rng) for mutate in rng.sample(_VALID, rng.choice([1, 1, 2]))]
        if all(applied) and _accepted(model):
            return "+".join(applied), model
    return "seed", seed


def _accepted(model: onnx.ModelProto) -> bool:
    """Whether shape inference types the mutant (its output shapes re-derived, written back)
    with static output shapes and the checker then accepts it."""
    _forget_shapes(model.graph)
    try:
        inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
        _copy_output_types(inferred.graph, model.graph)
        onnx.checker.check_model(model)
    except Exception:  # noqa: BLE001 - checker and inference raise several types
        return False
    return all(_static(output) for output in model.graph.output)


def _copy_output_types(source: onnx.GraphProto, target: onnx.GraphProto) -> None:
    for inferred, output in zip(source.output, target.output, strict=True):
        output.type.CopyFrom(inferred.type)
    for node, twin in zip(source.node, target.node, strict=True):
        for attribute, original in zip(node.attribute, twin.attribute, strict=True):
            if attribute.type == AttributeProto.GRAPH:
                _copy_output_types(attribute.g, original.g)


def _static(value: onnx.ValueInfoProto) -> bool:
    tensor = value.type.tensor_type
    return tensor.HasField("shape") and all(d.HasField("dim_value") for d in tensor.shape.dim)


def _forget_shapes(graph: onnx.GraphProto) -> None:
    """Drop the output and intermediate shapes (inference recomputes them for the mutant)."""
    del graph.value_info[:]
    for output in graph.output:
        output.type.tensor_type.ClearField("shape")
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == AttributeProto.GRAPH:
                _forget_shapes(attribute.g)


def _nodes(model: onnx.ModelProto, op_types: set[str]) -> list[onnx.NodeProto]:
    return [node for node in model.graph.node if node.op_type in op_types]


def _set(node: onnx.NodeProto, name: str, value) -> None:
    for index, attribute in enumerate(node.attribute):
        if attribute.name == name:
            del node.attribute[index]
            break
    node.attribute.append(helper.make_attribute(name, value))


def _window(model, rng) -> str | None:
    nodes = _nodes(model, {"Conv", "MaxPool"})
    if not nodes:
        return None
    node = rng.choice(nodes)
    name = rng.choice(["strides", "pads", "dilations", "kernel_shape", "ceil_mode"])
    if name == "ceil_mode":
        if node.op_type != "MaxPool":
            return None
        _set(node, name, 1)
    elif name == "pads":
        _set(node, name, [rng.randint(0, 2) for _ in range(4)])
    elif name == "kernel_shape":
        if node.op_type != "MaxPool":
            return None
        _set(node, name, [rng.randint(1, 3), rng.randint(1, 3)])
    else:
        _set(node, name, [rng.randint(1, 3), rng.randint(1, 3)])
    return f"{node.op_type}.{name}"


def _axis(model, rng) -> str | None:
    nodes = _nodes(model, {"Softmax", "LayerNormalization", "ReduceMean", "Transpose", "Gemm"})
    if not nodes:
        return None
    node = rng.choice(nodes)
    if node.op_type == "Transpose":
        _set(node, "perm", rng.choice([[0, 2, 1], [1, 0, 2], [2, 1, 0], [0, 1, 2]]))
        return "Transpose.perm"
    if node.op_type == "ReduceMean":
        _set(node, "keepdims", 1)
        return "ReduceMean.keepdims"
    if node.op_type == "Gemm":
        _set(node, rng.choice(["alpha", "beta"]), rng.choice([0.0, 2.0, -1.0]))
        return "Gemm.scale"
    _set(node, "axis", rng.choice([-3, -2, -1, 0, 1, 2]))
    return f"{node.op_type}.axis"


def _dtype(model, rng) -> str:
    target = rng.choice([TensorProto.FLOAT16, TensorProto.DOUBLE])
    dtype = helper.tensor_dtype_to_np_dtype(target)
    _retype(model.graph, target, dtype)
    return f"dtype-{np.dtype(dtype).name}"


def _retype(graph: onnx.GraphProto, target: int, dtype) -> None:
    for value in [*graph.input, *graph.output]:
        if value.type.tensor_type.elem_type == TensorProto.FLOAT:
            value.type.tensor_type.elem_type = target
    for index, initializer in enumerate(graph.initializer):
        if initializer.data_type == TensorProto.FLOAT:
            array = numpy_helper.to_array(initializer).astype(dtype)
            graph.initializer[index].CopyFrom(numpy_helper.from_array(array, initializer.name))
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.type == AttributeProto.GRAPH:
                _retype(attribute.g, target, dtype)


def _dims(model, rng) -> str:
    value = model.graph.input[0]
    dims = value.type.tensor_type.shape.dim
    position = rng.choice([0, len(dims) - 2]) if len(dims) > 2 else 0
    dims[position].dim_value = rng.randint(1, 9)
    return f"dims[{position}]={dims[position].dim_value}"


_VALID = [_window, _axis, _dtype, _dims]
