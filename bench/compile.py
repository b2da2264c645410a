"""Compile time at model scale: cold and cached compiles per model and target.

Models: BERT-like encoders of 2 and 12 layers (hidden 768, 12 heads, seq 128, FFN 3072, random
weights, built with onnx.helper), ResNet-50 and DenseNet-121 from ONNX's ``light`` zoo. Every
compile runs in a fresh process (nothing memoized in the process carries over), timed from the
.onnx file to the compiled model: import included, and for the CPU target the whole CPU build
(LLVM codegen and link) included. "cold" compiles into an empty compile cache, "cached" compiles
the same model again with that cache. Each figure is the median of ``--repeat`` runs;
``stages`` is the share of the wall time that ``stage_seconds`` accounts for.

    python bench/compile.py [--models bert2 bert12 resnet50 densenet121] [--targets sm_90 cpu]
                            [--repeat 3] [--json bench/results/compile.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parent.parent
LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = ["bert2", "bert12", "resnet50", "densenet121"]

# Targets of issue 9 (seconds on 2 cores), and the bound on t(BERT-12) / t(BERT-2).
COLD_TARGETS = {"bert12": 60.0, "resnet50": 15.0, "densenet121": 60.0}
LAYER_RATIO_TARGET = 2.0
CACHED_FRACTION_TARGET = 0.10


def model_file(name: str, directory: Path) -> Path:
    """The .onnx file of ``name`` (BERT encoders are written once into ``directory``)."""
    if not name.startswith("bert"):
        return LIGHT / f"light_{name}.onnx"
    path = directory / f"{name}.onnx"
    if not path.exists():
        sys.path.insert(0, str(ROOT / "test" / "python" / "frontend"))
        from models import encoder

        layers = int(name.removeprefix("bert"))
        model = encoder(layers, batch=1, seq=128, dim=768, heads=12, ffn=3072)
        onnx.save(model, path)
    return path


def compile_once(path: Path, target: str, cache_dir: Path) -> dict:
    """Compile in a fresh process; its wall time, stage times, kernels and launches."""
    script = (
        "import json, sys, time\n"
        "from quartet.frontend.onnx import compile_model\n"
        "start = time.perf_counter()\n"
        "model = compile_model(sys.argv[1], target=sys.argv[2])\n"
        "wall = time.perf_counter() - start\n"
        "c = model.compiled\n"
        "print(json.dumps({'wall': wall, 'stages': c.stage_seconds, 'kernels': len(c.kernels),"
        " 'launches': c.launches}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(path), target],
        capture_output=True,
        text=True,
        check=False,
        env={**_environment(), "QUARTET_CACHE_DIR": str(cache_dir)},
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _environment() -> dict:
    return {k: v for k, v in os.environ.items() if k != "QUARTET_CACHE"}


def measure(path: Path, target: str, repeat: int, scratch: Path) -> dict:
    cold, cached = [], []
    for run in range(repeat):
        cache_dir = scratch / f"cache-{path.stem}-{target}-{run}"
        cold.append(compile_once(path, target, cache_dir))
        cached.append(compile_once(path, target, cache_dir))
    wall = statistics.median(r["wall"] for r in cold)
    cached_wall = statistics.median(r["wall"] for r in cached)
    coverage = statistics.median(sum(r["stages"].values()) / r["wall"] for r in cold)
    return {
        "cold_s": round(wall, 2),
        "cold_runs_s": [round(r["wall"], 2) for r in cold],
        "cached_s": round(cached_wall, 3),
        "cached_fraction": round(cached_wall / wall, 3),
        "stage_coverage": round(coverage, 3),
        "stages_s": {k: round(v, 2) for k, v in cold[-1]["stages"].items()},
        "kernels": cold[-1]["kernels"],
        "launches": cold[-1]["launches"],
    }


def verdicts(rows: list[dict]) -> list[str]:
    """One line per target of issue 9: met or MISSED, with the figures."""
    lines = []
    for row in rows:
        limit = COLD_TARGETS.get(row["model"])
        if limit is not None:
            met = "met" if row["cold_s"] <= limit else "MISSED"
            lines.append(
                f"{row['model']} {row['target']} cold {row['cold_s']} s <= {limit} s: {met}"
            )
        met = "met" if row["cached_fraction"] <= CACHED_FRACTION_TARGET else "MISSED"
        lines.append(
            f"{row['model']} {row['target']} cached/cold {row['cached_fraction']:.3f} "
            f"<= {CACHED_FRACTION_TARGET}: {met}"
        )
    by_key = {(r["model"], r["target"]): r for r in rows}
    for target in sorted({r["target"] for r in rows}):
        two, twelve = by_key.get(("bert2", target)), by_key.get(("bert12", target))
        if two and twelve:
            ratio = twelve["cold_s"] / two["cold_s"]
            met = "met" if ratio <= LAYER_RATIO_TARGET else "MISSED"
            lines.append(
                f"t(bert12) / t(bert2) on {target}: {ratio:.2f} <= {LAYER_RATIO_TARGET}: {met}"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="*", default=MODELS, choices=MODELS)
    parser.add_argument("--targets", nargs="*", default=["sm_90", "cpu"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, help="write the rows as JSON")
    args = parser.parse_args()
    print(
        f"{'model':<12} {'target':<6} {'cold s':>7} {'cached s':>9} {'cached/cold':>11} "
        f"{'stages':>7} {'kernels':>7} {'launches':>8}  (median of {args.repeat}, fresh processes)"
    )
    rows = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="quartet-bench-") as scratch:
        for name in args.models:
            path = model_file(name, Path(scratch))
            for target in args.targets:
                row = {
                    "model": name,
                    "target": target,
                    **measure(path, target, args.repeat, Path(scratch)),
                }
                rows.append(row)
                launches = "-" if row["launches"] is None else row["launches"]
                print(
                    f"{name:<12} {target:<6} {row['cold_s']:>7.2f} {row['cached_s']:>9.3f} "
                    f"{row['cached_fraction']:>11.3f} {row['stage_coverage']:>7.1%} "
                    f"{row['kernels']:>7} {launches:>8}",
                    flush=True,
                )
    print(f"\n(benchmark took {time.perf_counter() - started:.0f} s)")
    for line in verdicts(rows):
        print(line)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
