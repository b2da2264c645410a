"""Graph values and the MLIR text the importer writes: types, constants, ``linalg.generic``.

The importer writes MLIR text, not bindings objects: text is cheap to build for thousands of
nodes, needs no Context until ``quartet.compile`` parses it, and large weights never enter it
(they become function arguments bound at run time).

A :class:`Tensor` is a graph value: its ONNX shape and dtype plus either an SSA name in the
function being written or a compile-time value (``const``) that is materialized only when an
operator needs it in IR. ONNX scalars (rank 0) are ``tensor<1xT>`` in IR (``ir_shape``), booleans
are ``i8`` (numpy's layout: one byte per bool); generic bodies convert to ``i1`` where needed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from onnx import TensorProto
from onnx.helper import tensor_dtype_to_np_dtype

from quartet.errors import QuartetError

INT4 = np.dtype(tensor_dtype_to_np_dtype(TensorProto.INT4))  # ml_dtypes, one value per byte
UINT4 = np.dtype(tensor_dtype_to_np_dtype(TensorProto.UINT4))

# MLIR integers are signless: unsigned ONNX types share the signed types' storage, and the ops
# that differ (division, comparison, extension, conversion) are chosen from the ONNX dtype.
_SCALAR = {
    np.dtype(np.float16): "f16",
    np.dtype(np.float32): "f32",
    np.dtype(np.float64): "f64",
    np.dtype(np.int8): "i8",
    np.dtype(np.int16): "i16",
    np.dtype(np.int32): "i32",
    np.dtype(np.int64): "i64",
    np.dtype(np.uint8): "i8",
    np.dtype(np.uint16): "i16",
    np.dtype(np.uint32): "i32",
    np.dtype(np.uint64): "i64",
    np.dtype(np.bool_): "i8",
    INT4: "i8",  # 4-bit values are stored one per byte, sign- or zero-extended
    UINT4: "i8",
}
SUPPORTED_DTYPES = tuple(_SCALAR)
_STORAGE = {
    "f16": np.float16,
    "f32": np.float32,
    "f64": np.float64,
    "i8": np.int8,
    "i16": np.int16,
    "i32": np.int32,
    "i64": np.int64,
}


def scalar_type(dtype: np.dtype) -> str:
    """The MLIR element type of ``dtype`` in buffers (bool is stored as i8)."""
    try:
        return _SCALAR[np.dtype(dtype)]
    except KeyError:
        raise QuartetError(f"error: element type {np.dtype(dtype)} is not supported") from None


def is_float(dtype: np.dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def is_bool(dtype: np.dtype) -> bool:
    return np.dtype(dtype) == np.bool_


def is_unsigned(dtype: np.dtype) -> bool:
    """Unsigned integers (their IR type is the signless integer of the same width)."""
    dtype = np.dtype(dtype)
    return dtype.kind == "u" or dtype == UINT4


def int_range(dtype: np.dtype) -> tuple[int, int]:
    """(lowest, highest) value of an integer or bool ``dtype`` (4-bit types included)."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return 0, 1
    if dtype == INT4:
        return -8, 7
    if dtype == UINT4:
        return 0, 15
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def to_storage(array: np.ndarray) -> np.ndarray:
    """``array`` as its IR buffer holds it: bool and unsigned as the signed integer of the
    same width (bit pattern kept), 4-bit values widened to one signed byte."""
    array = np.asarray(array)
    storage = np.dtype(_STORAGE[scalar_type(array.dtype)])
    if array.dtype in (INT4, UINT4):
        return array.astype(np.int16).astype(storage)
    return array if array.dtype == storage else array.view(storage)


def from_storage(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """The inverse of :func:`to_storage`."""
    dtype = np.dtype(dtype)
    if dtype in (INT4, UINT4):
        return array.astype(np.int16).astype(dtype)
    return array if array.dtype == dtype else array.view(dtype)


@dataclass
class Tensor:
    """A graph value: ``ssa`` in the function being written, or a compile-time ``const``."""

    shape: tuple[int, ...]
    dtype: np.dtype
    ssa: str | None = None
    const: np.ndarray | None = None
    view: bool = False  # produced by a shape-only op (or a function argument): no kernel wrote it
    half: np.dtype | None = None  # a float32 tensor standing for this float16 value (precision.py)

    @property
    def ir_shape(self) -> tuple[int, ...]:
        return self.shape or (1,)

    @property
    def type(self) -> str:
        return tensor_type(self.ir_shape, self.dtype)

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @classmethod
    def constant(cls, array: np.ndarray) -> Tensor:
        array = np.asarray(array)
        return cls(tuple(int(d) for d in array.shape), array.dtype, const=array)


def tensor_type(shape: Sequence[int], dtype: np.dtype) -> str:
    dims = "".join(f"{d}x" for d in shape)
    return f"tensor<{dims}{scalar_type(dtype)}>"


def affine_map(loops: int, results: Sequence[str]) -> str:
    dims = ", ".join(f"d{i}" for i in range(loops))
    return f"affine_map<({dims}) -> ({', '.join(results)})>"


def dense_literal(array: np.ndarray) -> str:
    """``dense<...>`` of a small array (exact: floats as hex bit patterns)."""
    array = np.asarray(array)
    if not is_float(array.dtype):
        array = to_storage(array)  # signless: unsigned values as their bit pattern
    flat = array.reshape(-1)
    if flat.size and np.all(flat == flat[0]) and not is_float(array.dtype):
        return f"dense<{int(flat[0])}>"
    if is_float(array.dtype):
        return f'dense<"0x{np.ascontiguousarray(flat).tobytes().hex().upper()}">'
    values = ", ".join(str(int(v)) for v in flat)
    return f"dense<[{values}]>" if array.ndim <= 1 else _nested(array)


def _nested(array: np.ndarray) -> str:
    def render(a: np.ndarray) -> str:
        if a.ndim == 0:
            return str(int(a))
        return "[" + ", ".join(render(x) for x in a) + "]"

    return f"dense<{render(array)}>"


def scalar_literal(value: float | int | bool, dtype: np.dtype) -> str:
    """An ``arith.constant`` operand text for one scalar of ``dtype``."""
    element = scalar_type(dtype)
    if is_float(dtype):
        # the bit pattern: exact, and covers inf/nan
        bits = np.asarray(value, dtype=dtype).reshape(1).view(f"u{np.dtype(dtype).itemsize}")[0]
        return f"0x{int(bits):0{2 * np.dtype(dtype).itemsize}X} : {element}"
    width = int(element[1:])
    value = int(value) % (1 << width)  # signless: the bit pattern, printed as a signed value
    return f"{value - (1 << width) if value >= 1 << (width - 1) else value} : {element}"


@dataclass
class Operand:
    """One generic input: a tensor and the affine results that index it from the loops."""

    tensor: Tensor
    indices: list[str]


@dataclass
class Writer:
    """Lines of one function body and its fresh-name counter (shared by nested regions)."""

    lines: list[str] = field(default_factory=list)
    counter: list[int] = field(default_factory=lambda: [0])
    indent: str = "  "

    def fresh(self, prefix: str = "v") -> str:
        self.counter[0] += 1
        return f"%{prefix}{self.counter[0]}"

    def line(self, text: str) -> None:
        self.lines.append(self.indent + text)

    def assign(self, rhs: str, prefix: str = "v") -> str:
        name = self.fresh(prefix)
        self.line(f"{name} = {rhs}")
        return name

    def nested(self) -> Writer:
        return Writer(self.lines, self.counter, self.indent + "  ")


class Body:
    """Scalar code inside a ``linalg.generic`` region (arith/math on block arguments)."""

    def __init__(self, writer: Writer):
        self.w = writer

    def op(self, rhs: str) -> str:
        return self.w.assign(rhs, "s")

    def const(self, value, dtype) -> str:
        return self.op(f"arith.constant {scalar_literal(value, dtype)}")

    def index(self, loop: int) -> str:
        return self.op(f"linalg.index {loop} : index")

    def const_index(self, value: int) -> str:
        return self.op(f"arith.constant {int(value)} : index")

    def to_index(self, value: str, dtype) -> str:
        cast = "arith.index_castui" if is_unsigned(dtype) else "arith.index_cast"
        return self.op(f"{cast} {value} : {scalar_type(dtype)} to index")

    def to_bool(self, value: str) -> str:
        """i8 storage -> i1."""
        zero = self.op("arith.constant 0 : i8")
        return self.op(f"arith.cmpi ne, {value}, {zero} : i8")

    def from_bool(self, value: str) -> str:
        """i1 -> i8 storage."""
        return self.op(f"arith.extui {value} : i1 to i8")

    def select(self, cond: str, a: str, b: str, dtype) -> str:
        return self.op(f"arith.select {cond}, {a}, {b} : {scalar_type(dtype)}")

    def select_index(self, cond: str, a: str, b: str) -> str:
        return self.op(f"arith.select {cond}, {a}, {b} : index")

    def extract(self, tensor: Tensor, indices: Sequence[str]) -> str:
        return self.op(f"tensor.extract {tensor.ssa}[{', '.join(indices)}] : {tensor.type}")

    def check(self, ok: str, code: int) -> None:
        """``tile.check``: the run fails with error ``code`` where ``ok`` (i1) is false."""
        self.w.line(f'"tile.check"({ok}) {{code = {code} : i32}} : (i1) -> ()')

    def clamp_index(self, value: str, size: int) -> str:
        """``value`` (index) clamped into [0, size)."""
        zero, last = self.const_index(0), self.const_index(size - 1)
        return self.op(
            f"arith.minsi {self.op(f'arith.maxsi {value}, {zero} : index')}, {last} : index"
        )


BodyFn = Callable[[Body, list[str]], str | list[str]]


class Emitter:
    """Writes graph-level ops into one function body; see :meth:`generic`.

    ``location`` is the MLIR location of the operators being written (``loc("node")``, set by
    the importer around each ONNX node, see :func:`name_location`): every operator Quartet
    tiles carries the name of the node it came from, which Welder's reports and the compile
    report print.
    """

    def __init__(self, writer: Writer, materialize: Callable[[Tensor], str]):
        self.w = writer
        self.materialize = materialize
        self.location = ""

    def ssa(self, tensor: Tensor) -> str:
        """The SSA name of ``tensor``, materializing a compile-time constant."""
        if tensor.ssa is None:
            tensor.ssa = self.materialize(tensor)
        return tensor.ssa

    def empty(self, shape: Sequence[int], dtype) -> str:
        return self.w.assign(f"tensor.empty() : {tensor_type(shape or (1,), dtype)}")

    def fill(self, shape: Sequence[int], dtype, value) -> str:
        empty = self.empty(shape, dtype)
        scalar = self.w.assign(f"arith.constant {scalar_literal(value, dtype)}")
        kind = tensor_type(shape or (1,), dtype)
        return self.w.assign(
            f"linalg.fill ins({scalar} : {scalar_type(dtype)}) outs({empty} : {kind}) -> {kind}"
            + self._located()
        )

    def generic(
        self,
        shape: Sequence[int],
        dtype,
        inputs: Sequence[Operand],
        body: BodyFn,
        *,
        reductions: Sequence[int] = (),
        init: str | None = None,
        extra_outputs: Sequence[tuple[Sequence[int], object, str]] = (),
    ) -> Tensor | list[Tensor]:
        """One ``linalg.generic``: loops = output dims (``shape``, rank >= 1 in IR) then
        ``reductions`` (their extents); each input indexed by its affine results.

        ``body(b, args)`` gets the scalar block arguments (inputs, then the current output
        values) and returns the yielded value(s). ``init`` is the output tensor (for
        reductions); ``extra_outputs`` (shape, dtype, init) add outputs on the same loops.
        """
        out_shape = tuple(shape) or (1,)
        loops = len(out_shape) + len(reductions)
        outputs = [(out_shape, dtype, init or self.empty(out_shape, dtype))]
        outputs += [(tuple(s) or (1,), d, i) for s, d, i in extra_outputs]
        out_index = [f"d{i}" for i in range(len(out_shape))]
        maps = [affine_map(loops, operand.indices or ["0"]) for operand in inputs]
        maps += [affine_map(loops, out_index) for _ in outputs]
        iterators = ['"parallel"'] * len(out_shape) + ['"reduction"'] * len(reductions)
        ins = ", ".join(self.ssa(o.tensor) for o in inputs)
        in_types = ", ".join(o.tensor.type for o in inputs)
        outs = ", ".join(init for _, _, init in outputs)
        out_types = [tensor_type(s, d) for s, d, _ in outputs]
        results = self.w.fresh("t")
        suffix = f":{len(outputs)}" if len(outputs) > 1 else ""
        header = (
            f"{results}{suffix} = linalg.generic {{indexing_maps = [{', '.join(maps)}], "
            f"iterator_types = [{', '.join(iterators)}]}} "
        )
        if inputs:
            header += f"ins({ins} : {in_types}) "
        self.w.line(header + f"outs({outs} : {', '.join(out_types)}) {{")
        inner = self.w.nested()
        args = [inner.fresh("a") for _ in [*inputs, *outputs]]
        arg_types = [scalar_type(o.tensor.dtype) for o in inputs]
        arg_types += [scalar_type(d) for _, d, _ in outputs]
        signature = ", ".join(f"{a}: {t}" for a, t in zip(args, arg_types, strict=True))
        self.w.line(f"^bb0({signature}):")
        yielded = body(Body(inner), args)
        yielded = [yielded] if isinstance(yielded, str) else list(yielded)
        inner.line(f"linalg.yield {', '.join(yielded)} : {', '.join(arg_types[len(inputs) :])}")
        self.w.line(f"}} -> {', '.join(out_types)}{self._located()}")
        logical = [tuple(shape), *(tuple(s) for s, _, _ in extra_outputs)]
        tensors = [
            Tensor(logical[k], np.dtype(d), f"{results}#{k}" if len(outputs) > 1 else results)
            for k, (_, d, _) in enumerate(outputs)
        ]
        return tensors[0] if len(tensors) == 1 else tensors

    def _located(self) -> str:
        return f" {self.location}" if self.location else ""

    def reshape(self, tensor: Tensor, shape: Sequence[int]) -> Tensor:
        """A view with ``shape`` (same element count): collapse to 1-D, expand to the shape."""
        source = self.ssa(tensor)
        shape = tuple(int(d) for d in shape)
        if tuple(shape or (1,)) == tensor.ir_shape:
            return Tensor(shape, tensor.dtype, source, view=tensor.view)
        if len(tensor.ir_shape) > 1:
            reassoc = "[[" + ", ".join(str(i) for i in range(len(tensor.ir_shape))) + "]]"
            flat_type = tensor_type((tensor.size,), tensor.dtype)
            source = self.w.assign(
                f"tensor.collapse_shape {source} {reassoc} : {tensor.type} into {flat_type}"
            )
        result = Tensor(shape, tensor.dtype, view=True)
        target = result.ir_shape
        if len(target) > 1:
            reassoc = "[[" + ", ".join(str(i) for i in range(len(target))) + "]]"
            dims = ", ".join(str(d) for d in target)
            flat_type = tensor_type((tensor.size,), tensor.dtype)
            source = self.w.assign(
                f"tensor.expand_shape {source} {reassoc} output_shape [{dims}] : "
                f"{flat_type} into {result.type}"
            )
        result.ssa = source
        return result

    def copy(self, tensor: Tensor) -> Tensor:
        """A kernel that copies ``tensor`` (graph outputs must be written by a kernel)."""
        indices = [f"d{i}" for i in range(len(tensor.ir_shape))]
        return self.generic(
            tensor.shape, tensor.dtype, [Operand(tensor, indices)], lambda b, a: a[0]
        )


def name_location(name: str) -> str:
    """``loc("name")``: an MLIR name location (quotes, backslashes and control characters
    escaped as MLIR string literals write them, ``\\XX``)."""
    escaped = "".join(
        f"\\{ord(char):02X}" if char in '"\\' or ord(char) < 0x20 or ord(char) == 0x7F else char
        for char in name
    )
    return f'loc("{escaped}")'


def broadcast_indices(shape: Sequence[int], out_shape: Sequence[int]) -> list[str]:
    """ONNX (numpy) broadcasting: ``shape`` aligned right against the output loops."""
    offset = len(out_shape) - len(shape)
    if not shape:
        return ["0"]
    return [
        "0" if size == 1 and out_shape[offset + i] != 1 else f"d{offset + i}"
        for i, size in enumerate(shape)
    ]


def broadcast_shape(*shapes: Sequence[int]) -> tuple[int, ...]:
    try:
        return tuple(int(d) for d in np.broadcast_shapes(*[tuple(s) for s in shapes]))
    except ValueError:
        raise QuartetError(
            f"error: shapes {' and '.join(str(tuple(s)) for s in shapes)} do not broadcast"
        ) from None
