"""Whole-model counters that need no GPU clock, read from the loop-level program.

Every kernel's block loop carries its global traffic per argument of its kernel function
(``tile.traffic``, counted by quartet-lower-tiles from the kernel's plan), and the host
function calls kernel functions on its buffers. So, per inference:

- ``launches``: kernel launches (calls of kernel functions, and block loops left in the host;
  a vEU program, quartet-rammer's persistent kernel, is one launch, its tasks none);
- ``global_bytes``: bytes read and written in global memory by all of them, halo re-reads and
  re-reads by different blocks included;
- ``intermediate_global_bytes``: the part of those on buffers the host allocates (tensors that
  are neither model inputs, weights nor outputs);
- ``compulsory_bytes``: every input, weight, constant and output once;
- ``copies``, ``copy_bytes``: whole-buffer copies the host makes (``memref.copy``: a stacked
  loop output's row, a carried value bufferization could not update in place), and the bytes
  they read and write;
- ``host_round_trips``: values the host reads back from the device (``memref.load`` in the
  host function: a loop's condition, a branch's predicate) on a GPU target, where each is a
  round trip: the host waits for the device, then copies the value.

Control flow decides how many times a launch runs. A launch inside ``scf.for`` loops whose
bounds and step are ``arith.constant`` runs once per iteration of each (nested loops
multiply), and its bytes with it; an ``scf.if`` on a constant runs its taken branch alone.
Where only the inference knows how many times a region runs (the condition and body of an
``scf.while``, the body of an ``scf.for`` with bounds that are not constants, either branch of
an ``scf.if`` on a computed condition, the regions of any other op), the counters give no total:
the region becomes a :class:`DataDependentRegion` that says what one run of it launches and
moves ("per iteration" for a loop body, per run of a branch), the totals count only what
runs outside such regions, and :attr:`Counters.exact` is False. An ``scf.if``'s branches are
reported apart rather than as their maximum, which would be a bound passed off as a count.

Every loop (``scf.for``, ``scf.while``) also gets a :class:`LoopFigures`: what one iteration
launches, moves, copies and reads back (a while loop's condition included), its nested
constant loops multiplied in; a nested data-dependent region is left out and the figures say
so (``exact``). ``host_round_trips_per_iteration``, the most any loop makes, is what Grinder's
device loops bring to zero.

    func.func @f(...) {
      call @f_k0.func(...)                  // 1 launch
      scf.for %i = %c0 to %c5 step %c1 {
        scf.for %j = %c0 to %c3 step %c1 {
          call @f_k1.func(...)              // 15 launches
        }
        scf.while (...) { ... } do {
          call @f_k2.func(...)              // data-dependent: 1 launch per iteration,
        }                                   // the loop reached 5 times
      }
    }
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from mlir import ir

from quartet.dialects import schedule, tile
from quartet.dialects.controlflow import HOST_REASON, MODELLED, PLACEABLE_OPS, PLACEMENT, Device
from quartet.errors import format_location
from quartet.passes.iteration_space import constant_int
from quartet.passes.speculate_branches import SPECULATED_FROM
from quartet.runtime.errors import ErrorTable
from quartet.welder import MODELLED_SECONDS

VIEWS = ("memref.expand_shape", "memref.collapse_shape", "memref.subview", "memref.cast")
TRAFFIC = "tile.traffic"  # quartet-lower-tiles' attribute (passes/lower_tiles/traffic.py)
RUN_ONCE = ("scf.execute_region", "memref.alloca_scope")  # ops whose regions run once per run


@dataclass
class KernelTraffic:
    launches: int = 0
    loaded: int = 0  # bytes, over every launch
    stored: int = 0
    operators: list[dict] = field(default_factory=list)  # tile.members: operator, role, levels
    modelled_seconds: float | None = None  # one launch, Welder's model (where Welder ran)


@dataclass
class Tally:
    """Launches and the global bytes they move, in total and per kernel."""

    launches: int = 0
    global_bytes: int = 0
    intermediate_global_bytes: int = 0
    kernels: dict[str, KernelTraffic] = field(default_factory=dict)
    copies: int = 0
    copy_bytes: int = 0  # read and written by the copies
    host_round_trips: int = 0
    grid_barriers: int = 0  # inside a persistent kernel whose loops run on the grid
    waits: int = 0  # counter waits there, as one vEU that runs every segment passes them

    def add(
        self, kernel: str, operators: list[dict], times: int, traffic, launched: bool = True
    ) -> None:
        """``times`` runs of ``kernel``, each moving ``traffic``: (loaded, stored, whether the
        buffer is an intermediate) per argument. A run is a launch of its own unless it runs as
        tasks of a persistent kernel (``launched=False``: that kernel's launch is counted)."""
        record = self.kernels.setdefault(kernel, KernelTraffic(operators=operators))
        if launched:
            record.launches += times
            self.launches += times
        for loaded, stored, intermediate in traffic:
            record.loaded += times * loaded
            record.stored += times * stored
            self.global_bytes += times * (loaded + stored)
            if intermediate:
                self.intermediate_global_bytes += times * (loaded + stored)


@dataclass
class LoopFigures:
    """One iteration of a loop: what it launches, moves, copies, reads back and how many grid
    barriers and counter waits it passes; where it runs (quartet-grinder's placement, and
    why on the host)."""

    loop: str  # "scf.for at model.mlir:12:5"
    trips: int | None  # per run of the loop; None where only the inference knows
    per_iteration: Tally
    exact: bool  # False: part of the body runs a data-dependent number of times (left out)
    placement: str = "host"  # "grid": inside the persistent kernel; "cta": on one of its CTAs
    host_reason: str | None = None


@dataclass
class Placement:
    """Where quartet-grinder placed one loop or branch, why, and the modelled seconds of one
    iteration (one run of a branch) on the grid, on the host and on one CTA."""

    construct: str  # "scf.if at model.mlir:12:5"
    placement: str  # "grid", "cta" or "host"
    reason: str | None
    device_seconds: float | None
    host_seconds: float | None
    cta_seconds: float | None
    speculated: int = 0  # tiled operators quartet-speculate-branches moved out of it


@dataclass
class DataDependentRegion(Tally):
    """A region that runs as many times as the inference decides, and what one run of it
    launches and moves (its own constant loops multiplied in; nested data-dependent regions
    are entries of their own)."""

    region: str = ""  # "body of scf.while at model.mlir:12:5"
    reached: int = 0  # how many times control reaches its op, per run of ``within``
    within: int | None = None  # the data-dependent region around it (an index), else None


@dataclass
class Counters(Tally):
    """Per inference: everything outside data-dependent regions (all of it when ``exact``),
    plus one entry per data-dependent region that launches a kernel, outermost first.
    ``kernels`` lists every kernel with its operators, its figures those of its launches
    outside data-dependent regions."""

    compulsory_bytes: int = 0
    kept_apart: list[str] = field(default_factory=list)  # quartet-welder's welder.kept_apart
    data_dependent: list[DataDependentRegion] = field(default_factory=list)
    loops: list[LoopFigures] = field(default_factory=list)  # in program order, outermost first
    placements: list[Placement] = field(default_factory=list)  # every loop and branch

    @property
    def host_round_trips_per_iteration(self) -> int | None:
        """The most read-backs one iteration of any loop makes (None without loops)."""
        return max((loop.per_iteration.host_round_trips for loop in self.loops), default=None)

    @property
    def grid_barriers_per_iteration(self) -> int | None:
        """The most grid barriers one iteration of any loop passes (None without loops)."""
        return max((loop.per_iteration.grid_barriers for loop in self.loops), default=None)

    @property
    def waits_per_iteration(self) -> int | None:
        """The most counter waits one iteration of any loop passes (None without loops)."""
        return max((loop.per_iteration.waits for loop in self.loops), default=None)

    @property
    def exact(self) -> bool:
        """Whether the totals are the whole inference's (no kernel runs a data-dependent
        number of times)."""
        return not self.data_dependent


def count(module: ir.Module, entry: str, filename: str = "<module>") -> Counters:
    """The counters of ``entry`` in the loop-level ``module`` (after quartet-lower-tiles);
    ``filename`` names the parsed text in the data-dependent regions' locations."""
    functions = {
        ir.StringAttr(op.attributes["sym_name"]).value: op
        for op in module.body.operations
        if op.operation.name == "func.func"
    }
    host = functions[entry]
    counters = Counters(compulsory_bytes=_compulsory(module, host))
    if "welder.kept_apart" in host.attributes:
        notes = ir.ArrayAttr(host.attributes["welder.kept_apart"])
        counters.kept_apart = [ir.StringAttr(note).value for note in notes]
    arguments = host.regions[0].blocks[0].arguments
    start = _Place(counters, 1, None, {argument: False for argument in arguments}, (entry,))
    _Walk(functions, counters, filename).region(host.regions[0], start)
    return counters


@dataclass(frozen=True)
class _Place:
    """Where the walk is: the tally its launches go to, how many times an op here runs per
    run of that tally's scope, and the function it is in (whether each argument is an
    intermediate buffer; the calls that led here, and those of them already reported as
    recursive)."""

    tally: Tally
    times: int
    within: int | None
    intermediate: dict[ir.Value, bool]  # the function's arguments, in order
    calls: tuple[str, ...]
    recursive: tuple[str, ...] = ()
    device: bool = False  # inside a vEU program: loads are the device's, segments its tasks


class _Walk:
    def __init__(self, functions: dict[str, ir.OpView], counters: Counters, filename: str):
        self.functions, self.counters, self.filename = functions, counters, filename
        self.kernels = {name for name, function in functions.items() if _holds_kernel(function)}

    def region(self, region: ir.Region, place: _Place) -> None:
        for block in region.blocks:
            for op in block.operations:
                self.op(op.operation, place)

    def op(self, op: ir.Operation, place: _Place) -> None:
        if tile.KERNEL in op.attributes and TRAFFIC in op.attributes:
            self.launch(op, place)
        elif schedule.VEUS in op.attributes:
            self.program(op, place)
        elif place.device and schedule.SEGMENT in op.attributes:
            self.segment(op, place)
        elif place.device and schedule.OWNER in op.attributes:
            self.region(op.regions[0], place)  # the guard of what one CTA runs: its owner's run
        elif place.device and op.name == schedule.BARRIER:
            grid = ir.StringAttr(op.attributes["scope"]).value == "grid"
            place.tally.grid_barriers += place.times if grid else 0
        elif place.device and op.name == schedule.WAIT:
            place.tally.waits += place.times  # before a predicate's load
        elif op.name == "func.call":
            self.call(op, place)
        elif place.device and op.name == "memref.load":
            return  # every vEU reads a predicate: no round trip
        elif op.name in ("memref.load", "memref.copy") and place.calls[-1] not in self.kernels:
            self.host_access(op, place)
        else:
            self.regions(op, place)

    def host_access(self, op: ir.Operation, place: _Place) -> None:
        """A read-back or a copy by the host (in a kernel function, the same op is the
        kernel's)."""
        if op.name == "memref.load":
            place.tally.host_round_trips += place.times
            return
        place.tally.copies += place.times
        place.tally.copy_bytes += place.times * 2 * _bytes(op.operands[0].type)

    def regions(self, op: ir.Operation, place: _Place) -> None:
        """The regions of any other op, each as many times as it runs per run of ``op``."""
        if op.name in PLACEABLE_OPS and (PLACEMENT in op.attributes or not place.device):
            # in a vEU program, a branch of no placement is the program's own (vEU 0's)
            self.counters.placements.append(_placement(op, self.filename))
        if op.name in ("scf.for", "scf.while"):
            self.counters.loops.append(self.loop_figures(op, place))
        for region, runs in _runs(op):
            if isinstance(runs, int):
                self.region(region, replace(place, times=place.times * runs))
            else:
                where = format_location(op.location, self.filename)
                self.data_dependent(region, f"{runs} at {where}", place)

    def loop_figures(self, loop: ir.Operation, place: _Place) -> LoopFigures:
        """One iteration of ``loop``, counted by a walk of its regions of its own (whose
        data-dependent regions are left out of the figures, which then are not exact)."""
        scratch = Counters()
        walk = _Walk(self.functions, scratch, self.filename)
        iteration = Tally()
        for region in loop.regions:
            walk.region(region, replace(place, tally=iteration, times=1, within=None))
        where = f"{loop.name} at {format_location(loop.location, self.filename)}"
        trips = _trip_count(loop) if loop.name == "scf.for" else None
        figures = LoopFigures(where, trips, iteration, exact=not scratch.data_dependent)
        figures.placement = _scope(loop)
        if HOST_REASON in loop.attributes:
            figures.host_reason = ir.StringAttr(loop.attributes[HOST_REASON]).value
        return figures

    def launch(self, block_loop: ir.Operation, place: _Place) -> None:
        """A block loop: one launch of its kernel, its traffic per argument of the function
        that holds it."""
        self.traffic(block_loop, place, list(place.intermediate.values()))

    def traffic(self, carrier: ir.Operation, place: _Place, flags: list[bool], launched=True):
        """The traffic ``carrier`` (a block loop, or a task function) records per argument of
        its kernel, ``flags`` saying which arguments are intermediate buffers."""
        name = tile.Kernel.from_attr(carrier.attributes[tile.KERNEL]).name
        flat = list(ir.DenseI64ArrayAttr(carrier.attributes[TRAFFIC]))
        pairs = zip(flat[0::2], flat[1::2], strict=True)
        traffic = [
            (loaded, stored, intermediate)
            for (loaded, stored), intermediate in zip(pairs, flags, strict=True)
        ]
        blank = KernelTraffic(operators=_operators(carrier), modelled_seconds=_seconds(carrier))
        operators = self.counters.kernels.setdefault(name, blank).operators
        place.tally.add(name, operators, place.times, traffic, launched)

    def program(self, loop: ir.Operation, place: _Place) -> None:
        """A vEU program: one launch of its persistent kernel, and every task of each of its
        segments (the task function's traffic is its whole grid's, i.e. every task's)."""
        name = tile.Kernel.from_attr(loop.attributes[tile.KERNEL]).name
        place.tally.add(name, [], place.times, [])
        self.region(loop.regions[0], replace(place, device=True))

    def segment(self, segment: ir.Operation, place: _Place) -> None:
        """A segment of a vEU program: every task of its launch (the task function's traffic
        is its whole grid's, i.e. every task's)."""
        (call,) = calls_in(segment)
        task = self.functions[ir.FlatSymbolRefAttr(call.attributes["callee"]).value]
        flags = [_intermediate(operand, place) for operand in list(call.operands)[1:]]
        self.traffic(task, place, flags, launched=False)
        waits = schedule.Segment.from_attr(segment.attributes[schedule.SEGMENT]).waits
        place.tally.waits += place.times * len(waits)

    def call(self, call: ir.Operation, place: _Place) -> None:
        """The callee's body, run where the call is, its arguments the call's operands. A
        recursive call is a data-dependent region: one run of it is one more level."""
        name = ir.FlatSymbolRefAttr(call.attributes["callee"]).value
        callee = self.functions.get(name)
        if callee is None or not callee.regions[0].blocks or name in place.recursive:
            return
        arguments = callee.regions[0].blocks[0].arguments
        flags = [_intermediate(operand, place) for operand in call.operands]
        intermediate = dict(zip(arguments, flags, strict=True))
        inside = replace(place, intermediate=intermediate, calls=(*place.calls, name))
        if name not in place.calls:
            self.region(callee.regions[0], inside)
            return
        where = format_location(call.location, self.filename)
        level = replace(inside, recursive=(*place.recursive, name))
        self.data_dependent(callee.regions[0], f"recursive call of @{name} at {where}", level)

    def data_dependent(self, region: ir.Region, what: str, place: _Place) -> None:
        """``region`` as an entry of its own, kept if something in it launches a kernel."""
        entries = self.counters.data_dependent
        entry = DataDependentRegion(region=what, reached=place.times, within=place.within)
        index = len(entries)
        entries.append(entry)
        self.region(region, replace(place, tally=entry, times=1, within=index))
        if entry.launches == 0 and len(entries) == index + 1:
            entries.pop()  # nothing launches in it, nor in a region it holds


def _placement(op: ir.Operation, filename: str) -> Placement:
    where = f"{op.name} at {format_location(op.location, filename)}"
    reason = (
        ir.StringAttr(op.attributes[HOST_REASON]).value if HOST_REASON in op.attributes else None
    )
    modelled = ir.DictAttr(op.attributes[MODELLED]) if MODELLED in op.attributes else None
    seconds = [
        ir.FloatAttr(modelled[key]).value if modelled is not None else None
        for key in ("device_seconds", "host_seconds", "cta_seconds")
    ]
    return Placement(where, _scope(op), reason, *seconds, _speculated(op))


def _speculated(construct: ir.Operation) -> int:
    """How many tiled operators left ``construct``: the ``grinder.speculated_from`` of the
    function that held it names its location once per operator (bufferization rebuilds the
    construct, keeping its location; quartet-rammer may move it into a function of its own,
    so every function of the module is read)."""
    module = construct
    while module.parent is not None:
        module = module.parent
    where = str(construct.location)
    origins = [
        origin
        for function in module.regions[0].blocks[0].operations
        if SPECULATED_FROM in function.attributes
        for origin in ir.ArrayAttr(function.attributes[SPECULATED_FROM])
    ]
    return sum(str(ir.Location.from_attr(origin)) == where for origin in origins)


def _scope(construct: ir.Operation) -> str:
    """Where quartet-grinder placed ``construct``: "grid", "cta" or "host"."""
    if PLACEMENT not in construct.attributes:
        return "host"
    return Device.from_attr(construct.attributes[PLACEMENT]).scope


def _holds_kernel(function: ir.OpView) -> bool:
    """Whether ``function`` is a kernel function (its block loop is a kernel: on a GPU target
    its other ops run in the kernel, not on the host)."""
    found = []

    def visit(op: ir.Operation) -> ir.WalkResult:
        if tile.KERNEL in op.attributes:
            found.append(op)
            return ir.WalkResult.INTERRUPT
        return ir.WalkResult.ADVANCE

    function.operation.walk(visit)
    return bool(found)


def _runs(op: ir.Operation) -> list[tuple[ir.Region, int | str]]:
    """Each region of ``op`` with how many times it runs per run of ``op``, or, where only
    the inference knows, what the region is."""
    name = op.name
    if name == "scf.for":
        trips = _trip_count(op)
        body = "body of scf.for (trip count not a constant)" if trips is None else trips
        return [(op.regions[0], body)]
    if name == "scf.while":
        return [(op.regions[0], "condition of scf.while"), (op.regions[1], "body of scf.while")]
    if name == "scf.if":
        condition = _known_condition(op.operands[0])
        if condition is None:
            return [
                (op.regions[0], "then branch of scf.if"),
                (op.regions[1], "else branch of scf.if"),
            ]
        return [(op.regions[0], int(condition)), (op.regions[1], int(not condition))]
    if name in RUN_ONCE:
        return [(region, 1) for region in op.regions]
    return [(region, f"region {i} of {name}") for i, region in enumerate(op.regions)]


def _trip_count(loop: ir.Operation) -> int | None:
    """Iterations of an ``scf.for`` whose bounds and step are constants, else None."""
    bounds = [constant_int(value) for value in loop.operands[:3]]
    if None in bounds:
        return None
    lower, upper, step = bounds
    if "unsignedCmp" in loop.attributes:  # a unit attribute: compare the bounds unsigned
        width = _width(loop.operands[0].type)
        lower, upper, step = (value % (1 << width) for value in bounds)
    if step <= 0:
        return None
    return max(0, -((lower - upper) // step))  # ceil((upper - lower) / step), in integers


def _known_condition(condition: ir.Value) -> bool | None:
    """The value of an ``arith.constant`` i1, else None."""
    owner = condition.owner
    if not isinstance(owner, ir.OpView) or owner.operation.name != "arith.constant":
        return None
    attribute = owner.attributes["value"]
    return attribute.value if isinstance(attribute, ir.BoolAttr) else None


def _width(value_type: ir.Type) -> int:
    """Bits of an integer or index value (index: 64, the targets' pointer width)."""
    return value_type.width if isinstance(value_type, ir.IntegerType) else 64


def _intermediate(value: ir.Value, place: _Place) -> bool:
    """Whether ``value`` is (a view of) a buffer the host allocates, or an argument that
    is one where the function was called."""
    owner = value.owner
    while isinstance(owner, ir.OpView) and owner.operation.name in VIEWS:
        value = owner.operands[0]
        owner = value.owner
    if isinstance(owner, ir.OpView):
        return owner.operation.name in ("memref.alloc", "memref.alloca")
    return place.intermediate.get(value, False)


def calls_in(op: ir.Operation) -> list[ir.Operation]:
    """Every ``func.call`` nested in ``op``, in walk order."""
    found: list[ir.Operation] = []

    def visit(nested: ir.Operation) -> ir.WalkResult:
        if nested.name == "func.call":
            found.append(nested)
        return ir.WalkResult.ADVANCE

    op.walk(visit)
    return found


def _seconds(carrier: ir.Operation) -> float | None:
    if MODELLED_SECONDS not in carrier.attributes:
        return None
    return ir.FloatAttr(carrier.attributes[MODELLED_SECONDS]).value


def _operators(carrier: ir.Operation) -> list[dict]:
    if "tile.members" not in carrier.attributes:
        return []
    operators = []
    for entry in ir.ArrayAttr(carrier.attributes["tile.members"]):
        entry = ir.DictAttr(entry)
        operators.append(
            {
                "operator": ir.StringAttr(entry["operator"]).value,
                "role": ir.StringAttr(entry["role"]).value,
                "levels": [ir.StringAttr(level).value for level in ir.ArrayAttr(entry["levels"])],
            }
        )
    return operators


def _compulsory(module: ir.Module, host) -> int:
    """Bytes of every argument (inputs, weights, outputs) and constant buffer, once each; the
    error word is not model data (and moves no bytes unless a runtime check fails), nor is a
    vEU table (quartet-rammer's schedule)."""
    arguments = host.regions[0].blocks[0].arguments
    errors = ErrorTable.of(host)
    total = sum(
        _bytes(argument.type)
        for position, argument in enumerate(arguments)
        if errors is None or position != errors.argument
    )
    tables = _veu_tables(module.operation)
    for op in module.body.operations:
        if (
            op.operation.name == "memref.global"
            and "constant" in op.attributes
            and ir.StringAttr(op.attributes["sym_name"]).value not in tables
        ):
            total += _bytes(op.type_.value)
    return total


def _veu_tables(module: ir.Operation) -> set[str]:
    """The globals vEU programs name as their tables."""
    tables: set[str] = set()

    def visit(op: ir.Operation) -> ir.WalkResult:
        if schedule.TABLE in op.attributes:
            tables.add(ir.FlatSymbolRefAttr(op.attributes[schedule.TABLE]).value)
        return ir.WalkResult.ADVANCE

    module.walk(visit)
    return tables


def _bytes(value_type: ir.Type) -> int:
    if not isinstance(value_type, ir.ShapedType) or not value_type.has_static_shape:
        return 0
    width = getattr(value_type.element_type, "width", 8)
    return math.prod(value_type.shape) * max(1, width // 8)
