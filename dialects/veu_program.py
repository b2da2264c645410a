"""Checks of a vEU program (a block loop marked ``schedule.veus``) that IRDL cannot express,
for :mod:`quartet.dialects.verify`.

A vEU program is correct when its table is well formed and every vEU, walking its segments
in order, gets through every wait:

- the loop runs one iteration per vEU, and no more vEUs than the arch holds at once;
- ``schedule.table`` names a constant ``launches x vEUs x 2`` i32 global, and each launch's
  ranges ``[lo, hi)`` partition its tasks ``[0, tasks)``;
- segments list the launches 0, 1, ... in program order; each has one ``schedule.signal`` of
  its own launch (none inside the owner's guard of a construct on one CTA,
  ``schedule.owner``: only its CTA runs it, and no wait may wait for it), and its
  ``schedule.wait`` ops are the waits its attribute lists, each for all the tasks of a launch
  of the program (a satisfiable count);
- a simulation of the table ends with every vEU done: each vEU runs its non-empty segments in
  order, a segment starting once the counters it waits on are complete, and adds its task
  count to its launch's counter. A vEU that never gets past a wait is a deadlock, reported at
  the wait with the vEUs stuck there and the counter it reached. A wait for a launch that
  is not before it (in a program with loops on the grid: the launch's run of the previous
  iteration, passes/rammer/order.py) holds at once in the simulation, one pass over the
  segments: their first iteration, where that launch has not run.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np
from mlir import ir

from quartet.hardware import GPUS

from . import schedule

Error = tuple[ir.Operation, str]


def check_veus(veus: schedule.Veus) -> list[str]:
    """The virtual device itself: positive counts, and no more vEUs than are co-resident."""
    if veus.count <= 0 or veus.per_sm <= 0:
        return [f"vEU count and per_sm must be positive, got {veus.count} and {veus.per_sm}"]
    if veus.count % veus.per_sm:
        return [f"vEU count {veus.count} is not a multiple of per_sm {veus.per_sm}"]
    spec = GPUS.get(veus.arch)
    if spec is None:
        return [f"vEUs on unknown arch '{veus.arch}' (known: {', '.join(GPUS)})"]
    resident = veus.per_sm * spec.sm_count
    if veus.count > resident:
        return [
            f"vEU count {veus.count} exceeds the {resident} co-resident on {veus.arch} "
            f"({veus.per_sm} per SM x {spec.sm_count} SMs)"
        ]
    return []


def check_program(loop: ir.Operation) -> list[Error]:
    """Every problem of the vEU program ``loop`` (its ``schedule.veus`` already checked)."""
    veus = schedule.Veus.from_attr(loop.attributes[schedule.VEUS])
    if not _runs_each_veu(loop, veus.count):
        return [(loop, f"a vEU program must be an scf.parallel from 0 to {veus.count} step 1")]
    segments = segments_of(loop)
    errors = _check_order(loop, segments)
    if errors:
        return errors
    table = veu_table(loop)
    if isinstance(table, str):
        return [(loop, table)]
    shape = (len(segments), veus.count, 2)
    if table.shape != shape:
        return [
            (loop, f"vEU table has shape {list(table.shape)} but the program needs {list(shape)}")
        ]
    tasks = [segment.tasks for _, segment in segments]
    errors = [(loop, message) for message in _check_ranges(table, tasks)]
    waits: list[list[tuple[ir.Operation, int, int]]] = []
    for op, segment in segments:
        found, problems = _check_segment(op, segment, tasks)
        waits.append(found)
        errors += problems
    errors += _waits_for_unsignalled(loop, segments)
    if errors:
        return errors
    return _deadlocks(table, tasks, waits, schedule.GRID_SYNC in loop.attributes)


def _runs_each_veu(loop: ir.Operation, count: int) -> bool:
    if loop.name != "scf.parallel" or len(loop.opview.upperBound) != 1:
        return False
    bounds = [loop.opview.lowerBound[0], loop.opview.upperBound[0], loop.opview.step[0]]
    return [_constant(value) for value in bounds] == [0, count, 1]


def segments_of(loop: ir.Operation) -> list[tuple[ir.Operation, schedule.Segment]]:
    """The segments of the vEU program ``loop`` in program order, those inside its loops
    and branches on the grid (quartet-grinder's) included."""
    return [
        (op, schedule.Segment.from_attr(op.attributes[schedule.SEGMENT]))
        for op in _walk(loop)
        if schedule.SEGMENT in op.attributes
    ]


def _check_order(loop: ir.Operation, segments) -> list[Error]:
    if not segments:
        return [(loop, "a vEU program needs at least one segment")]
    for position, (op, segment) in enumerate(segments):
        if segment.launch != position:
            return [
                (
                    op,
                    f"segment #{position} is for launch {segment.launch}: segments must list "
                    "launches 0, 1, ... in program order",
                )
            ]
        if segment.tasks <= 0:
            return [(op, f"segment of launch {position} has {segment.tasks} tasks")]
    return []


def veu_table(loop: ir.Operation) -> np.ndarray | str:
    """The vEU table ``schedule.table`` names, or what is wrong with it."""
    if schedule.TABLE not in loop.attributes:
        return f"a vEU program needs a '{schedule.TABLE}' naming its vEU table"
    symbol = loop.attributes[schedule.TABLE]
    if not isinstance(symbol, ir.FlatSymbolRefAttr):
        return f"'{schedule.TABLE}' must be a flat symbol reference"
    module = loop.parent
    while module is not None and module.name != "builtin.module":
        module = module.parent
    table = ir.SymbolTable(module) if module is not None else None
    found = table[symbol.value] if table is not None and symbol.value in table else None
    if (
        found is None
        or found.operation.name != "memref.global"
        or "constant" not in found.attributes
        or "initial_value" not in found.attributes
    ):
        return f"{schedule.TABLE} @{symbol.value} does not name a constant memref.global"
    element = ir.MemRefType(found.type_.value).element_type
    if str(element) != "i32":
        return f"vEU table @{symbol.value} must hold i32, got {element}"
    value = ir.DenseIntElementsAttr(found.initial_value)
    shape = ir.ShapedType(value.type).shape
    if value.is_splat:
        return np.full(shape, value.get_splat_value().value, np.int64)
    return np.array(value, np.int64).reshape(shape)


def _check_ranges(table: np.ndarray, tasks: list[int]) -> list[str]:
    """Each launch's ranges ``[lo, hi)`` partition ``[0, tasks)``."""
    errors = []
    for launch, count in enumerate(tasks):
        ranges = [(int(lo), int(hi)) for lo, hi in table[launch]]
        bad = next((v for v, (lo, hi) in enumerate(ranges) if not 0 <= lo <= hi <= count), None)
        if bad is not None:
            lo, hi = ranges[bad]
            errors.append(
                f"vEU table gives vEU {bad} the range [{lo}, {hi}) of launch {launch}, "
                f"outside its {count} tasks"
            )
            continue
        runs = np.zeros(count, np.int64)
        for lo, hi in ranges:
            runs[lo:hi] += 1
        if (runs != 1).any():
            task = int(np.flatnonzero(runs != 1)[0])
            errors.append(
                f"vEU table does not partition the {count} tasks of launch {launch}: "
                f"task {task} runs on {int(runs[task])} vEUs"
            )
    return errors


def _check_segment(op: ir.Operation, segment: schedule.Segment, tasks: list[int]):
    """The waits of one segment as (op, launch, expected), and its problems."""
    waits, signals, errors = [], [], []
    for nested in _walk(op):
        if nested.name == schedule.WAIT:
            launch, expected = _constant(nested.operands[1]), _constant(nested.operands[2])
            problem = _check_wait(launch, expected, tasks)
            if problem:
                errors.append((nested, problem))
            waits.append((nested, launch, expected))
        elif nested.name == schedule.SIGNAL:
            signals.append(nested)
    expected = 0 if _owned(op) else 1
    if len(signals) != expected:
        errors.append(
            (
                op,
                f"segment of launch {segment.launch} has {len(signals)} schedule.signal ops, "
                f"expected {expected}" + (" (on one CTA)" if _owned(op) else ""),
            )
        )
    elif signals and _constant(signals[0].operands[1]) != segment.launch:
        errors.append((signals[0], f"must signal launch {segment.launch}, its segment's"))
    listed = sorted(launch for _, launch, _ in waits if launch is not None)
    if not errors and listed != sorted(segment.waits):
        errors.append(
            (
                op,
                f"segment lists waits {list(segment.waits)} but its schedule.wait ops wait "
                f"for {listed}",
            )
        )
    return waits, errors


def _owned(segment: ir.Operation) -> bool:
    """Whether ``segment`` is inside the owner's guard of a construct on one CTA."""
    parent = segment.parent
    while parent is not None and schedule.VEUS not in parent.attributes:
        if schedule.OWNER in parent.attributes:
            return True
        parent = parent.parent
    return False


def _waits_for_unsignalled(loop: ir.Operation, segments) -> list[Error]:
    """A wait, anywhere in the program, for a launch on one CTA: its segment signals nothing,
    so the wait would never hold."""
    unsignalled = {segment.launch for op, segment in segments if _owned(op)}
    return [
        (op, f"waits for launch {launch}, which runs on one CTA and signals nothing")
        for op in _walk(loop)
        if op.name == schedule.WAIT and (launch := _constant(op.operands[1])) in unsignalled
    ]


def _check_wait(launch: int | None, expected: int | None, tasks: list[int]) -> str | None:
    if launch is None or expected is None:
        return "launch index and expected count must be constants"
    if not 0 <= launch < len(tasks):
        return f"waits for launch {launch}, but the program has {len(tasks)} launches"
    if expected != tasks[launch]:
        return f"waits for {expected} tasks of launch {launch}, which has {tasks[launch]}"
    return None


def _deadlocks(table: np.ndarray, tasks: list[int], waits, loops: bool) -> list[Error]:
    """Run the table: each vEU walks its non-empty segments in order; a wait holds it until
    its counter reaches the expected count (in a program with ``loops`` on the grid, a wait
    for a launch not before it holds at once). The waits where vEUs are stuck at the end."""
    launches, veus = table.shape[0], table.shape[1]
    position = [0] * veus
    counters = [0] * launches
    blocked: dict[int, list[int]] = defaultdict(list)  # launch -> vEUs waiting on its counter
    stuck_at: dict[int, ir.Operation] = {}
    ready = deque(range(veus))
    while ready:
        veu = ready.popleft()
        while position[veu] < launches:
            launch = position[veu]
            lo, hi = table[launch, veu]
            if lo == hi:
                position[veu] += 1
                continue
            short = next(
                (
                    w
                    for w in waits[launch]
                    if (w[1] < launch or not loops) and counters[w[1]] < w[2]
                ),
                None,
            )
            if short is not None:
                blocked[short[1]].append(veu)
                stuck_at[veu] = short[0]
                break
            stuck_at.pop(veu, None)
            counters[launch] += int(hi - lo)
            ready.extend(blocked.pop(launch, []))
            position[veu] += 1
    stuck: dict[ir.Operation, list[int]] = defaultdict(list)
    for veu, op in stuck_at.items():
        if position[veu] < launches:
            stuck[op].append(veu)
    errors = []
    for op, stuck_veus in stuck.items():
        launch = _constant(op.operands[1])
        errors.append(
            (
                op,
                f"the vEU program deadlocks: vEUs {sorted(stuck_veus)} never get past this "
                f"wait (launch {launch} signalled {counters[launch]} of {tasks[launch]} tasks)",
            )
        )
    return errors


def _walk(op: ir.Operation):
    for region in op.regions:
        for block in region.blocks:
            for nested in block.operations:
                yield nested.operation
                yield from _walk(nested.operation)


def _constant(value: ir.Value) -> int | None:
    owner = value.owner
    if not isinstance(owner, ir.OpView) or owner.operation.name != "arith.constant":
        return None
    attr = owner.attributes["value"]
    return ir.IntegerAttr(attr).value if isinstance(attr, ir.IntegerAttr) else None
