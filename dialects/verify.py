"""Semantic checks of the tile, schedule and controlflow dialects that IRDL cannot express.

IRDL (at parse time) checks attribute and op kinds, operand/result/region counts, required
attributes and the level/scope names. :func:`verify` checks the rest: shapes and ranks of tile
programs against the ops carrying them, Welder groups and edges, runtime checks against the
error tables, vEU programs (:mod:`quartet.dialects.veu_program`: the table's shape and ranges,
satisfiable waits, co-residency, deadlock freedom) and where device-placed control flow may
appear. Each problem is
reported with ``Location.emit_error`` as ``'<op name>' op <message>``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

from mlir import ir
from mlir.dialects import linalg

from . import controlflow, schedule, tile, veu_program
from .params import is_attr


def verify(module_op: ir.Operation) -> bool:
    """Report every semantic error in ``module_op``; True if there were none."""
    errors: list[tuple[ir.Operation, str]] = []
    programs: list[ir.Operation] = []  # vEU programs (ops with schedule.veus)
    checks: list[ir.Operation] = []
    listed: set[int] = set()  # the codes of every tile.errors table in the module
    for op in _walk(module_op):
        errors += [(op, message) for message in _check_op(op)]
        if op.name == tile.CHECK:
            checks.append(op)
        listed |= {error.code for error in _error_table(op)}
        if op.regions:
            errors += _check_groups(op)
        if _attribute(op, schedule.VEUS) is not None:
            programs.append(op)
    failed = {op for op, _ in errors}
    for op in checks:
        if op not in failed:
            errors += [(op, message) for message in _check_listed(op, listed)]
    for program in programs:
        if not failed.intersection([program, *_walk(program)]):
            errors += veu_program.check_program(program)
    for op, message in errors:
        op.location.emit_error(f"'{op.name}' op {message}")
    return not errors


def _walk(op: ir.Operation) -> Iterator[ir.Operation]:
    """``op`` and everything nested in it, in pre-order."""
    yield op
    for region in op.regions:
        for block in region.blocks:
            for nested in block.operations:
                yield from _walk(nested.operation)


def _enclosing(op: ir.Operation, predicate) -> ir.Operation | None:
    """The nearest proper ancestor of ``op`` that satisfies ``predicate``."""
    parent = op.parent
    while parent is not None:
        if predicate(parent):
            return parent
        parent = parent.parent
    return None


def _check_op(op: ir.Operation) -> list[str]:
    errors = _check_attribute_kinds(op) + _check_tile_attributes(op)
    errors += _check_schedule_op(op) + _check_controlflow(op)
    if op.name == "tile.stage":
        errors += _check_stage(op)
    if op.name == tile.CHECK:
        errors += _check_check(op)
    if op.name == "func.func":
        errors += _check_error_word(op)
    return errors


ATTRIBUTE_KINDS = {
    tile.PROGRAM: "tile.rprogram",
    tile.PLAN: "tile.plan",
    tile.GROUP: "tile.group",
    tile.KERNEL: "tile.kernel",
    tile.CANDIDATES: "tile.candidates",
    tile.LAUNCH: "tile.launch",
    schedule.VEUS: "schedule.veus",
    schedule.SEGMENT: "schedule.segment",
    controlflow.PLACEMENT: "controlflow.device",
}


def _check_attribute_kinds(op: ir.Operation) -> list[str]:
    return [
        f"'{key}' must be a #{kind} attribute"
        for key, kind in ATTRIBUTE_KINDS.items()
        if key in op.attributes and not is_attr(op.attributes[key], kind)
    ]


def _attribute(op: ir.Operation, key: str) -> ir.Attribute | None:
    """The discardable attribute ``key`` if present and of the right kind."""
    if key not in op.attributes or not is_attr(op.attributes[key], ATTRIBUTE_KINDS[key]):
        return None
    return op.attributes[key]


# --- tile -------------------------------------------------------------------------------------


def _check_tile_attributes(op: ir.Operation) -> list[str]:
    errors = []
    if (attr := _attribute(op, tile.PROGRAM)) is not None:
        errors += _check_program(op, attr)
    if (attr := _attribute(op, tile.PLAN)) is not None:
        errors += _check_plan(op, attr)
    if (attr := _attribute(op, tile.GROUP)) is not None:
        errors += _check_group(tile.Group.from_attr(attr))
    if (attr := _attribute(op, tile.KERNEL)) is not None and not tile.Kernel.from_attr(attr).name:
        errors.append("tile.kernel name must not be empty")
    if (attr := _attribute(op, tile.CANDIDATES)) is not None:
        errors += _check_candidates(attr)
    if (attr := _attribute(op, tile.LAUNCH)) is not None:
        errors += _check_launch(attr)
    if tile.OPERAND_LEVELS in op.attributes:
        errors += _check_levels(op)
    if tile.ERRORS in op.attributes:
        errors += _check_errors(op.attributes[tile.ERRORS])
    return errors


def _check_group(group: tile.Group) -> list[str]:
    if not group.name:
        return ["tile.group name must not be empty"]
    if any(blocks <= 0 for blocks in group.grid):
        return [f"tile.group grid extents must be positive, got {list(group.grid)}"]
    return []


def _check_launch(attr: ir.Attribute) -> list[str]:
    try:
        launch = tile.Launch.from_attr(attr)
    except ValueError as error:
        return [str(error)]
    if not launch.grid or any(blocks <= 0 for blocks in launch.grid):
        return [f"tile.launch grid extents must be positive, got {list(launch.grid)}"]
    if launch.threads <= 0:
        return [f"tile.launch threads must be positive, got {launch.threads}"]
    if launch.shared < 0:
        return [f"tile.launch shared bytes must be non-negative, got {launch.shared}"]
    return []


def _check_candidates(attr: ir.Attribute) -> list[str]:
    try:
        candidates = tile.Candidates.from_attr(attr)
    except ValueError as error:
        return [str(error)]
    return [
        message for program in candidates.programs for message in _check_program_shapes(program)
    ]


def _check_plan(op: ir.Operation, attr: ir.Attribute) -> list[str]:
    try:
        plan = tile.Plan.from_attr(attr)
    except ValueError as error:
        return [str(error)]
    if any(extent <= 0 for extent in plan.threads):
        return [f"plan threads must be positive, got {list(plan.threads)}"]
    if plan.mma is not None and plan.thread_count != 32 * plan.mma.warps:
        return [f"tile.plan has {plan.thread_count} threads for {plan.mma.warps} mma warps"]
    maps = linalg.get_indexing_maps(op)
    if maps is None:
        return []
    loops = ir.AffineMapAttr(maps[0]).value.n_dims
    inputs = len(op.opview.inputs)
    if len(plan.threads) != loops:
        return [f"tile.plan has threads for {len(plan.threads)} loops but the op has {loops}"]
    if any(not 0 <= index < inputs for index in plan.staged):
        return [f"tile.plan stages inputs {list(plan.staged)} but the op has {inputs} inputs"]
    return []


def _check_levels(op: ir.Operation) -> list[str]:
    try:
        levels = tile.levels_from_attr(op.attributes[tile.OPERAND_LEVELS])
    except ValueError as error:
        return [str(error)]
    reads = [read.operands[0] for read in tile.captured_reads(op)]
    if len(levels) != len(op.operands) + len(reads):
        return [
            f"tile.levels has {len(levels)} entries but the op has {len(op.operands)} operands "
            f"and {len(reads)} captured reads"
        ]
    group = _attribute(op, tile.GROUP)
    name = None if group is None else tile.Group.from_attr(group).name
    errors = []
    for index, (level, operand) in enumerate(zip(levels, [*op.operands, *reads], strict=True)):
        if level == "global" or not isinstance(operand.type, ir.RankedTensorType):
            continue  # on buffers, a producer is whoever wrote the buffer before
        producer = operand.owner if isinstance(operand.owner, ir.OpView) else None
        theirs = None if producer is None else _attribute(producer.operation, tile.GROUP)
        if name is None or theirs is None or tile.Group.from_attr(theirs).name != name:
            errors.append(
                f"operand #{index} at '{level}' needs its producer in the same tile.group"
            )
    return errors


def _check_groups(op: ir.Operation) -> list[tuple[ir.Operation, str]]:
    """Per block of ``op``: every group has exactly one output operator, and one grid."""
    errors = []
    for region in op.regions:
        for block in region.blocks:
            members: dict[str, list[tuple[ir.Operation, tile.Group]]] = defaultdict(list)
            for nested in block.operations:
                if (attr := _attribute(nested.operation, tile.GROUP)) is not None:
                    group = tile.Group.from_attr(attr)
                    members[group.name].append((nested.operation, group))
            for name, ops in members.items():
                outputs = [member for member, group in ops if group.output]
                if len(outputs) != 1:
                    errors.append((ops[0][0], f"tile.group '{name}' has {len(outputs)} outputs"))
                grids = {group.grid for _, group in ops}
                if len(grids) > 1:
                    errors.append((ops[0][0], f"tile.group '{name}' members disagree on the grid"))
    return errors


def _check_program(op: ir.Operation, attr: ir.Attribute) -> list[str]:
    try:
        program = tile.RProgram.from_attr(attr)
    except ValueError as error:
        return [str(error)]
    errors = _check_program_shapes(program)
    if any(pad < 0 for pad in program.smem_pad):
        errors.append(f"smem_pad entries must be non-negative, got {list(program.smem_pad)}")
    if not errors:
        errors += _check_program_against_linalg(op, program)
    return errors


def _check_program_shapes(program: tile.RProgram) -> list[str]:
    if not program.tiles:
        return ["rprogram has no tiles"]
    for rtile in program.tiles:
        if any(extent <= 0 for extent in rtile.shape):
            return [f"rtile extents must be positive, got {list(rtile.shape)}"]
    levels = [rtile.level for rtile in program.tiles]
    if levels != sorted(set(levels), key=tile.LEVELS.index):
        return [f"rprogram levels must be distinct and outermost first, got {', '.join(levels)}"]
    for outer, inner in zip(program.tiles, program.tiles[1:], strict=False):
        if len(outer.shape) != len(inner.shape):
            return [f"rprogram tiles differ in rank: {list(outer.shape)} and {list(inner.shape)}"]
        if any(o % i for o, i in zip(outer.shape, inner.shape, strict=True)):
            return [
                f"{inner.level} tile {list(inner.shape)} does not divide "
                f"{outer.level} tile {list(outer.shape)}"
            ]
    return []


def _check_program_against_linalg(op: ir.Operation, program: tile.RProgram) -> list[str]:
    maps = linalg.get_indexing_maps(op)
    if maps is None:
        return []
    loops = ir.AffineMapAttr(maps[0]).value.n_dims
    rank = len(program.tiles[0].shape)
    errors = []
    if rank != loops:
        errors.append(f"tile.program has rank {rank} but the op has {loops} loops")
    inputs = len(op.opview.inputs)
    if len(program.smem_pad) != inputs:
        pads = len(program.smem_pad)
        errors.append(f"smem_pad has {pads} entries but the op has {inputs} inputs")
    return errors


def _check_stage(op: ir.Operation) -> list[str]:
    source_level = ir.StringAttr(op.attributes["from"]).value
    dest_level = ir.StringAttr(op.attributes["to"]).value
    if source_level == dest_level:
        return [f"stage must move between two levels, got '{source_level}' to '{dest_level}'"]
    source = ir.MemRefType(op.operands[0].type)
    dest = ir.MemRefType(op.operands[1].type)
    if source.element_type != dest.element_type or source.rank != dest.rank:
        return ["source and dest must have the same element type and rank"]
    dynamic = ir.ShapedType.get_dynamic_size()
    for dim, (have, need) in enumerate(zip(dest.shape, source.shape, strict=True)):
        if dynamic not in (have, need) and have < need:
            return [f"dest dim {dim} has {have} elements, fewer than the source's {need}"]
    return []


MAX_CODE = 2**31 - 1  # codes are written into an i32 error word


def _check_errors(attr: ir.Attribute) -> list[str]:
    try:
        table = tile.errors_from_attr(attr)
    except ValueError as error:
        return [str(error)]
    codes = [error.code for error in table]
    if any(not 0 < code <= MAX_CODE for code in codes):
        return [f"tile.errors codes must be positive i32 values, got {codes}"]
    if len(set(codes)) != len(codes):
        return [f"tile.errors codes must be distinct, got {codes}"]
    return []


def _error_table(op: ir.Operation) -> tuple[tile.ErrorCode, ...]:
    """The entries of ``op``'s ``tile.errors`` table (none when absent or malformed)."""
    if tile.ERRORS not in op.attributes:
        return ()
    try:
        return tile.errors_from_attr(op.attributes[tile.ERRORS])
    except ValueError:
        return ()


def _check_check(op: ir.Operation) -> list[str]:
    code = ir.IntegerAttr(op.attributes["code"]).value
    if not 0 < code <= MAX_CODE:
        return [f"code must be a positive i32 value, got {code}"]
    if len(op.operands) == 2 and str(op.operands[1].type) != tile.ERROR_WORD_TYPE:
        return [f"the error word must be a {tile.ERROR_WORD_TYPE}, got {op.operands[1].type}"]
    return []


def _check_listed(op: ir.Operation, listed: set[int]) -> list[str]:
    code = ir.IntegerAttr(op.attributes["code"]).value
    if code in listed:
        return []
    return [f"code {code} has no entry in a tile.errors table of the module"]


def _check_error_word(func: ir.Operation) -> list[str]:
    """At most one argument is marked ``tile.error_word``, and it is a memref<1xi32>."""
    if "arg_attrs" not in func.attributes or not len(func.regions[0].blocks):
        return []
    arguments = func.regions[0].blocks[0].arguments
    attrs = ir.ArrayAttr(func.attributes["arg_attrs"])
    marked = [
        argument
        for argument, entries in zip(arguments, attrs, strict=True)
        if tile.ERROR_WORD in ir.DictAttr(entries)
    ]
    if len(marked) > 1:
        return [f"has {len(marked)} arguments marked '{tile.ERROR_WORD}'"]
    if marked and str(marked[0].type) != tile.ERROR_WORD_TYPE:
        return [
            f"'{tile.ERROR_WORD}' argument must be a {tile.ERROR_WORD_TYPE}, got {marked[0].type}"
        ]
    return []


# --- schedule ---------------------------------------------------------------------------------


def _check_schedule_op(op: ir.Operation) -> list[str]:
    errors = []
    if (attr := _attribute(op, schedule.VEUS)) is not None:
        errors += veu_program.check_veus(schedule.Veus.from_attr(attr))
    if _attribute(op, schedule.SEGMENT) is not None and not _in_veu_program(op):
        errors.append(f"'{schedule.SEGMENT}' must be on an op inside a vEU program")
    if op.name == schedule.BARRIER:
        grid = ir.StringAttr(op.attributes["scope"]).value == "grid"
        types = [ir.MemRefType(value.type) for value in op.operands]
        cells = len(types) == 1 and types[0].shape == [2] and str(types[0].element_type) == "i32"
        if grid != cells or (not grid and types):
            errors.append(
                "a 'grid' barrier takes its two sync cells (a memref of 2 x i32) and a 'cta' "
                f"one nothing, got {[str(t) for t in types]}"
            )
    if op.name in (schedule.WAIT, schedule.SIGNAL):
        if _enclosing(op, lambda parent: schedule.SEGMENT in parent.attributes) is None and not (
            op.name == schedule.WAIT and _in_flow_program(op)
        ):
            errors.append(
                f"must be inside a '{schedule.SEGMENT}' of a vEU program (a wait: or of one "
                f"with '{schedule.GRID_SYNC}', before the load of a predicate)"
            )
        counters = op.operands[0].type
        if ir.MemRefType(counters).rank != 1 or str(ir.MemRefType(counters).element_type) != "i32":
            errors.append(f"counters must be a rank-1 memref of i32, got {counters}")
    return errors


def _in_veu_program(op: ir.Operation) -> bool:
    return _enclosing(op, lambda parent: schedule.VEUS in parent.attributes) is not None


def _in_flow_program(op: ir.Operation) -> bool:
    """Whether ``op`` is in a vEU program with loops and branches on the grid, where every vEU
    waits for the writer of a predicate before it loads it (passes/rammer/order.py)."""
    program = _enclosing(op, lambda parent: schedule.VEUS in parent.attributes)
    return program is not None and schedule.GRID_SYNC in program.attributes


# --- controlflow ------------------------------------------------------------------------------


def _scope(op: ir.Operation) -> str | None:
    attr = _attribute(op, controlflow.PLACEMENT)
    return None if attr is None else controlflow.Device.from_attr(attr).scope


def _check_controlflow(op: ir.Operation) -> list[str]:
    placed_parent = _enclosing(op, lambda parent: _scope(parent) is not None)
    enclosing_scope = None if placed_parent is None else _scope(placed_parent)
    scope = _scope(op)
    if scope is not None and op.name not in controlflow.PLACEABLE_OPS:
        return [f"'{controlflow.PLACEMENT}' is only allowed on scf.for, scf.while and scf.if"]
    if scope == "grid" and enclosing_scope == "cta":
        return ["a 'grid'-scoped device construct cannot be nested in a 'cta'-scoped one"]
    if _grid_barrier(op) and enclosing_scope == "cta":
        return ["a 'grid' barrier cannot be inside a 'cta'-scoped device construct"]
    if op.name == "controlflow.broadcast" and enclosing_scope != "grid":
        return ["must be inside a 'grid'-scoped device construct"]
    return []


def _grid_barrier(op: ir.Operation) -> bool:
    return op.name == schedule.BARRIER and ir.StringAttr(op.attributes["scope"]).value == "grid"
