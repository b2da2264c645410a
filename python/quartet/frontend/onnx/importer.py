"""The importer core: an ONNX graph -> one ``func.func`` of graph-level IR (as MLIR text).

    func.func @<graph>(<graph inputs>, <weights {quartet.weight = "<initializer>"}>)
        -> <graph outputs>

Nodes are visited in graph order. A node whose inputs are all known at compile time is folded
with ONNX's reference implementation (so shape computations, ``Constant``, ``ConstantOfShape``
and weight preprocessing never reach the IR); every other node goes to its handler in
:mod:`quartet.frontend.onnx.ops`. Compile-time values with more than 16 elements become function
arguments marked ``quartet.weight`` and are bound at run time (the IR text stays small whatever
the model's size); smaller ones become ``arith.constant`` tensors.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

from quartet.errors import QuartetError
from quartet.frontend.onnx.context import NodeContext, node_name
from quartet.frontend.onnx.ir import (
    SUPPORTED_DTYPES,
    Emitter,
    Tensor,
    Writer,
    dense_literal,
    name_location,
)
from quartet.frontend.onnx.loader import default_opset, graph_inputs, static_shape
from quartet.frontend.onnx.precision import Precision, value_types
from quartet.frontend.onnx.registry import HANDLERS, REFUSED, supported_ops

MAX_INLINE_ELEMENTS = 16  # larger compile-time values become weight arguments
_NEVER_FOLD = {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike"}


@dataclass(frozen=True)
class Spec:
    """A graph input or output: its ONNX name, shape and dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    value: np.ndarray | None = None  # an output known at compile time (not computed in IR)


@dataclass
class ImportedGraph:
    """The IR text of a model and what running it needs besides the user's inputs."""

    name: str
    text: str
    inputs: list[Spec]
    outputs: list[Spec]
    weights: list[tuple[str, np.ndarray]]  # in argument order, after the inputs
    bound_inputs: dict[str, np.ndarray] = field(default_factory=dict)
    op_counts: Counter = field(default_factory=Counter)
    control_flow: list[str] = field(default_factory=list)  # nodes that became scf loops/ifs
    cached: bool = False  # read back from the compile cache (weights memory-mapped)
    data_files: dict[str, str] = field(default_factory=dict)  # external data: path -> identity


def check_supported(graph: onnx.GraphProto) -> None:
    """One error listing every unsupported op type (with node names), subgraphs included."""
    supported = set(supported_ops())
    missing: dict[str, list[str]] = {}
    for node in all_nodes(graph):
        op_type = (
            node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}"
        )
        if node.domain not in ("", "ai.onnx") or node.op_type not in supported:
            missing.setdefault(op_type, []).append(node.name or (node.output or ["?"])[0])
    if missing:
        listed = "; ".join(
            f"{op_type} (node{'s' if len(names) > 1 else ''} {', '.join(repr(n) for n in names)})"
            + (f": {REFUSED[op_type]}" if op_type in REFUSED else "")
            for op_type, names in sorted(missing.items())
        )
        raise QuartetError(f"error: unsupported ONNX operators: {listed}")


def all_nodes(graph: onnx.GraphProto):
    for node in graph.node:
        yield node
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                yield from all_nodes(attribute.g)
            elif attribute.type == onnx.AttributeProto.GRAPHS:
                for subgraph in attribute.graphs:
                    yield from all_nodes(subgraph)


def symbol_name(name: str) -> str:
    """A function name that is also a valid PTX identifier prefix."""
    name = re.sub(r"\W", "_", name) or "model"
    return name if name[0].isalpha() else f"m_{name}"


class Importer:
    """Imports one prepared ModelProto (see :func:`quartet.frontend.onnx.loader.prepare`)."""

    def __init__(
        self,
        model: onnx.ModelProto,
        bound_inputs: Mapping[str, np.ndarray] | None,
        weights: Mapping[str, np.ndarray] | None = None,
    ):
        self.model = model
        self.large = dict(weights or {})  # initializers kept out of the prepared skeleton
        self.opset = default_opset(model)
        self.bound = {name: np.asarray(value) for name, value in (bound_inputs or {}).items()}
        self.counter = [0]
        self.prologue = Writer(counter=self.counter, indent="    ")
        self.body = Writer(counter=self.counter, indent="    ")
        self.emit = Emitter(self.body, self._materialize)
        self.weights: list[tuple[str, str, np.ndarray]] = []  # (ssa, name, array)
        self.scopes: list[dict[str, Tensor]] = [{}]
        self.op_counts: Counter = Counter()
        self.control_flow: list[str] = []
        self._names: dict[int, str] = {}
        self.errors: dict[str, int] = {}  # runtime error message -> its code (tile.errors)
        self.precision = Precision(self.emit, value_types(model.graph), self._names)

    # -- values ------------------------------------------------------------------------------

    def lookup(self, name: str, node: onnx.NodeProto) -> Tensor:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise QuartetError(
            f"error: node '{node.name or node.op_type}' ({node.op_type}) uses '{name}', "
            "which no node, input or initializer defines"
        )

    def define(self, name: str, tensor: Tensor) -> None:
        self.scopes[-1][name] = tensor

    def _materialize(self, tensor: Tensor) -> str:
        """The SSA name of a compile-time value: an inline constant or a weight argument."""
        array = np.asarray(tensor.const)
        if array.dtype not in SUPPORTED_DTYPES:
            raise QuartetError(f"error: constant of element type {array.dtype} is not supported")
        if array.size <= MAX_INLINE_ELEMENTS:
            return self.prologue.assign(
                f"arith.constant {dense_literal(array)} : {tensor.type}", "c"
            )
        ssa = f"%w{len(self.weights)}"
        name = self._names.get(id(tensor.const), f"constant_{len(self.weights)}")
        self.weights.append((ssa, name, array))
        return ssa

    def runtime_error(self, message: str) -> int:
        """The code of the runtime error ``message`` (the same message, the same code)."""
        return self.errors.setdefault(message, len(self.errors) + 1)

    # -- the graph ---------------------------------------------------------------------------

    def run(self) -> ImportedGraph:
        graph = self.model.graph
        check_supported(graph)
        inputs = self._bind_inputs(graph)
        initializers = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
        for name, array in {**initializers, **self.large}.items():
            tensor = Tensor.constant(array)  # a memory-mapped weight becomes an ndarray view
            self._names[id(tensor.const)] = name
            self.define(name, tensor)
        self.import_nodes(graph.node)
        outputs, results = self._outputs(graph)
        name = symbol_name(graph.name)
        return ImportedGraph(
            name=name,
            text=self._function_text(name, inputs, results),
            inputs=[spec for spec, _ in inputs],
            outputs=outputs,
            weights=[(weight_name, array) for _, weight_name, array in self.weights],
            bound_inputs=self.bound,
            op_counts=self.op_counts,
            control_flow=self.control_flow,
        )

    def _bind_inputs(self, graph: onnx.GraphProto) -> list[tuple[Spec, Tensor]]:
        inputs = []
        known = {value.name for value in graph_inputs(self.model, self.large)}
        for unknown in set(self.bound) - known:
            raise QuartetError(f"error: cannot bind '{unknown}': the model has no such input")
        for value in graph_inputs(self.model, self.large):
            shape = static_shape(value, value.name)
            dtype = _input_dtype(value)
            if value.name in self.bound:
                array = self.bound[value.name]
                if array.shape != shape:
                    raise QuartetError(
                        f"error: bound input '{value.name}' has shape {array.shape}, "
                        f"the model declares {shape}"
                    )
                self.define(value.name, Tensor.constant(array.astype(dtype)))
                continue
            if 0 in shape:  # no elements: a compile-time value whatever the user passes
                self.bound[value.name] = np.zeros(shape, dtype)
                self.define(value.name, Tensor.constant(self.bound[value.name]))
                continue
            tensor = Tensor(shape, dtype, f"%in{len(inputs)}", view=True)
            self.define(value.name, tensor)
            inputs.append((Spec(value.name, shape, dtype), tensor))
        return inputs

    def import_nodes(self, nodes) -> None:
        for node in nodes:
            self.import_node(node)

    def import_subgraph(
        self, graph: onnx.GraphProto, arguments: list[Tensor], writer: Writer
    ) -> list[Tensor]:
        """Import a Loop/If body into ``writer`` (a nested region) with its inputs bound to
        ``arguments``; outer values stay visible. Returns the body's output tensors."""
        if len(arguments) != len(graph.input):
            raise QuartetError(
                f"error: subgraph '{graph.name}' has {len(graph.input)} inputs, "
                f"expected {len(arguments)}"
            )
        saved = self.emit.w
        self.emit.w = writer
        self.scopes.append({})
        self.precision.enter()
        try:
            for value, tensor in zip(graph.input, arguments, strict=True):
                self.define(value.name, tensor)
            for initializer in graph.initializer:
                self.define(initializer.name, Tensor.constant(numpy_helper.to_array(initializer)))
            self.import_nodes(graph.node)
            node = onnx.NodeProto(name=f"subgraph '{graph.name}'")
            return [self.precision.narrow(self.lookup(value.name, node)) for value in graph.output]
        finally:
            self.precision.leave()
            self.scopes.pop()
            self.emit.w = saved

    def import_node(self, node: onnx.NodeProto) -> list[Tensor]:
        inputs = [self.lookup(name, node) if name else None for name in node.input]
        if self._foldable(node, inputs):
            outputs = self._fold(node, inputs)
        else:
            self.op_counts[node.op_type] += 1
            with self._located(node_name(node)):
                inputs = self.precision.inputs(node, inputs)
                context = NodeContext(node, inputs, self.emit, self.opset, self)
                result = HANDLERS[node.op_type](context)
                outputs = [result] if isinstance(result, Tensor) else list(result)
                outputs = self.precision.results(node.output, outputs)
            # a tensor without elements has no values to compute: keep it a compile-time value
            outputs = [
                Tensor.constant(np.zeros(t.shape, t.half or t.dtype))
                if t.size == 0 and t.const is None
                else t
                for t in outputs
            ]
        for index, name in enumerate(node.output):
            if not name:
                continue
            if index >= len(outputs):
                raise QuartetError(
                    f"error: node '{node.name}' ({node.op_type}): output #{index} "
                    f"('{name}') is not supported"
                )
            self.define(name, outputs[index])
        return outputs

    @contextmanager
    def _located(self, name: str) -> Iterator[None]:
        """Operators written inside carry ``loc("name")`` (a Loop body's nodes their own)."""
        outer = self.emit.location
        self.emit.location = name_location(name)
        try:
            yield
        finally:
            self.emit.location = outer

    @staticmethod
    def _foldable(node: onnx.NodeProto, inputs: list[Tensor | None]) -> bool:
        if node.op_type in _NEVER_FOLD or any(
            a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
            for a in node.attribute
        ):
            return False
        return all(tensor is None or tensor.const is not None for tensor in inputs)

    def _fold(self, node: onnx.NodeProto, inputs: list[Tensor | None]) -> list[Tensor]:
        from quartet.frontend.onnx.reference import evaluator

        feeds = {
            name: tensor.const for name, tensor in zip(node.input, inputs, strict=True) if name
        }
        try:
            results = evaluator(node, self.opset).run(None, feeds)
        except Exception as error:  # noqa: BLE001 - the reference raises anything
            raise QuartetError(
                f"error: node '{node.name}' ({node.op_type}): constant folding failed: "
                f"{str(error).splitlines()[0] if str(error) else type(error).__name__}"
            ) from None
        return [Tensor.constant(np.asarray(result)) for result in results]

    def _outputs(self, graph: onnx.GraphProto) -> tuple[list[Spec], list[Tensor]]:
        specs, results, seen = [], [], set()
        for value in graph.output:
            tensor = self.precision.narrow(
                self.lookup(value.name, onnx.NodeProto(name="graph output"))
            )
            if tensor.const is not None:
                specs.append(Spec(value.name, tensor.shape, tensor.dtype, tensor.const))
                continue
            if tensor.view or tensor.ssa in seen:
                with self._located(value.name):
                    tensor = self.emit.copy(tensor)
            seen.add(tensor.ssa)
            specs.append(Spec(value.name, tensor.shape, tensor.dtype))
            results.append(tensor)
        return specs, results

    def _function_text(
        self, name: str, inputs: list[tuple[Spec, Tensor]], results: list[Tensor]
    ) -> str:
        arguments = [f"{tensor.ssa}: {tensor.type}" for _, tensor in inputs]
        arguments += [
            f"{ssa}: {Tensor.constant(array).type} {{quartet.weight = {_quoted(weight)}}}"
            for ssa, weight, array in self.weights
        ]
        result_types = ", ".join(tensor.type for tensor in results)
        lines = [
            "module {",
            f"  func.func @{name}({', '.join(arguments)}) -> ({result_types}){self._errors()} {{",
            *self.prologue.lines,
            *self.body.lines,
            f"    return {', '.join(t.ssa for t in results)} : {result_types}"
            if results
            else "    return",
            "  }",
            "}",
        ]
        return "\n".join(lines) + "\n"

    def _errors(self) -> str:
        """The function's ``tile.errors`` table, if any node checks at run time."""
        if not self.errors:
            return ""
        entries = ", ".join(
            f"#tile.error<{code} : i32, {_quoted(message)}>"
            for message, code in self.errors.items()
        )
        return f" attributes {{tile.errors = [{entries}]}}"


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _input_dtype(value: onnx.ValueInfoProto) -> np.dtype:
    elem_type = value.type.tensor_type.elem_type
    dtype = np.dtype(onnx.helper.tensor_dtype_to_np_dtype(elem_type))
    if dtype not in SUPPORTED_DTYPES:
        raise QuartetError(f"error: input '{value.name}' has unsupported element type {dtype}")
    return dtype
