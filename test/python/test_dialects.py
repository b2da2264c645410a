"""The three IRDL dialects: loading, the Python attribute views, and the semantic verifier."""

from __future__ import annotations

import time

import pytest
from mlir import ir

from quartet.dialects import DIALECT_NAMES, create_context
from quartet.dialects.controlflow import Device
from quartet.dialects.schedule import Segment, Veus
from quartet.dialects.tile import (
    Candidates,
    Edge,
    ErrorCode,
    Group,
    Kernel,
    Launch,
    Plan,
    RProgram,
    RTile,
    TensorCores,
)
from quartet.dialects.verify import verify

MATMUL = """
func.func @f(%a: tensor<64x32xf32>, %b: tensor<32x64xf32>, %c: tensor<64x64xf32>)
    -> tensor<64x64xf32> {
  %0 = linalg.matmul {tile.program = PROGRAM}
      ins(%a, %b : tensor<64x32xf32>, tensor<32x64xf32>) outs(%c : tensor<64x64xf32>)
      -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}
"""


def program(*tiles: str, pad: str = "array<i64>") -> str:
    return f"#tile.rprogram<[{', '.join(tiles)}], {pad}>"


def rtile(level: str, *shape: int) -> str:
    return f'#tile.rtile<"{level}", array<i64: {", ".join(map(str, shape))}>>'


def on_op(attributes: str) -> str:
    return f'"test.op"() {{{attributes}}} : () -> ()'


def veu_program(
    table: list, waits: dict[int, list[int]] | None = None, veus: str | None = None
) -> str:
    """A vEU program over ``table`` ([launch][veu] = [lo, hi)): one segment per launch with
    its ``waits`` (launch -> launches it waits for, each for all its tasks) and one signal."""
    waits = waits or {}
    launches, count = len(table), len(table[0])
    tasks = [max(hi for _, hi in ranges) for ranges in table]
    veus = veus or f'#schedule.veus<{count}, {count}, "sm_90">'
    segments = []
    for launch in range(launches):
        lines = [
            f'"schedule.wait"(%counters, %c{d}, %n{d}, %epoch) : (memref<{launches}xi32>, index, '
            "i32, i32) -> ()"
            for d in waits.get(launch, [])
        ]
        lines.append(
            f'"schedule.signal"(%counters, %c{launch}, %one) : (memref<{launches}xi32>, index, '
            "i32) -> ()"
        )
        listed = ": " + ", ".join(map(str, waits[launch])) if waits.get(launch) else ""
        segment = f'#schedule.segment<{launch}, "k{launch}", {tasks[launch]}, array<i64{listed}>>'
        segments.append(
            "scf.if %run {\n" + "\n".join(lines) + f"\n}} {{schedule.segment = {segment}}}"
        )
    constants = "\n".join(
        f"%c{i} = arith.constant {i} : index\n"
        f"%n{i} = arith.constant {tasks[i] if i < launches else 0} : i32"
        for i in range(max(launches, count + 1))
    )
    return f"""
memref.global "private" constant @t : memref<{launches}x{count}x2xi32> = dense<{table}>
func.func @p(%counters: memref<{launches}xi32>, %epoch: i32, %run: i1) {{
  %one = arith.constant 1 : i32
  {constants}
  scf.parallel (%veu) = (%c0) to (%c{count}) step (%c1) {{
    {chr(10).join(segments)}
  }} {{schedule.veus = {veus}, schedule.table = @t}}
  return
}}
"""


def device_for(body: str, scope: str, iv: str = "%i") -> str:
    return f"""scf.for {iv} = %c0 to %n step %c1 {{
    {body}
  }} {{controlflow.placement = #controlflow.device<"{scope}">}}"""


def in_func(body: str) -> str:
    return f"""
func.func @f(%n: index, %x: i1, %sync: memref<2xi32>) {{
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  {body}
  return
}}
"""


LEVELS_REG = '[#tile.edge<"reg">]'


def group_op(name: str, output: int, grid: str = "array<i64>", levels: str | None = None) -> str:
    """``%0 = arith.addf %x, %x`` as a member of group ``name``."""
    attrs = f'tile.group = #tile.group<"{name}", {grid}, {"true" if output else "false"}, true>'
    if levels is not None:
        attrs += f", tile.levels = {levels}"
    return f"%0 = arith.addf %x, %x {{{attrs}}} : f32"


def verifier_messages(source: str) -> tuple[bool, list[str]]:
    """Parse ``source`` (it must pass IRDL), run the verifier, and collect what it reports."""
    context = create_context()
    context.allow_unregistered_dialects = True
    messages: list[str] = []

    def collect(diagnostic: ir.DiagnosticInfo) -> bool:
        messages.append(diagnostic.message)
        return True

    context.attach_diagnostic_handler(collect)
    with context, ir.Location.unknown():
        module = ir.Module.parse(source)
        return verify(module.operation), messages


def test_create_context_loads_every_dialect():
    context = create_context()
    for op in ("tile.stage", "schedule.wait", "schedule.barrier", "controlflow.broadcast"):
        assert context.is_registered_operation(op), op
    assert set(DIALECT_NAMES) == {"tile", "schedule", "controlflow"}


def test_create_context_gives_a_fresh_context_each_time():
    assert create_context() is not create_context()


@pytest.mark.parametrize(
    "value",
    [
        RTile("smem", (64, 64, 16)),
        RProgram((RTile("smem", (64, 64, 16)), RTile("reg", (4, 4, 16))), (0, 4)),
        RProgram((RTile("global", (128,)),), ()),
        Group("mlp_k0", (4, 2), True),
        Group('quote " and \\ backslash', (), False),
        Edge("reg"),
        Kernel("mlp_k3"),
        Candidates((RProgram((RTile("smem", (8, 16)), RTile("reg", (1, 4))), (0,)),)),
        Plan((16, 16, 1), (0, 1), True),
        Plan((2, 64, 1), (0, 1), False, TensorCores(0, 1, 2, 2, 2, 1, 4)),
        Veus(216, 2, "sm_90"),
        Segment(3, "bert_k2", 96, (0, 2)),
        Segment(0, "f_k0", 1),
        Launch((4, 32), 256, 13824),
        Device("grid"),
        ErrorCode(3, "node 'g' (Gather): an index in \"idx\" is out of range"),
    ],
)
def test_attribute_views_round_trip(value):
    with create_context(), ir.Location.unknown():
        attr = value.to_attr()
        assert type(value).from_attr(attr) == value
        assert type(value).from_attr(ir.Attribute.parse(str(attr))) == value


def test_rprogram_prints_in_the_documented_form():
    with create_context():
        attr = RProgram((RTile("smem", (64, 64, 16)), RTile("reg", (4, 4, 16))), (0, 4)).to_attr()
        assert str(attr) == (
            '#tile.rprogram<[#tile.rtile<"smem", array<i64: 64, 64, 16>>, '
            '#tile.rtile<"reg", array<i64: 4, 4, 16>>], array<i64: 0, 4>>'
        )
        assert RProgram.from_attr(attr).tile("reg") == RTile("reg", (4, 4, 16))
        assert RProgram.from_attr(attr).tile("global") is None


def test_from_attr_rejects_another_kind():
    with create_context():
        with pytest.raises(ValueError, match="expected a #tile.rprogram attribute"):
            RProgram.from_attr(Edge("smem").to_attr())
        with pytest.raises(ValueError, match="expected a #schedule.veus attribute"):
            Veus.from_attr(ir.Attribute.parse("4"))


def test_irdl_rejects_an_unknown_level():
    with create_context(), pytest.raises(ir.MLIRError, match="does not satisfy the constraint"):
        RTile("l2", (8,)).to_attr()


EDGE_SMEM = '#tile.edge<"smem">'
CTA = '#controlflow.device<"cta">'
RTILE_I32 = '#tile.rtile<"smem", array<i32: 8>>'

VALID = [
    MATMUL.replace(
        "PROGRAM",
        program(rtile("smem", 64, 64, 16), rtile("reg", 4, 4, 16), pad="array<i64: 0, 4>"),
    ),
    veu_program([[[0, 1], [1, 2]], [[0, 2], [2, 2]]], {1: [0]}),
    in_func(
        device_for('"schedule.barrier"(%sync) {scope = "grid"} : (memref<2xi32>) -> ()', "grid")
    ),
    in_func(device_for('%y = "controlflow.broadcast"(%x) : (i1) -> i1', "grid")),
]


@pytest.mark.parametrize("source", VALID)
def test_valid_programs_pass(source):
    assert verifier_messages(source) == (True, [])


INVALID = {
    "tile.program kind": (
        on_op('tile.program = #tile.edge<"smem">'),
        "'test.op' op 'tile.program' must be a #tile.rprogram attribute",
    ),
    "tile.group kind": (
        on_op('tile.group = "k0"'),
        "'test.op' op 'tile.group' must be a #tile.group attribute",
    ),
    "tile.kernel kind": (
        on_op('tile.kernel = "k0"'),
        "'test.op' op 'tile.kernel' must be a #tile.kernel attribute",
    ),
    "tile.plan kind": (
        on_op("tile.plan = 3"),
        "'test.op' op 'tile.plan' must be a #tile.plan attribute",
    ),
    "tile.candidates kind": (
        on_op(f"tile.candidates = {program(rtile('smem', 8))}"),
        "'test.op' op 'tile.candidates' must be a #tile.candidates attribute",
    ),
    "tile.levels kind": (
        on_op('tile.levels = ["smem"]'),
        "'test.op' op expected a #tile.edge attribute, got \"smem\"",
    ),
    "tiles are rtiles": (
        on_op("tile.program = " + program(EDGE_SMEM)),
        "'test.op' op rprogram tiles must be #tile.rtile attributes",
    ),
    "rtile shape i64": (
        on_op("tile.program = " + program(RTILE_I32)),
        "'test.op' op rtile shape must be an array<i64>",
    ),
    "smem_pad i64": (
        on_op(f"tile.program = {program(rtile('smem', 8), pad='array<i32: 0>')}"),
        "'test.op' op rprogram smem_pad must be an array<i64>",
    ),
    "no tiles": (on_op(f"tile.program = {program()}"), "'test.op' op rprogram has no tiles"),
    "positive extents": (
        on_op(f"tile.program = {program(rtile('smem', 64, 0, 16))}"),
        "'test.op' op rtile extents must be positive, got [64, 0, 16]",
    ),
    "level order": (
        on_op(f"tile.program = {program(rtile('reg', 4), rtile('smem', 64))}"),
        "'test.op' op rprogram levels must be distinct and outermost first, got reg, smem",
    ),
    "level repeat": (
        on_op(f"tile.program = {program(rtile('smem', 64), rtile('smem', 32))}"),
        "'test.op' op rprogram levels must be distinct and outermost first, got smem, smem",
    ),
    "equal rank": (
        on_op(f"tile.program = {program(rtile('smem', 64, 64), rtile('reg', 4))}"),
        "'test.op' op rprogram tiles differ in rank: [64, 64] and [4]",
    ),
    "reg divides smem": (
        on_op(f"tile.program = {program(rtile('smem', 64, 64, 16), rtile('reg', 4, 3, 16))}"),
        "'test.op' op reg tile [4, 3, 16] does not divide smem tile [64, 64, 16]",
    ),
    "smem divides global": (
        on_op(f"tile.program = {program(rtile('global', 100), rtile('smem', 64))}"),
        "'test.op' op smem tile [64] does not divide global tile [100]",
    ),
    "pad non-negative": (
        on_op(f"tile.program = {program(rtile('smem', 64), pad='array<i64: 0, -4>')}"),
        "'test.op' op smem_pad entries must be non-negative, got [0, -4]",
    ),
    "rank equals loops": (
        MATMUL.replace("PROGRAM", program(rtile("smem", 64, 64), pad="array<i64: 0, 0>")),
        "'linalg.matmul' op tile.program has rank 2 but the op has 3 loops",
    ),
    "pad per input": (
        MATMUL.replace("PROGRAM", program(rtile("smem", 64, 64, 16), pad="array<i64: 4>")),
        "'linalg.matmul' op smem_pad has 1 entries but the op has 2 inputs",
    ),
    "group name": (
        on_op('tile.group = #tile.group<"", array<i64>, true, true>'),
        "'test.op' op tile.group name must not be empty",
    ),
    "group grid": (
        on_op('tile.group = #tile.group<"g", array<i64: 4, 0>, true, true>'),
        "'test.op' op tile.group grid extents must be positive, got [4, 0]",
    ),
    "group output": (
        f"func.func @f(%x: f32) -> f32 {{\n {group_op('g', 0)}\n return %0 : f32\n}}",
        "'arith.addf' op tile.group 'g' has 0 outputs",
    ),
    "group grids agree": (
        f"""func.func @f(%x: f32) -> f32 {{
          {group_op("g", 0, grid="array<i64: 2>")}
          %1 = arith.mulf %0, %0 {{tile.group = #tile.group<"g", array<i64: 4>, true, true>}} : f32
          return %1 : f32
        }}""",
        "'arith.addf' op tile.group 'g' members disagree on the grid",
    ),
    "levels count": (
        f"func.func @f(%x: f32) -> f32 {{\n {group_op('g', 1, levels=LEVELS_REG)}\n"
        " return %0 : f32\n}",
        "'arith.addf' op tile.levels has 1 entries but the op has 2 operands and 0 captured reads",
    ),
    "levels producer in group": (
        """func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
          %0 = arith.addf %x, %x {tile.group = #tile.group<"a", array<i64>, true, true>}
              : tensor<4xf32>
          %1 = arith.mulf %0, %x {tile.group = #tile.group<"b", array<i64>, true, true>,
              tile.levels = [#tile.edge<"reg">, #tile.edge<"global">]} : tensor<4xf32>
          return %1 : tensor<4xf32>
        }""",
        "'arith.mulf' op operand #0 at 'reg' needs its producer in the same tile.group",
    ),
    "plan threads per loop": (
        MATMUL.replace(
            "PROGRAM", program(rtile("smem", 64, 64, 16), pad="array<i64: 0, 0>")
        ).replace(
            "{tile.program",
            "{tile.plan = #tile.plan<array<i64: 16, 16>, array<i64>, false, array<i64>>, "
            "tile.program",
        ),
        "'linalg.matmul' op tile.plan has threads for 2 loops but the op has 3",
    ),
    "plan mma warps": (
        on_op(
            "tile.plan = #tile.plan<array<i64: 64>, array<i64>, false, "
            "array<i64: 0, 1, 2, 2, 2, 1, 4>>"
        ),
        "'test.op' op tile.plan has 64 threads for 4 mma warps",
    ),
    "stage levels": (
        """func.func @f(%a: memref<8xf32>, %b: memref<8xf32>) {
          "tile.stage"(%a, %b) {from = "reg", to = "reg"} : (memref<8xf32>, memref<8xf32>) -> ()
          return
        }""",
        "'tile.stage' op stage must move between two levels, got 'reg' to 'reg'",
    ),
    "stage types": (
        """func.func @f(%a: memref<8xf32>, %b: memref<8x1xf32>) {
          "tile.stage"(%a, %b) {from = "global", to = "reg"}
              : (memref<8xf32>, memref<8x1xf32>) -> ()
          return
        }""",
        "'tile.stage' op source and dest must have the same element type and rank",
    ),
    "stage fits": (
        """func.func @f(%a: memref<8x?xf32>, %b: memref<4x?xf32>) {
          "tile.stage"(%a, %b) {from = "global", to = "smem"}
              : (memref<8x?xf32>, memref<4x?xf32>) -> ()
          return
        }""",
        "'tile.stage' op dest dim 0 has 4 elements, fewer than the source's 8",
    ),
    "veus kind": (
        "func.func private @f() attributes {schedule.veus = 4}",
        "'func.func' op 'schedule.veus' must be a #schedule.veus attribute",
    ),
    "veus positive": (
        'func.func private @f() attributes {schedule.veus = #schedule.veus<4, 0, "sm_90">}',
        "'func.func' op vEU count and per_sm must be positive, got 4 and 0",
    ),
    "veus per sm": (
        'func.func private @f() attributes {schedule.veus = #schedule.veus<10, 4, "sm_80">}',
        "'func.func' op vEU count 10 is not a multiple of per_sm 4",
    ),
    "co-resident": (
        'func.func private @f() attributes {schedule.veus = #schedule.veus<109, 1, "sm_80">}',
        "'func.func' op vEU count 109 exceeds the 108 co-resident on sm_80 (1 per SM x 108 SMs)",
    ),
    "launch kind": (
        'func.func private @f() attributes {tile.launch = #tile.kernel<"k">}',
        "'func.func' op 'tile.launch' must be a #tile.launch attribute",
    ),
    "launch grid": (
        "func.func private @f() attributes {tile.launch = #tile.launch<array<i64: 4, 0>, 64, 0>}",
        "'func.func' op tile.launch grid extents must be positive, got [4, 0]",
    ),
    "launch threads": (
        "func.func private @f() attributes {tile.launch = #tile.launch<array<i64: 4>, 0, 0>}",
        "'func.func' op tile.launch threads must be positive, got 0",
    ),
    "partition": (
        veu_program([[[0, 2], [1, 2]]]),
        "'scf.parallel' op vEU table does not partition the 2 tasks of launch 0: task 1 runs on "
        "2 vEUs",
    ),
    "satisfiable": (
        veu_program([[[0, 1], [1, 2]], [[0, 1], [1, 1]]], {1: [0]}).replace(
            "%c0, %n0, %epoch", "%c0, %one, %epoch"
        ),
        "'schedule.wait' op waits for 1 tasks of launch 0, which has 2",
    ),
    "deadlock": (
        veu_program([[[0, 1], [1, 2]], [[0, 1], [1, 2]]], {0: [1], 1: [0]}),
        "'schedule.wait' op the vEU program deadlocks: vEUs [0, 1] never get past this wait "
        "(launch 1 signalled 0 of 2 tasks)",
    ),
    "placement kind": (
        in_func('scf.for %i = %c0 to %n step %c1 {\n} {controlflow.placement = "grid"}'),
        "'scf.for' op 'controlflow.placement' must be a #controlflow.device attribute",
    ),
    "placeable ops": (
        in_func("scf.execute_region {\n scf.yield\n} {controlflow.placement = " + CTA + "}"),
        "'scf.execute_region' op 'controlflow.placement' is only allowed on scf.for, scf.while"
        " and scf.if",
    ),
    "grid in cta": (
        in_func(device_for(device_for("", "grid", iv="%j"), "cta")),
        "'scf.for' op a 'grid'-scoped device construct cannot be nested in a 'cta'-scoped one",
    ),
    "grid barrier in cta": (
        in_func(
            device_for('"schedule.barrier"(%sync) {scope = "grid"} : (memref<2xi32>) -> ()', "cta")
        ),
        "'schedule.barrier' op a 'grid' barrier cannot be inside a 'cta'-scoped device construct",
    ),
    "broadcast outside": (
        in_func('%y = "controlflow.broadcast"(%x) : (i1) -> i1'),
        "'controlflow.broadcast' op must be inside a 'grid'-scoped device construct",
    ),
}


@pytest.mark.parametrize("source, message", INVALID.values(), ids=INVALID.keys())
def test_verifier_reports_each_rule(source, message):
    assert verifier_messages(source) == (False, [message])


def test_deadlock_is_found_only_where_the_table_blocks():
    """vEU 0 runs launch 2 before vEU 1 has run launch 1 only if the table puts launch 1
    first on vEU 0: the same waits deadlock or not depending on where the tasks are."""
    waits = {1: [2], 2: [0]}  # launch 1 waits for launch 2, which waits for launch 0
    fine = [[[0, 1], [1, 1]], [[0, 0], [0, 1]], [[0, 1], [1, 1]]]  # launch 1 on vEU 1 only
    assert verifier_messages(veu_program(fine, waits)) == (True, [])
    stuck = [[[0, 1], [1, 1]], [[0, 1], [1, 1]], [[0, 1], [1, 1]]]  # everything on vEU 0
    ok, messages = verifier_messages(veu_program(stuck, waits))
    assert not ok
    assert messages == [
        "'schedule.wait' op the vEU program deadlocks: vEUs [0] never get past this wait "
        "(launch 2 signalled 0 of 1 tasks)"
    ]


def _first_launch_on_one_cta(waits: dict[int, list[int]]) -> str:
    """A two-launch vEU program whose launch 0 is a construct's on one CTA: its segment inside
    the owner's guard (``schedule.owner``), its two tasks on vEU 0, and no signal."""
    source = veu_program([[[0, 2], [2, 2]], [[0, 1], [1, 2]]], waits)
    signal = '"schedule.signal"(%counters, %c0, %one) : (memref<2xi32>, index, i32) -> ()'
    segment = '{schedule.segment = #schedule.segment<0, "k0", 2, array<i64>>}'
    signalled = f"scf.if %run {{\n{signal}\n}} {segment}"
    assert signalled in source
    guarded = f"scf.if %run {{\nscf.if %run {{\n}} {segment}\n}} {{schedule.owner = 0 : index}}"
    return source.replace(signalled, guarded)


def test_a_segment_on_one_cta_signals_nothing_and_nothing_waits_for_it():
    """Inside the owner's guard of a construct on one CTA a segment has no signal (only its
    CTA runs it); a wait for its launch would never hold, and is reported."""
    assert verifier_messages(_first_launch_on_one_cta({})) == (True, [])
    assert verifier_messages(_first_launch_on_one_cta({1: [0]})) == (
        False,
        ["'schedule.wait' op waits for launch 0, which runs on one CTA and signals nothing"],
    )


def test_a_bert_sized_table_verifies_quickly():
    """120 launches x 264 vEUs, each launch waiting for the one before: the simulation is
    linear in the table (each vEU walks its queue once)."""
    launches, veus = 120, 264
    table = [[[v, v + 1] for v in range(veus)] for _ in range(launches)]
    waits = {launch: [launch - 1] for launch in range(1, launches)}
    source = veu_program(table, waits, veus=f'#schedule.veus<{veus}, 2, "sm_90">')
    start = time.perf_counter()
    assert verifier_messages(source) == (True, [])
    assert time.perf_counter() - start < 10
