"""Benchmark of the PTX emulator on PTX that LLVM's NVPTX backend emits.

Emulates, several times each, the MLIR GPU kernels of the emulator tests
(test/python/emulator/kernels, lowered to sm_90 PTX) and the foundation MLP compiled by
``quartet.compile(..., target="sm_90")`` (all its kernels, in order), and reports the median wall
time and the instructions emulated per second: warp-level (one per instruction issued for a warp
with at least one active lane) and thread-level (one per active thread). The headline cases are
the 256x256x256 f32 tiled matmul (64x64 tiles, 16x16 threads, shared-memory staging, k loop)
and the MLP, each with all checkers on and off. Every run is checked against numpy.

    python bench/emulator.py [--repeat 5] [--json bench/emulator.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from quartet.emulator import LaunchStats, launch

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "test" / "python" / "emulator" / "kernels"
# The same lowering as the emulator tests: bare-pointer kernel ABI, sm_90, PTX text out.
GPU_TO_PTX = (
    "builtin.module(nvvm-attach-target{chip=sm_90 O=3},convert-scf-to-cf,"
    "gpu.module(convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvgpu-to-nvvm,"
    "convert-arith-to-llvm,convert-vector-to-llvm,canonicalize,cse),"
    "reconcile-unrealized-casts,gpu-module-to-binary{format=isa})"
)


@dataclass
class Case:
    """``run(checks)`` emulates once and returns the launches' stats and whether numpy agrees."""

    label: str
    checks: bool
    run: Callable[[bool], tuple[list[LaunchStats], bool]]


def lower(name: str) -> str:
    from mlir import ir, passmanager
    from mlir.dialects import gpu

    with ir.Context():
        module = ir.Module.parse((KERNELS / f"{name}.mlir").read_text())
        passmanager.PassManager.parse(GPU_TO_PTX).run(module.operation)
        binary = next(op for op in module.body.operations if op.operation.name == "gpu.binary")
        return gpu.ObjectAttr(binary.attributes["objects"][0]).object.decode()


def tiled_matmul(rng: np.random.Generator):
    ptx = lower("tiled_matmul")
    a = rng.standard_normal((256, 256)).astype(np.float32)
    b = rng.standard_normal((256, 256)).astype(np.float32)

    def run(checks: bool):
        c = np.zeros((256, 256), np.float32)
        stats = launch(ptx, "matmul", (4, 4), (16, 16), [a, b, c], checks=checks)
        return [stats], np.allclose(c, a @ b, rtol=1e-4, atol=1e-4)

    return run


def mma_matmul(rng: np.random.Generator):
    ptx = lower("mma_matmul")
    a = rng.standard_normal((64, 64)).astype(np.float16)
    b = rng.standard_normal((64, 64)).astype(np.float16)
    expected = a.astype(np.float32) @ b.astype(np.float32)

    def run(checks: bool):
        c = np.zeros((64, 64), np.float32)
        stats = launch(ptx, "mma_matmul", (8, 4), 32, [a, b, c], checks=checks)
        return [stats], np.allclose(c, expected, rtol=1e-3, atol=1e-3)

    return run


def block_sum(rng: np.random.Generator):
    ptx = lower("block_sum")
    x = rng.standard_normal(4096).astype(np.float32)

    def run(checks: bool):
        out = np.zeros(16, np.float32)
        stats = launch(ptx, "block_sum", 16, 256, [x, out], checks=checks)
        return [stats], np.allclose(out, x.reshape(16, 256).sum(1), rtol=1e-4, atol=1e-4)

    return run


def foundation_mlp(rng: np.random.Generator):
    """The MLP of quartet.examples, compiled for sm_90; every kernel of it emulated in order."""
    import quartet
    from quartet.examples import mlp
    from quartet.runtime.emulated import EmulatedDevice

    model = quartet.compile(mlp.SOURCE, target="sm_90")
    inputs = mlp.random_inputs(seed=int(rng.integers(1000)))
    expected = mlp.reference(*inputs)

    def run(checks: bool):
        device = EmulatedDevice(checks)
        result = model.emulate(*inputs, device=device)
        return device.launches, np.allclose(result, expected, rtol=1e-4, atol=1e-5)

    return run


def cases(rng: np.random.Generator) -> list[Case]:
    matmul, mlp = tiled_matmul(rng), foundation_mlp(rng)
    return [
        Case("tiled matmul 256^3 f32, checks on", True, matmul),
        Case("tiled matmul 256^3 f32, checks off", False, matmul),
        Case("foundation MLP (sm_90), checks on", True, mlp),
        Case("foundation MLP (sm_90), checks off", False, mlp),
        Case("mma.sync matmul 64^3 f16, checks on", True, mma_matmul(rng)),
        Case("shuffle reduction 16x256, checks on", True, block_sum(rng)),
    ]


def measure(case: Case, repeat: int) -> dict:
    seconds, stats = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        stats, agrees = case.run(case.checks)
        seconds.append(time.perf_counter() - start)
        if not agrees:
            raise SystemExit(f"{case.label}: emulated result differs from numpy")
    median = statistics.median(seconds)
    warp = sum(s.warp_instructions for s in stats)
    thread = sum(s.thread_instructions for s in stats)
    return {
        "case": case.label,
        "kernels": [f"{s.kernel} grid={s.grid} block={s.block}" for s in stats],
        "checks": case.checks,
        "runs": repeat,
        "median_seconds": median,
        "min_seconds": min(seconds),
        "warp_instructions": warp,
        "thread_instructions": thread,
        "warp_instructions_per_second": warp / median,
        "thread_instructions_per_second": thread / median,
    }


def print_table(rows: list[dict]) -> None:
    header = (
        f"{'case':<38} {'median s':>9} {'warp instr':>11} {'warp instr/s':>13} "
        f"{'thread instr/s':>15}"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row['case']:<38} {row['median_seconds']:>9.3f} {row['warp_instructions']:>11,} "
            f"{row['warp_instructions_per_second']:>13,.0f} "
            f"{row['thread_instructions_per_second']:>15,.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs per case (median reported)")
    parser.add_argument(
        "--json",
        type=pathlib.Path,
        default=ROOT / "bench" / "emulator.json",
        help="where to write the results",
    )
    options = parser.parse_args()
    rows = [measure(case, options.repeat) for case in cases(np.random.default_rng(0))]
    print_table(rows)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "ptx-emulator",
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "results": rows,
    }
    options.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {options.json}")


if __name__ == "__main__":
    main()
