"""Benchmark of the PTX emulator on PTX that LLVM's NVPTX backend emits.

Lowers the MLIR GPU kernels of the emulator tests (test/python/emulator/kernels) to sm_90 PTX,
emulates each several times, and reports median wall time and instructions emulated per second
(warp-level: one instruction issued for a warp with at least one active lane; thread-level: one
per active thread). The headline case is the 256x256x256 f32 tiled matmul (64x64 tiles, 16x16
threads, shared-memory staging, k loop), with all checkers on and off.

    python bench/emulator.py [--repeat 5] [--json bench/emulator.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import time

import numpy as np

from quartet.emulator import launch

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELS = ROOT / "test" / "python" / "emulator" / "kernels"
# The same lowering as the emulator tests: bare-pointer kernel ABI, sm_90, PTX text out.
GPU_TO_PTX = (
    "builtin.module(nvvm-attach-target{chip=sm_90 O=3},convert-scf-to-cf,"
    "gpu.module(convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvgpu-to-nvvm,"
    "convert-arith-to-llvm,convert-vector-to-llvm,canonicalize,cse),"
    "reconcile-unrealized-casts,gpu-module-to-binary{format=isa})"
)


def lower(name: str) -> str:
    from mlir import ir, passmanager
    from mlir.dialects import gpu

    with ir.Context():
        module = ir.Module.parse((KERNELS / f"{name}.mlir").read_text())
        passmanager.PassManager.parse(GPU_TO_PTX).run(module.operation)
        binary = next(op for op in module.body.operations if op.operation.name == "gpu.binary")
        return gpu.ObjectAttr(binary.attributes["objects"][0]).object.decode()


def cases(rng: np.random.Generator):
    """(label, kernel file, kernel name, grid, block, args factory, checks, numpy check)."""
    a = rng.standard_normal((256, 256)).astype(np.float32)
    b = rng.standard_normal((256, 256)).astype(np.float32)
    h_a = rng.standard_normal((64, 64)).astype(np.float16)
    h_b = rng.standard_normal((64, 64)).astype(np.float16)
    x = rng.standard_normal(4096).astype(np.float32)

    def matmul_args():
        return [a, b, np.zeros((256, 256), np.float32)]

    def matmul_ok(args):
        return np.allclose(args[2], a @ b, rtol=1e-4, atol=1e-4)

    for checks in (True, False):
        yield (
            f"tiled matmul 256^3 f32, checks {'on' if checks else 'off'}",
            "tiled_matmul",
            "matmul",
            (4, 4),
            (16, 16),
            matmul_args,
            checks,
            matmul_ok,
        )
    yield (
        "mma.sync matmul 64^3 f16",
        "mma_matmul",
        "mma_matmul",
        (8, 4),
        32,
        lambda: [h_a, h_b, np.zeros((64, 64), np.float32)],
        True,
        lambda args: np.allclose(
            args[2], h_a.astype(np.float32) @ h_b.astype(np.float32), rtol=1e-3, atol=1e-3
        ),
    )
    yield (
        "shuffle reduction 16x256",
        "block_sum",
        "block_sum",
        16,
        256,
        lambda: [x, np.zeros(16, np.float32)],
        True,
        lambda args: np.allclose(args[1], x.reshape(16, 256).sum(1), rtol=1e-4, atol=1e-4),
    )


def run(repeat: int) -> list[dict]:
    rng = np.random.default_rng(0)
    rows = []
    ptx_cache: dict[str, str] = {}
    for label, file, kernel, grid, block, make_args, checks, verify in cases(rng):
        ptx = ptx_cache.setdefault(file, lower(file))
        seconds, stats = [], None
        for _ in range(repeat):
            args = make_args()
            start = time.perf_counter()
            stats = launch(ptx, kernel, grid, block, args, checks=checks)
            seconds.append(time.perf_counter() - start)
            if not verify(args):
                raise SystemExit(f"{label}: emulated result differs from numpy")
        median = statistics.median(seconds)
        rows.append(
            {
                "case": label,
                "kernel": kernel,
                "grid": list(stats.grid),
                "block": list(stats.block),
                "checks": checks,
                "runs": repeat,
                "median_seconds": median,
                "min_seconds": min(seconds),
                "warp_instructions": stats.warp_instructions,
                "thread_instructions": stats.thread_instructions,
                "warp_instructions_per_second": stats.warp_instructions / median,
                "thread_instructions_per_second": stats.thread_instructions / median,
            }
        )
    return rows


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
    rows = run(options.repeat)
    print_table(rows)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(
        json.dumps(
            {
                "benchmark": "ptx-emulator",
                "machine": platform.processor() or platform.machine(),
                "python": platform.python_version(),
                "numpy": np.__version__,
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwrote {options.json}")


if __name__ == "__main__":
    main()
