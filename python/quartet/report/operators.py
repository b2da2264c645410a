"""The operator graph of a compiled model, read back from its loop-level IR.

Every decision the report draws was written into the IR by the pass that made it, and
survives to the loop level (``CompiledModel.loops_ir``):

- the host function calls one kernel function per launch, in launch order; the call names the
  ONNX node of each of that launch's operators (``tile.names``, quartet-outline-kernels);
  under quartet-rammer it calls one vEU program, whose segments call task functions in the
  same order, each call keeping its names (a task function carries its block loop's
  attributes);
- each kernel's block loop lists its operators (``tile.members``, quartet-lower-tiles): kind,
  role, rProgram, the level each operand is read at and where it comes from (another operator
  of the kernel, or an argument of the kernel function), and the arguments it stores into; it
  also carries Welder's modelled time of the kernel (``welder.modelled_seconds``).

An operand read from another operator of the same kernel is an edge at its level (registers
or shared memory); an operand read from a kernel argument is an edge in global memory from
the last launch that stored into the same buffer (the call's operand, through its views).
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.counters import VIEWS
from quartet.dialects import create_context, tile
from quartet.dialects.tile import RProgram
from quartet.passes.iteration_space import ops_named
from quartet.passes.lower_tiles.traffic import MEMBERS
from quartet.passes.outline_kernels import OPERATOR_NAMES
from quartet.welder import MODELLED_SECONDS

OperatorKey = tuple[int, int]  # (launch, operator of its kernel)


@dataclass(frozen=True)
class OperatorUse:
    """One operator of one launch."""

    key: OperatorKey
    name: str  # its ONNX node, else op<i> (its position among all the launches' operators)
    summary: str  # kind and loop extents: "contraction 1x128x768x768"
    role: str  # "phase", "epilogue" or "inline" (quartet-lower-tiles' plan)
    program: RProgram
    reads_tensors: bool  # False for an initialisation from constants (a reduction's fill)


@dataclass(frozen=True)
class Launch:
    """One launch of a kernel, its operators in the kernel's order."""

    index: int
    kernel: str
    operators: tuple[OperatorUse, ...]
    modelled_seconds: float | None  # Welder's latency model, where Welder ran


@dataclass(frozen=True)
class Connection:
    """A value one operator reads from another, and the memory level it is read at."""

    producer: OperatorKey
    consumer: OperatorKey
    level: str  # "reg", "smem" or "global"


@dataclass(frozen=True)
class OperatorGraph:
    launches: tuple[Launch, ...]
    connections: tuple[Connection, ...]

    @property
    def operators(self) -> list[OperatorUse]:
        return [use for launch in self.launches for use in launch.operators]

    @property
    def kernels(self) -> list[str]:
        """The distinct kernels, in the order of their first launch."""
        return list(dict.fromkeys(launch.kernel for launch in self.launches))


def operator_graph(loops_ir: str, entry: str) -> OperatorGraph:
    """The graph of ``entry``'s launches in ``loops_ir`` (the IR after quartet-lower-tiles)."""
    with create_context(), ir.Location.unknown():
        module = ir.Module.parse(loops_ir)
        functions = {
            ir.StringAttr(op.attributes["sym_name"]).value: op.operation
            for op in module.body.operations
            if op.operation.name == "func.func"
        }
        return _Reader(functions).read(functions[entry])


class _Reader:
    def __init__(self, functions: dict[str, ir.Operation]):
        self.functions = functions
        self.launches: list[Launch] = []
        self.connections: list[Connection] = []
        self.writers: dict[ir.Value, OperatorKey] = {}  # buffer -> last operator storing it
        self.unnamed = 0

    def read(self, host: ir.Operation) -> OperatorGraph:
        self._calls(host, {})
        return OperatorGraph(tuple(self.launches), tuple(dict.fromkeys(self.connections)))

    def _calls(self, function: ir.Operation, outer: dict[ir.Value, ir.Value]) -> None:
        """The launches ``function`` makes, its arguments being ``outer``'s values: a kernel
        function's block loop, a task function of a vEU program (quartet-rammer; its first
        argument is the task), or the calls a vEU program makes."""
        for call in ops_named(function, "func.call"):
            callee = self.functions.get(ir.FlatSymbolRefAttr(call.attributes["callee"]).value)
            if callee is None:
                continue
            operands = [outer.get(value, value) for value in call.operands]
            if MEMBERS in callee.attributes:
                self._launch(call, callee, operands[1:])
            elif ops_named(callee, "func.call"):
                arguments = callee.regions[0].blocks[0].arguments
                self._calls(callee, dict(zip(arguments, operands, strict=True)))
            else:
                loops = ops_named(callee, "scf.parallel")
                block_loop = next((op for op in loops if MEMBERS in op.attributes), None)
                if block_loop is not None:
                    self._launch(call, block_loop, operands)

    def _launch(self, call: ir.Operation, block_loop: ir.Operation, operands) -> None:
        index = len(self.launches)
        members = [ir.DictAttr(entry) for entry in ir.ArrayAttr(block_loop.attributes[MEMBERS])]
        names = _names(call, len(members))
        buffers = [_root(value) for value in operands]
        operators = []
        for position, (member, name) in enumerate(zip(members, names, strict=True)):
            key = (index, position)
            sources = [ir.DictAttr(source) for source in ir.ArrayAttr(member["sources"])]
            levels = [ir.StringAttr(level).value for level in ir.ArrayAttr(member["levels"])]
            for source, level in zip(sources, levels, strict=True):
                self._connect(key, source, level, index, buffers)
            operators.append(
                OperatorUse(
                    key,
                    name or self._unnamed(),
                    ir.StringAttr(member["operator"]).value,
                    ir.StringAttr(member["role"]).value,
                    RProgram.from_attr(member["program"]),
                    _reads_tensors(member, sources),
                )
            )
        for position, member in enumerate(members):
            for argument in ir.DenseI64ArrayAttr(member["stores"]):
                self.writers[buffers[argument]] = (index, position)
        seconds = None
        if MODELLED_SECONDS in block_loop.attributes:
            seconds = ir.FloatAttr(block_loop.attributes[MODELLED_SECONDS]).value
        kernel = tile.Kernel.from_attr(block_loop.attributes[tile.KERNEL]).name
        self.launches.append(Launch(index, kernel, tuple(operators), seconds))

    def _connect(self, key, source: ir.DictAttr, level: str, launch: int, buffers) -> None:
        if "member" in source:
            producer = (launch, ir.IntegerAttr(source["member"]).value)
            self.connections.append(Connection(producer, key, level))
        elif "argument" in source:
            writer = self.writers.get(buffers[ir.IntegerAttr(source["argument"]).value])
            if writer is not None:
                self.connections.append(Connection(writer, key, "global"))

    def _unnamed(self) -> str:
        self.unnamed += 1
        return f"op{self.unnamed - 1}"


def _names(call: ir.Operation, count: int) -> list[str]:
    """The operators' names at this call ("" where none is recorded)."""
    if OPERATOR_NAMES not in call.attributes:
        return [""] * count
    return [ir.StringAttr(name).value for name in ir.ArrayAttr(call.attributes[OPERATOR_NAMES])]


def _reads_tensors(member: ir.DictAttr, sources: list[ir.DictAttr]) -> bool:
    """Whether an input or a captured read comes from a tensor (not only from constants)."""
    inputs = ir.IntegerAttr(member["inputs"]).value
    outputs = ir.IntegerAttr(member["outputs"]).value
    read = sources[:inputs] + sources[inputs + outputs :]
    return any(len(source) for source in read)


def _root(value: ir.Value) -> ir.Value:
    """The buffer ``value`` is a view of (through reshapes, subviews and casts)."""
    owner = value.owner
    while isinstance(owner, ir.OpView) and owner.operation.name in VIEWS:
        value = owner.operands[0]
        owner = value.owner
    return value
