"""The host side of a GPU build: which buffers exist and which kernels run on them, in order.

After outlining, the entry function holds buffer allocations and views, ``gpu.launch_func``
ops (a persistent kernel's among them: cooperative, with its counters and epoch buffers, see
:class:`~quartet.runtime.program.HostProgram`), copies, and (with ``control_flow="host"``)
the model's loops and branches around them: ``scf.for``, ``scf.while`` and ``scf.if`` with
the integer arithmetic and the read-backs (``memref.load``) that decide them. This reads it into a
:class:`~quartet.runtime.program.HostProgram`, plain data that any device executes the same
way (the PTX emulator, a GPU through the CUDA driver) and that an artifact stores:

- an SSA integer or index value becomes a host register (:class:`Scalar`), a constant one
  with its value; ``arith`` integer ops become :class:`Compute` steps, a ``memref.load`` a
  :class:`Read` (a host round trip);
- every buffer is a fixed slot, allocated once: a ``memref.alloc`` inside a loop reuses its
  slot in every iteration (its contents are undefined at each allocation anyway);
- a value a loop carries, or a branch yields, lives in the register or buffer of the loop's
  argument (the branch's result): the IR's yields become :class:`Assign` steps for registers
  and :class:`Copy` steps for buffers, except where the yielded buffer is already that one;
- a kernel that takes a loop index (or any integer) gets it by value, as a kernel parameter
  (``Launch.scalars``): the host knows it when it launches, so passing it costs nothing,
  where an index buffer would cost a host-to-device copy per iteration and a load per kernel;
- a ``memref.subview`` (a row of a stacked loop output) is a view of its base at an offset
  register, placed when a step uses it; it must be contiguous.
"""

from __future__ import annotations

import math

import numpy as np
from mlir import ir

from quartet.dialects import schedule
from quartet.errors import QuartetError
from quartet.runtime.errors import ErrorTable
from quartet.runtime.program import (
    Assign,
    Buffer,
    Compute,
    Copy,
    HostProgram,
    If,
    Launch,
    Loop,
    Read,
    Scalar,
    Step,
    While,
)
from quartet.runtime.scalars import BINARY, CASTS, wrap
from quartet.signature import TensorSpec

_IGNORED = {"memref.dealloc", "func.return", "scf.yield", "scf.condition"}
_RESHAPES = {"memref.expand_shape", "memref.collapse_shape", "memref.cast"}
# MLIR's arith.cmpi predicate numbers (mlir/Dialect/Arith/IR/ArithBase.td, CmpIPredicate)
_PREDICATES = ("eq", "ne", "slt", "sle", "sgt", "sge", "ult", "ule", "ugt", "uge")
_INDEX_BITS = 64  # an index is 64 bits on both targets (the kernels' .u64 parameters)


def extract_host_program(func) -> HostProgram:
    """Read the host program out of an outlined entry function; QuartetError on an op the host
    cannot run."""
    reader = _Reader(func)
    block = func.regions[0].blocks[0]
    for position, argument in enumerate(block.arguments):
        reader.add_buffer(
            argument, Buffer(TensorSpec.of(argument.type, f"argument #{position}"), position)
        )
    steps = reader.block(block)
    return HostProgram(
        tuple(reader.buffers),
        tuple(steps),
        ErrorTable.of(func),
        tuple(reader.scalars),
        reader.state.get(schedule.COUNTERS),
        reader.state.get(schedule.EPOCH),
    )


class _Reader:
    """The buffers and registers found so far, and the SSA value each one holds."""

    def __init__(self, func):
        self.module = func.parent
        self.buffers: list[Buffer] = []
        self.scalars: list[Scalar] = []
        self.slot: dict[ir.Value, int] = {}
        self.register: dict[ir.Value, int] = {}
        self.state: dict[str, int] = {}  # a persistent kernel's counters and epoch buffers
        self.state_value: dict[str, ir.Value] = {}  # the allocation holding each
        self.state_sizes = _counters_sizes(func)  # of every persistent kernel, in order
        self.state_offset = 0  # where the next kernel's part of the counters starts

    # -- values ---------------------------------------------------------------------------

    def add_buffer(self, value: ir.Value, buffer: Buffer) -> int:
        self.slot[value] = len(self.buffers)
        self.buffers.append(buffer)
        return self.slot[value]

    def state_buffer(self, alloc: ir.Operation, key: str) -> list[Step]:
        """A persistent kernel's counters or epoch. The runtime zeroes one counters buffer
        once and writes one epoch before each run, so a host with several persistent kernels
        (runs of launches a host op splits) gives each kernel a view of its part of one
        counters buffer (the parts in order, :func:`_counters_sizes`) and the one epoch."""
        spec = TensorSpec.of(alloc.result.type, "a persistent kernel's state")
        sizes = self.state_sizes if key == schedule.COUNTERS else [1]
        if key in self.state and key == schedule.EPOCH:
            self.alias(alloc.result, self.state_value[key])
            return []
        if len(sizes) == 1:
            self.state[key] = self.add_buffer(alloc.result, Buffer(spec))
            self.state_value[key] = alloc.result
            return []
        if key not in self.state:
            self.state[key] = len(self.buffers)
            self.buffers.append(Buffer(TensorSpec((sum(sizes),), spec.dtype)))
            self.state_offset = 0
        offset = self.constant(self.state_offset)
        self.state_offset += spec.shape[0]
        self.add_buffer(alloc.result, Buffer(spec, view_of=self.state[key], offset=offset))
        return []

    def new_register(self, bits: int, value: int = 0) -> int:
        self.scalars.append(Scalar(bits, value))
        return len(self.scalars) - 1

    def constant(self, value: int, bits: int = _INDEX_BITS) -> int:
        return self.new_register(bits, wrap(value, bits))

    def scalar(self, value: ir.Value) -> int:
        """The register of an integer value; a constant gets one holding its value."""
        if value in self.register:
            return self.register[value]
        owner = value.owner
        if isinstance(owner, ir.OpView) and owner.operation.name == "arith.constant":
            bits = _bits(value.type, owner.location)
            number = ir.IntegerAttr(owner.attributes["value"]).value
            self.register[value] = self.constant(number, bits)
            return self.register[value]
        raise QuartetError(f"error: the host program has no value for {value} (internal)")

    def buffer(self, value: ir.Value) -> int:
        if value not in self.slot:
            raise QuartetError(f"error: the host program has no buffer for {value} (internal)")
        return self.slot[value]

    def carry(self, value: ir.Value) -> None:
        """A fresh register or buffer for ``value`` (a loop's argument, a branch's result)."""
        where = f"a value carried by {_where(value)}"
        if isinstance(value.type, ir.MemRefType):
            self.add_buffer(value, Buffer(TensorSpec.of(_identity(value.type, where), where)))
        else:
            self.register[value] = self.new_register(_bits(value.type, where))

    def alias(self, value: ir.Value, same: ir.Value) -> None:
        """``value`` is held where ``same`` is."""
        if isinstance(value.type, ir.MemRefType):
            self.slot[value] = self.buffer(same)
        else:
            self.register[value] = self.scalar(same)

    def transfer(self, targets: list[ir.Value], sources: list[ir.Value]) -> list[Step]:
        """Steps that give every target the value of its source, all at once: one Assign for
        the registers; a Copy per buffer that is not already in place (through a temporary
        where the source is another target, which an earlier copy overwrites)."""
        registers = [
            (self.scalar(t), self.scalar(s))
            for t, s in zip(targets, sources, strict=True)
            if not isinstance(t.type, ir.MemRefType) and self.scalar(t) != self.scalar(s)
        ]
        pairs = [
            (self.buffer(t), self.buffer(s))
            for t, s in zip(targets, sources, strict=True)
            if isinstance(t.type, ir.MemRefType) and self.buffer(t) != self.buffer(s)
        ]
        overwritten = {target for target, _ in pairs}
        staged, steps = [], []
        for target, source in pairs:
            if source in overwritten:
                temporary = len(self.buffers)
                self.buffers.append(Buffer(self.buffers[source].spec))
                steps.append(Copy(source, temporary))
                source = temporary
            staged.append(Copy(source, target))
        steps += staged
        if registers:
            steps.append(Assign(tuple(t for t, _ in registers), tuple(s for _, s in registers)))
        return steps

    # -- ops ------------------------------------------------------------------------------

    def block(self, block: ir.Block) -> list[Step]:
        steps: list[Step] = []
        for op in block.operations:
            steps += self.op(op.operation)
        return steps

    def op(self, op: ir.Operation) -> list[Step]:
        name = op.name
        if name in _IGNORED or name == "arith.constant":
            return []
        if name == "memref.alloc":
            key = next((k for k in (schedule.COUNTERS, schedule.EPOCH) if k in op.attributes), None)
            if key is not None:
                return self.state_buffer(op, key)
            self.add_buffer(op.result, Buffer(TensorSpec.of(op.result.type, "a temporary")))
            return []
        if name == "memref.get_global":
            symbol = ir.FlatSymbolRefAttr(op.attributes["name"]).value
            data = _global_data(self.module, symbol)
            spec = TensorSpec.of(op.result.type, "a constant")
            self.add_buffer(op.result, Buffer(spec, constant=data))
            return []
        if name in _RESHAPES:
            where = f"a reshaped buffer at {op.location}"
            spec = TensorSpec.of(_identity(op.result.type, where), where)
            self.add_buffer(op.result, Buffer(spec, view_of=self.buffer(op.operands[0])))
            return []
        if name == "memref.subview":
            return self.subview(op)
        if name == "gpu.launch_func":
            return [self.launch(op)]
        if name == "memref.copy":
            return [Copy(self.buffer(op.operands[0]), self.buffer(op.operands[1]))]
        if name == "memref.load":
            return self.read(op)
        if name.startswith("arith."):
            return self.arith(op)
        if name == "scf.for":
            return self.for_loop(op)
        if name == "scf.while":
            return self.while_loop(op)
        if name == "scf.if":
            return self.branch(op)
        raise QuartetError(
            f"error: '{name}' is left on the host after GPU lowering at {op.location}; the "
            "host runs buffer allocation and views, copies, kernel launches, scf.for, "
            "scf.while and scf.if, and integer arithmetic on what it reads back"
        )

    def launch(self, op) -> Launch:
        """A launch; cooperative where it is a persistent kernel's, which takes the counters
        buffer (its vEUs wait on each other: every one must be resident at once)."""
        kernel = ir.SymbolRefAttr(op.attributes["kernel"]).value[-1]
        launch = op.opview
        grid = tuple(_constant(v) for v in (launch.gridSizeX, launch.gridSizeY, launch.gridSizeZ))
        block = tuple(
            _constant(v) for v in (launch.blockSizeX, launch.blockSizeY, launch.blockSizeZ)
        )
        dynamic = launch.dynamicSharedMemorySize
        shared_bytes = 0 if dynamic is None else _constant(dynamic)
        buffers, scalars = [], []
        for position, value in enumerate(launch.kernelOperands):
            if isinstance(value.type, ir.MemRefType):
                buffers.append(self.buffer(value))
            else:
                scalars.append((position, self.scalar(value)))
        counters = self.state.get(schedule.COUNTERS)
        cooperative = counters is not None and any(
            counters in (slot, self.buffers[slot].view_of) for slot in buffers
        )
        return Launch(
            kernel, grid, block, tuple(buffers), shared_bytes, cooperative, tuple(scalars)
        )

    def subview(self, op) -> list[Step]:
        """A contiguous part of a buffer at an offset computed on the host (a loop's row)."""
        view = op.opview
        base_type, result_type = ir.MemRefType(op.operands[0].type), ir.MemRefType(op.result.type)
        where = f"the view at {op.location}"
        if list(view.static_strides) != [1] * base_type.rank or not _contiguous(result_type):
            raise QuartetError(
                f"error: {where} is not contiguous ({result_type}); the host views a buffer "
                "only as consecutive elements"
            )
        strides = _row_major_strides(base_type.shape)
        dynamic = iter(view.offsets)
        steps: list[Step] = []
        total = self.constant(0)
        for static, stride in zip(view.static_offsets, strides, strict=True):
            term = (
                self.constant(static * stride)
                if static != ir.ShapedType.get_dynamic_stride_or_offset()
                else self.scaled(self.scalar(next(dynamic)), stride, steps)
            )
            added = self.new_register(_INDEX_BITS)
            steps.append(Compute("addi", (total, term), added))
            total = added
        spec = TensorSpec((*result_type.shape,), TensorSpec.of(base_type, where).dtype)
        base = self.buffer(op.operands[0])
        self.add_buffer(op.result, Buffer(spec, view_of=base, offset=total))
        return steps

    def scaled(self, register: int, factor: int, steps: list[Step]) -> int:
        product = self.new_register(_INDEX_BITS)
        steps.append(Compute("muli", (register, self.constant(factor)), product))
        return product

    def read(self, op) -> list[Step]:
        """A read-back: the element's offset computed on the host, then one round trip."""
        memref_type = ir.MemRefType(op.operands[0].type)
        where = f"the read-back at {op.location}"
        if not _integer(memref_type.element_type):
            raise QuartetError(
                f"error: {where} reads a {memref_type.element_type}; the host program computes "
                "on integers and booleans only"
            )
        steps: list[Step] = []
        offset = self.constant(0)
        strides = _row_major_strides(memref_type.shape)
        for index, stride in zip(list(op.operands)[1:], strides, strict=True):
            added = self.new_register(_INDEX_BITS)
            steps.append(
                Compute("addi", (offset, self.scaled(self.scalar(index), stride, steps)), added)
            )
            offset = added
        self.register[op.result] = self.new_register(_bits(op.result.type, op.location))
        return [*steps, Read(self.buffer(op.operands[0]), offset, self.register[op.result])]

    def arith(self, op) -> list[Step]:
        kind = op.name.removeprefix("arith.")
        if kind == "cmpi":
            kind = f"cmpi.{_PREDICATES[ir.IntegerAttr(op.attributes['predicate']).value]}"
        elif kind in ("index_cast", "index_castui"):
            kind = _index_cast(kind, op)
        if kind not in BINARY and kind not in CASTS and kind != "select":
            raise QuartetError(
                f"error: '{op.name}' is left on the host at {op.location}; the host program "
                "computes with integer arithmetic, comparisons, casts and selects only"
            )
        operands = tuple(self.scalar(value) for value in op.operands)
        self.register[op.result] = self.new_register(_bits(op.result.type, op.location))
        return [Compute(kind, operands, self.register[op.result])]

    # -- control flow ---------------------------------------------------------------------

    def for_loop(self, op) -> list[Step]:
        if "unsignedCmp" in op.attributes:
            raise QuartetError(f"error: the scf.for at {op.location} compares unsigned")
        lower, upper, step = (self.scalar(v) for v in list(op.operands)[:3])
        inits = list(op.operands)[3:]
        body = op.regions[0].blocks[0]
        index, arguments = body.arguments[0], list(body.arguments)[1:]
        self.register[index] = self.new_register(_bits(index.type, op.location))
        for argument in arguments:
            self.carry(argument)
        before = self.transfer(arguments, inits)
        steps = self.block(body)
        steps += self.transfer(arguments, list(_terminator(body).operands))
        for result, argument in zip(op.results, arguments, strict=True):
            self.alias(result, argument)
        return [*before, Loop(self.register[index], lower, upper, step, tuple(steps))]

    def while_loop(self, op) -> list[Step]:
        """scf.while: the before region's arguments are carried; the values scf.condition
        forwards are held where they are computed (the after region's arguments and the
        loop's results read them there)."""
        before, after = op.regions[0].blocks[0], op.regions[1].blocks[0]
        inits = list(op.operands)
        for argument in before.arguments:
            self.carry(argument)
        entry = self.transfer(list(before.arguments), inits)
        check = self.block(before)
        condition = _terminator(before)
        forwarded = list(condition.operands)[1:]
        for argument, value in zip(after.arguments, forwarded, strict=True):
            self.alias(argument, value)
        body = self.block(after)
        body += self.transfer(list(before.arguments), list(_terminator(after).operands))
        for result, value in zip(op.results, forwarded, strict=True):
            self.alias(result, value)
        flag = self.scalar(condition.operands[0])
        return [*entry, While(tuple(check), flag, tuple(body))]

    def branch(self, op) -> list[Step]:
        """scf.if: each result in a register or buffer of its own that both branches fill
        (or, where both branches yield the same buffer, that buffer)."""
        flag = self.scalar(op.operands[0])
        regions = [op.regions[0].blocks[0]]
        if op.regions[1].blocks:
            regions.append(op.regions[1].blocks[0])
        branches = []
        for block in regions:
            branches.append((self.block(block), list(_terminator(block).operands)))
        results = list(op.results)
        for position, result in enumerate(results):
            yielded = [values[position] for _, values in branches]
            same = (
                isinstance(result.type, ir.MemRefType)
                and len({self.buffer(value) for value in yielded}) == 1
            )
            if same:
                self.alias(result, yielded[0])
            else:
                self.carry(result)
        filled = [tuple(steps + self.transfer(results, values)) for steps, values in branches]
        otherwise = filled[1] if len(filled) > 1 else ()
        return [If(flag, filled[0], otherwise)]


def _counters_sizes(func) -> list[int]:
    """The i32s the counters of each persistent kernel ``func`` calls take."""
    sizes = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if op.name == "memref.alloc" and schedule.COUNTERS in op.attributes:
            sizes.append(ir.MemRefType(op.results[0].type).shape[0])
        return ir.WalkResult.ADVANCE

    func.operation.walk(visit)
    return sizes


def _terminator(block: ir.Block) -> ir.Operation:
    return list(block.operations)[-1].operation


def _where(value: ir.Value) -> str:
    owner = value.owner
    parent = owner.owner if isinstance(owner, ir.Block) else owner
    return f"the {parent.name} at {parent.location}"


def _bits(value_type: ir.Type, where) -> int:
    if isinstance(value_type, ir.IndexType):
        return _INDEX_BITS
    if isinstance(value_type, ir.IntegerType):
        return value_type.width
    raise QuartetError(
        f"error: a {value_type} value is left on the host at {where}; the host program "
        "computes on integers and booleans only"
    )


def _integer(value_type: ir.Type) -> bool:
    return isinstance(value_type, ir.IntegerType | ir.IndexType)


def _index_cast(kind: str, op) -> str:
    """index_cast is a sign extension or a truncation, index_castui a zero extension or a
    truncation, by the widths."""
    source, target = _bits(op.operands[0].type, op.location), _bits(op.result.type, op.location)
    if target < source:
        return "trunci"
    return "extsi" if kind == "index_cast" else "extui"


def _row_major_strides(shape) -> list[int]:
    return [math.prod(shape[i + 1 :]) for i in range(len(shape))]


def _contiguous(memref_type: ir.MemRefType) -> bool:
    """Whether the view's elements are consecutive: its strides are row-major over its
    shape (dimensions of size 1 take any stride)."""
    strides, _ = memref_type.get_strides_and_offset()
    expected = _row_major_strides(memref_type.shape)
    return all(
        size == 1 or stride == want
        for size, stride, want in zip(memref_type.shape, strides, expected, strict=True)
    )


def _identity(memref_type: ir.Type, where: str) -> ir.Type:
    """The type itself, if its layout is the identity (a buffer the host can hold)."""
    typed = ir.MemRefType(memref_type)
    if typed.get_strides_and_offset() != (_row_major_strides(typed.shape), 0):
        raise QuartetError(
            f"error: {where} is a {memref_type}: the host program holds buffers with the "
            "identity layout only (a branch or loop yielding a view?)"
        )
    return memref_type


def _global_data(module: ir.Operation, symbol: str) -> np.ndarray:
    """The initial value of the constant ``memref.global @symbol`` as an array."""
    for op in module.regions[0].blocks[0].operations:
        if op.operation.name == "memref.global" and op.sym_name.value == symbol:
            value = ir.DenseElementsAttr(op.initial_value)
            spec = TensorSpec.of(op.type_.value, f"global @{symbol}")
            if value.is_splat:
                return np.full(spec.shape, value.get_splat_value().value, spec.dtype)
            return np.array(value).astype(spec.dtype).reshape(spec.shape)
    raise QuartetError(f"error: no memref.global @{symbol} holds the constant's data")


def _constant(value: ir.Value) -> int:
    return ir.IntegerAttr(value.owner.attributes["value"]).value
