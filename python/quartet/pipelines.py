"""The pass pipelines ``quartet.compile`` runs, as data: one step per line, each with its reason.

Every pipeline here is printed into the compiled artifact and replays unchanged with
``quartet-opt --pass-pipeline=...`` (both parse through :mod:`quartet.pipeline`).
"""

from __future__ import annotations

from quartet.hardware import GPUS
from quartet.rammer.cost import SCHEDULES, launch_charge

GPU_CHIPS = ("sm_80", "sm_90")
TARGETS = ("cpu", *GPU_CHIPS)

# Graph (linalg on tensors) -> barrier-phase loops: the one source form both targets derive from.
GRAPH_TO_LOOPS: list[tuple[str, str]] = [
    (
        "func.func(linalg-generalize-named-ops)",
        "tiling reads indexing maps and iterator types only, so every operator becomes a generic",
    ),
    (
        "quartet-hoist-invariants",
        "an operator the same in every iteration (a weight's transpose) runs once, before its "
        "loop: before tiling and fusion, which then see it where it runs",
    ),
    (
        "{tiling}",
        "choose the rProgram on tensors: attributes survive bufferization, and shapes are static",
    ),
    (
        "quartet-welder{arch={target} fusion={fusion} launch-seconds={launch_seconds}}",
        "group operators into kernels from Roller's tiles, a level per edge (SSA edges: tensors); "
        "each kernel charged what a launch costs under the schedule",
    ),
    (
        "quartet-readonly-arguments",
        "bufferization must copy, never compute in place into the caller's input arrays",
    ),
    (
        "one-shot-bufferize{bufferize-function-boundaries=1 "
        "function-boundary-type-conversion=identity-layout-map}",
        "kernels read and write buffers; identity layouts keep the bare-pointer kernel ABI valid",
    ),
    (
        "buffer-results-to-out-params{hoist-static-allocs=1 modify-public-functions=1}",
        "results become caller-owned output buffers, written in place by the last kernel",
    ),
    ("canonicalize", "fold the copies and casts bufferization leaves"),
    (
        "quartet-error-word",
        "runtime checks report into an error-word argument (on buffers, so that outlining "
        "passes it to each kernel that checks)",
    ),
    (
        "quartet-outline-kernels",
        "one function per distinct operator: repeated layers are lowered and compiled once",
    ),
    ("quartet-lower-tiles", "each tiled generic -> block loop of thread phases and barriers"),
    (
        "quartet-grinder{arch={target}}",
        "each loop and branch placed on the grid (inside the persistent kernel) or on the host, "
        "with the reason and modelled cost in the IR: the launches of their bodies are final "
        "here, and Rammer builds the vEU program from the decision",
    ),
    (
        "quartet-rammer{arch={target} schedule={schedule}{registers}}",
        "each run of launches -> one persistent kernel walking a vEU table: here every kernel is "
        "final (a block loop of tasks with its launch and traffic recorded) and the IR still "
        "target-independent, so both tails derive from the co-scheduled program",
    ),
]

# Barrier-phase loops -> PTX through the GPU and NVVM dialects. No canonicalization may run
# between lower-tiles and map-to-gpu: it merges a block loop with its single thread phase.
LOOPS_TO_PTX: list[tuple[str, str]] = [
    ("quartet-map-to-gpu", "block loops -> gpu.launch, thread phases -> threads + gpu.barrier"),
    ("canonicalize", "fold the index arithmetic of delinearized block and thread ids"),
    ("cse", "share the address computations the unrolled register tile repeats"),
    (
        "gpu-launch-sink-index-computations",
        "move constants into the kernels so outlining passes buffers only",
    ),
    (
        "quartet-widen-bool-buffers",
        "i1 buffers as bytes: the LLVM lowering has no sub-byte layout (an i1 store aborts)",
    ),
    ("gpu-kernel-outlining", "one gpu.module per kernel: PTX per kernel, named after it"),
    ("inline", "the host calls its kernel functions' launches directly: one flat launch list"),
    ("nvvm-attach-target{chip={chip} O=3}", "select the NVPTX target and optimization level"),
    (
        "gpu.module(convert-scf-to-cf,expand-strided-metadata,lower-affine,"
        "convert-nvgpu-to-nvvm,convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},"
        "canonicalize,cse)",
        "lower kernel bodies to NVVM (views a device loop's body makes as plain offsets, "
        "nvgpu.mma.sync to mma.sync first); one pointer per buffer (static shapes) as the "
        "kernel ABI",
    ),
    (
        "quartet-launch-bounds{min-blocks-per-sm=1}",
        "launches use exactly the known block size (.reqntid) and one block per SM is all the "
        "plan needs (.minnctapersm; a persistent kernel's planned vEUs per SM): given only "
        ".maxntid, ptxas cuts registers for an occupancy nobody asked for and spills to get there",
    ),
    (
        "quartet-dynamic-shared",
        "a persistent kernel's shared arena as an extern array of the size each launch gives "
        "(the NVVM lowering declared it with the largest task's size)",
    ),
    ("reconcile-unrealized-casts", "drop the casts left between converted type systems"),
    ("gpu-module-to-binary{format=isa}", "LLVM's NVPTX backend writes the PTX text"),
]

# Barrier-phase loops -> LLVM, compiled into a shared library (quartet.cpu_runtime).
LOOPS_TO_CPU: list[tuple[str, str]] = [
    ("quartet-map-to-cpu", "sequential phases need no barriers; drop GPU address spaces"),
    ("canonicalize", "fold index arithmetic before it is lowered"),
    ("cse", "share the address computations the unrolled register tile repeats"),
    (
        "func.func(scf-parallel-for-to-nested-fors,buffer-loop-hoisting)",
        "serial loops; per-block buffers out of loops (before deallocation is placed, so a "
        "hoisted buffer is freed once, not once per iteration)",
    ),
    (
        "buffer-deallocation-pipeline",
        "free the intermediate buffers bufferization allocated (else every run leaks)",
    ),
    (
        "quartet-widen-bool-buffers",
        "i1 buffers (booleans, the ownership flags deallocation keeps) as bytes: the LLVM "
        "lowering has no sub-byte layout (an i1 store aborts)",
    ),
    ("func.func(llvm-request-c-wrappers)", "C entry points the library is called through (ctypes)"),
    ("convert-scf-to-cf", "structured control flow to branches"),
    ("expand-strided-metadata", "make memref metadata explicit for the LLVM lowering"),
    (
        "lower-affine",
        "the offset of a view at a computed position (a loop's row) is an affine.apply",
    ),
    ("finalize-memref-to-llvm", "buffers to LLVM pointers and descriptors"),
    ("convert-to-llvm", "arith, math, func and cf to the LLVM dialect"),
    ("reconcile-unrealized-casts", "drop the casts left between converted type systems"),
]


# Debug builds (QUARTET_POISON=1, see quartet/runtime/poison.py) insert this after
# quartet-map-to-cpu.
POISON_STEP = (
    "quartet-poison-buffers",
    "temporaries start as poison, not malloc's zeros: a read before any write shows as NaN",
)

# Roller constructs each operator's rProgram for the machine being compiled for.
DEFAULT_TILING = "quartet-roller{arch={target}}"

# Welder fuses by default; "none" keeps one kernel per operator (for comparison).
FUSION = ("welder", "none")

# Where loops and branches run: "device" (Grinder's: inside the persistent kernel, where
# quartet-grinder can place them) or "host" (the host program runs them around the launches;
# also where no persistent kernel holds them, schedule "none").
CONTROL_FLOW = ("device", "host")
HOST_CONTROL_FLOW = (
    "quartet-host-control-flow",
    "the loops and branches stay on the host: each marked with why before Grinder places",
)


def steps_for(
    target: str,
    tiling: str = DEFAULT_TILING,
    fusion: str = "welder",
    control_flow: str = "device",
    *,
    poison: bool = False,
    schedule: str = "rammer",
    registers: int | None = None,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(shared prefix, target tail) for ``target``; ValueError for an unknown target, fusion,
    control-flow mode or schedule.

    ``tiling`` is the pipeline element that attaches rPrograms (operators that already carry a
    ``tile.program`` keep it, so pre-tiled input passes through any tiling pass); ``fusion``
    is Welder's mode; ``control_flow`` where loops and branches run (CONTROL_FLOW); ``poison``
    makes the CPU tail fill its temporaries with poison; ``schedule`` how launches run
    ("none": one launch per kernel; "rammer": launches of one persistent kernel), which sets
    Welder's charge per launch; ``registers`` Rammer's register plan per thread (the pass's
    default where None; the compiler raises it where ptxas needs more).
    """
    if fusion not in FUSION:
        raise ValueError(f"unknown fusion '{fusion}' (expected one of: {', '.join(FUSION)})")
    if control_flow not in CONTROL_FLOW:
        raise ValueError(
            f"unknown control flow '{control_flow}' (expected one of: {', '.join(CONTROL_FLOW)})"
        )
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule '{schedule}' (expected one of: {', '.join(SCHEDULES)})")
    # Welder models the CPU form as an H100 (passes/welder/__init__.py).
    clock_hz = GPUS[target if target in GPU_CHIPS else "sm_90"].clock_hz
    launch_seconds = str(launch_charge(schedule, clock_hz))
    tiling = tiling.replace("{target}", target)
    values = {"{tiling}": tiling, "{target}": target, "{fusion}": fusion}
    values |= {"{launch_seconds}": launch_seconds, "{schedule}": schedule}
    values["{registers}"] = "" if registers is None else f" registers={registers}"
    prefix = [(_substitute(step, values), why) for step, why in GRAPH_TO_LOOPS]
    if control_flow == "host" or schedule == "none":
        grinder = next(
            i for i, (step, _) in enumerate(prefix) if step.startswith("quartet-grinder")
        )
        prefix.insert(grinder, HOST_CONTROL_FLOW)
    if target == "cpu":
        return prefix, LOOPS_TO_CPU[:1] + [POISON_STEP] * poison + LOOPS_TO_CPU[1:]
    if target in GPU_CHIPS:
        tail = [(step.replace("{chip}", target), why) for step, why in LOOPS_TO_PTX]
        return prefix, tail
    raise ValueError(f"unknown target '{target}' (expected one of: {', '.join(TARGETS)})")


def _substitute(step: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        step = step.replace(placeholder, value)
    return step


def pipeline_text(steps: list[tuple[str, str]]) -> str:
    """The replayable ``builtin.module(...)`` text of ``steps``."""
    return "builtin.module(" + ",".join(step for step, _ in steps) + ")"
