"""Roller benchmark: construction time, quality against exhaustive enumeration, CPU measurements.

    python bench/roller.py [--arch sm_90] [--json bench/results/roller.json] [--quick]

Prints a table per section and writes every figure to JSON:

1. **Construction** over the operator suite (bench/roller_suite.py: BERT-base, ResNet-50, LSTM):
   time to build the top-k configs per operator (median, p90; target: median < 50 ms); the
   model's estimate of Roller's top-1 against the best config of an exhaustive enumeration of the
   same aligned space under the same model (ratio best/top-1, target >= 0.95); the construction
   speed-up over that enumeration.
2. **Static GPU metrics** of each operator compiled with ``quartet-roller`` for the target chip:
   registers, shared memory, spills (``ptxas -v``) and theoretical occupancy from the spec.
3. **CPU, measured** (``arch=cpu``): Roller's top-1 and every config of a small exhaustive grid
   run with ``CompiledModel.run`` (median of several runs each) on >= 6 operators; ratio best
   measured time / top-1 time (target >= 0.8), with numpy's time (one BLAS thread) beside.
"""

from __future__ import annotations

import os

# numpy's BLAS on one thread, like the CPU form it is compared with (and stable timings: BLAS
# threads spinning on 2 shared cores stall in scheduler quanta).
for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(variable, "1")

import argparse  # noqa: E402
import dataclasses  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from itertools import product  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from mlir import ir, passmanager  # noqa: E402
from roller_suite import SUITE, batch_matmul, conv, matmul  # noqa: E402

import quartet  # noqa: E402
from quartet.dialects import create_context  # noqa: E402
from quartet.hardware import spec_for  # noqa: E402
from quartet.passes.roller import generics  # noqa: E402
from quartet.roller import Config, best_of_space, construct, describe, estimate  # noqa: E402

ROOT = Path(__file__).resolve().parent
GENERALIZE = "builtin.module(func.func(linalg-generalize-named-ops))"

# Operators measured on the CPU: matmuls (square, BERT, tall-skinny, batched) and convolutions.
CPU_SUITE = [
    matmul("cpu_mm256", 256, 256, 256),
    matmul("cpu_bert_qkv", 128, 768, 768),
    matmul("cpu_tall_skinny", 4096, 64, 512),
    batch_matmul("cpu_bert_scores", 12, 128, 128, 64),
    conv("cpu_rn50_s2_3x3", 1, 128, 28, 28, 128, 3, 3, 1, pad=1),
    conv("cpu_rn50_s3_1x1", 1, 256, 14, 14, 1024, 1, 1, 1),
]
CPU_RUNS = 5


def parsed(text: str) -> tuple[ir.Module, ir.Operation]:
    """The module (named ops generalized) and its one linalg.generic; call inside a context."""
    module = ir.Module.parse(text)
    passmanager.PassManager.parse(GENERALIZE).run(module.operation)
    return module, generics(module.operation)[0]


# -- 1. construction vs enumeration ----------------------------------------------------------


def construction(arch: str, suite) -> list[dict]:
    spec = spec_for(arch)
    rows = []
    with create_context(), ir.Location.unknown():
        for name, text in suite:
            _, generic = parsed(text)
            start = time.perf_counter()
            ranked = construct(describe(generic.opview, name), spec, 8)
            built = time.perf_counter() - start
            op = describe(generic.opview, name)  # fresh: no memo shared with construction
            start = time.perf_counter()
            best, space = best_of_space(op, spec)
            enumerated = time.perf_counter() - start
            top = ranked[0]
            rows.append(
                {
                    "op": name,
                    "extents": list(op.extents),
                    "top1": _config_text(top.config),
                    "top1_us": top.estimate.seconds * 1e6,
                    "bound": top.estimate.bound,
                    "construct_ms": built * 1e3,
                    "best": _config_text(best.config),
                    "best_us": best.estimate.seconds * 1e6,
                    "ratio": best.estimate.seconds / top.estimate.seconds,
                    "space": space,
                    "enumerate_s": enumerated,
                    "speedup": enumerated / built,
                }
            )
            _progress(f"construct {name}")
    return rows


def _config_text(config: Config) -> str:
    return f"{'x'.join(map(str, config.block))}/{'x'.join(map(str, config.reg))}"


# -- 2. static GPU metrics --------------------------------------------------------------------


def gpu_metrics(arch: str, suite) -> list[dict]:
    chip = arch if arch in ("sm_80", "sm_90") else "sm_90"
    spec = spec_for(chip)
    rows = []
    for name, text in suite:
        model = quartet.compile(text, target=chip, tiling=f"quartet-roller{{arch={arch}}}")
        for kernel in model.kernels:
            info = model.ptxas[kernel.name]
            threads = math.prod(kernel.block)
            rows.append(
                {
                    "op": name,
                    "kernel": kernel.name,
                    "grid": kernel.grid[0],
                    "threads": threads,
                    "registers": info.registers,
                    "smem": info.shared_bytes,
                    "spills": info.spill_stores + info.spill_loads,
                    "occupancy": spec.occupancy(threads, info.registers, info.shared_bytes),
                }
            )
        _progress(f"ptxas {name}")
    return rows


# -- 3. CPU, measured -------------------------------------------------------------------------


def cpu_measured(suite) -> list[dict]:
    spec = spec_for("cpu")
    rows = []
    for name, text in suite:
        with create_context(), ir.Location.unknown():
            module, generic = parsed(text)
            op = describe(generic.opview, name)
            start = time.perf_counter()
            top = construct(op, spec, 1)[0].config
            built = time.perf_counter() - start
            grid = [c for c in small_grid(op) if c != top]
            inputs = _inputs(generic)
            texts = {c: _with_program(module, generic, c) for c in [top, *grid]}
        start = time.perf_counter()
        times = {c: _measure(texts[c], inputs) for c in [top, *grid]}
        per_config = (time.perf_counter() - start) / len(times)
        best = min(times, key=times.get)
        rows.append(
            {
                "op": name,
                "extents": list(op.extents),
                "top1": _config_text(top),
                "top1_ms": times[top] * 1e3,
                "best": _config_text(best),
                "best_ms": times[best] * 1e3,
                "ratio": times[best] / times[top],
                "rank_of_top1": sorted(times.values()).index(times[top]) + 1,
                "grid": len(grid),
                "numpy_ms": _numpy_time(name, inputs) * 1e3,
                "construct_ms": built * 1e3,
                "model_top1_ms": estimate(op, top, spec).seconds * 1e3,
                "per_config_s": per_config,
            }
        )
        _progress(f"cpu {name}")
    return rows


def small_grid(op) -> list[Config]:
    """A small exhaustive grid: register tile, threads and stage depth on the two largest
    parallel loops and the outermost reduction loop; window loops whole, the rest 1."""
    m, n = sorted(sorted(op.par_loops, key=lambda loop: -op.extents[loop])[:2])
    k = op.red_loops[0]
    grid = []
    for (rm, rn), (tm, tn), depth in product(
        [(1, 1), (1, 8), (4, 4), (4, 8), (8, 8)], [(4, 8), (8, 8)], [16, 64]
    ):
        block = [1] * len(op.extents)
        reg = [1] * len(op.extents)
        block[m], block[n], reg[m], reg[n] = rm * tm, rn * tn, rm, rn
        block[k] = min(depth, op.extents[k])
        for loop in op.red_loops:
            if loop != k:
                block[loop] = op.extents[loop]  # small window loops (3x3): whole
        grid.append(Config(tuple(block), tuple(reg), (0,) * len(op.inputs)))
    return grid


def _with_program(module: ir.Module, generic: ir.Operation, config: Config) -> str:
    generic.attributes["tile.program"] = config.to_rprogram().to_attr()
    return str(module)


def _inputs(generic) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    arrays = []
    for value in [*generic.opview.inputs, *generic.opview.outputs]:
        shape = tuple(ir.ShapedType(value.type).shape)
        arrays.append(rng.standard_normal(shape, dtype=np.float32))
    arrays[-1][...] = 0
    return arrays


def _measure(text: str, inputs: list[np.ndarray]) -> float:
    model = quartet.compile(text, target="cpu")
    model.run(*inputs)
    times = []
    for _ in range(CPU_RUNS):
        start = time.perf_counter()
        model.run(*inputs)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _numpy_time(name: str, inputs: list[np.ndarray]) -> float:
    a, b = inputs[0], inputs[1]
    if a.ndim == 4:  # NCHW convolution: window view + tensordot
        kh, kw = b.shape[2], b.shape[3]
        windows = np.lib.stride_tricks.sliding_window_view(a, (kh, kw), axis=(2, 3))
        run = lambda: np.tensordot(b, windows[0], axes=([1, 2, 3], [0, 3, 4]))  # noqa: E731
    else:
        run = lambda: np.matmul(a, b)  # noqa: E731
    run()
    times = []
    for _ in range(2 * CPU_RUNS + 1):  # numpy's BLAS threads share the cores: more samples
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- report -----------------------------------------------------------------------------------


def _progress(text: str) -> None:
    print(f"  .. {text}", file=sys.stderr, flush=True)


def _table(rows: list[dict], columns: list[tuple[str, str, str]]) -> str:
    header = " ".join(title for title, _, _ in columns)
    lines = [" ".join(_cell(title, row[key], fmt) for title, key, fmt in columns) for row in rows]
    return "\n".join([header, *lines])


def _cell(title: str, value, fmt: str) -> str:
    text = format(value, fmt) if fmt else str(value)
    return f"{text:>{len(title)}}"


def summary(rows: list[dict], key: str) -> dict:
    values = sorted(row[key] for row in rows)
    return {
        "median": statistics.median(values),
        "p90": values[min(len(values) - 1, math.ceil(0.9 * len(values)) - 1)],
        "min": values[0],
        "max": values[-1],
    }


def report_construction(arch: str, built: list[dict], per_config_s: float | None) -> dict:
    if per_config_s is not None:
        for row in built:
            row["tuning_s"] = row["space"] * per_config_s
            row["tuning_speedup"] = row["tuning_s"] / (row["construct_ms"] / 1e3)
    print(f"\n== 1. construction vs exhaustive enumeration ({arch}, same model) ==")
    columns = [
        ("operator            ", "op", ""),
        ("top-1 (block/reg)                ", "top1", ""),
        ("model us", "top1_us", ".2f"),
        ("bound  ", "bound", ""),
        ("build ms", "construct_ms", ".1f"),
        ("best of space (block/reg)        ", "best", ""),
        ("best us", "best_us", ".2f"),
        ("ratio", "ratio", ".3f"),
        (" space", "space", "d"),
        ("enum s", "enumerate_s", ".2f"),
        ("speedup", "speedup", ".1f"),
    ]
    if per_config_s is not None:
        columns.append(("tuning s", "tuning_s", ".0f"))
    print(_table(built, columns))
    times, ratios = summary(built, "construct_ms"), summary(built, "ratio")
    met = sum(row["ratio"] >= 0.95 for row in built)
    print(
        f"construction: median {times['median']:.1f} ms, p90 {times['p90']:.1f} ms "
        f"(target median < 50 ms: {'met' if times['median'] < 50 else 'MISSED'}); "
        f"quality best/top-1: median {ratios['median']:.3f}, min {ratios['min']:.3f}, "
        f"{met}/{len(built)} >= 0.95 (target: all); speed-up over enumerating the space "
        f"with the model: median {summary(built, 'speedup')['median']:.1f}x"
    )
    result = {"time_ms": times, "ratio": ratios, "ratio_met": met}
    if per_config_s is not None:
        tuning = summary(built, "tuning_speedup")["median"]
        print(
            f"tuning s = space x {per_config_s:.2f} s, the measured cost of compiling and timing "
            f"one config on this CPU (section 3): construction is a median {tuning:.0f}x faster "
            "than measuring the space"
        )
        result["per_config_s"] = per_config_s
        result["tuning_speedup_median"] = tuning
    return result


def report_gpu_metrics(arch: str, metrics: list[dict]) -> None:
    print(f"\n== 2. static GPU metrics (quartet-roller{{arch={arch}}}, ptxas -v) ==")
    columns = [
        ("operator            ", "op", ""),
        ("kernel                   ", "kernel", ""),
        (" grid", "grid", "d"),
        ("threads", "threads", "d"),
        ("regs", "registers", "d"),
        ("  smem", "smem", "d"),
        ("spills", "spills", "d"),
        ("occupancy", "occupancy", ".2f"),
    ]
    print(_table(metrics, columns))
    spilled = sum(row["spills"] > 0 for row in metrics)
    print(f"kernels: {len(metrics)}, with spills: {spilled}")


def report_cpu(measured: list[dict]) -> int:
    print(f"\n== 3. CPU measured (arch=cpu, median of {CPU_RUNS} runs, 1 core) ==")
    columns = [
        ("operator        ", "op", ""),
        ("top-1 (block/reg)             ", "top1", ""),
        ("top-1 ms", "top1_ms", ".2f"),
        ("best of grid (block/reg)      ", "best", ""),
        ("best ms", "best_ms", ".2f"),
        ("ratio", "ratio", ".3f"),
        ("rank", "rank_of_top1", "d"),
        ("grid", "grid", "d"),
        ("numpy ms", "numpy_ms", ".2f"),
    ]
    print(_table(measured, columns))
    met = sum(row["ratio"] >= 0.8 for row in measured)
    print(f"best/top-1 >= 0.8 on {met}/{len(measured)} operators (target: all)")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="sm_90", help="GPU arch for sections 1-2")
    parser.add_argument("--json", default=str(ROOT / "results" / "roller.json"))
    parser.add_argument("--quick", action="store_true", help="a few operators per section")
    parser.add_argument("--cpu-only", action="store_true", help="only section 3 (CPU measured)")
    args = parser.parse_args()
    suite = SUITE[::6] if args.quick else SUITE
    cpu_suite = CPU_SUITE[:2] if args.quick else CPU_SUITE
    started = time.perf_counter()
    cpu, gpu = spec_for("cpu"), spec_for(args.arch)
    print(
        f"GPU model: {gpu.name} ({args.arch}); CPU: {cpu.name}, {cpu.cores} cores, "
        f"L1d {cpu.l1d_bytes >> 10} KB, L2 {cpu.l2_bytes >> 10} KB, {cpu.simd_bytes * 8}-bit SIMD"
    )
    result: dict = {"arch": args.arch, "gpu": gpu.name, "cpu": dataclasses.asdict(cpu)}

    measured = cpu_measured(cpu_suite)
    per_config_s = statistics.median(row["per_config_s"] for row in measured)
    if not args.cpu_only:
        built = construction(args.arch, suite)
        metrics = gpu_metrics(args.arch, suite)
        result["construction_summary"] = report_construction(args.arch, built, per_config_s)
        report_gpu_metrics(args.arch, metrics)
        result["construction"] = built
        result["gpu_metrics"] = metrics
    result["cpu_ratio_met"] = report_cpu(measured)
    result["cpu_measured"] = measured

    result["seconds"] = time.perf_counter() - started
    print(f"\ntotal {result['seconds']:.0f} s")
    path = Path(args.json)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
