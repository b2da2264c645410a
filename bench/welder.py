"""Welder's effect per model: kernel launches and global-memory bytes per inference, unfused
(``fusion="none"``) against fused, and the compile time of each, for sm_90.

Models (ONNX, built with onnx.helper unless from ONNX's ``light`` zoo, random weights):
``mlp`` (512-1024-1024-10, batch 1), ``resnet18`` (224x224, BatchNormalization not folded),
``bert1`` and ``bert2`` (encoder layers, hidden 768, 12 heads, seq 128, FFN 3072), ``vit``
(a ViT-B/16 block, seq 197), ``squeezenet`` and ``resnet50`` (light zoo).

The counters are static (``quartet.counters``, from each kernel's plan; the emulator checks
them on small models in the tests): ``global`` is every byte read and written in global memory,
``inter`` the part of it on intermediate tensors, ``compulsory`` the inputs, weights and
outputs once. No GPU time is measured or modelled here. Compile seconds are medians of
``--repeat`` compiles, each in a fresh process without the compile cache, the unfused and fused
compiles of a model interleaved.

    python bench/welder.py [--models mlp resnet18 ...] [--repeat 3]
                           [--json bench/results/welder.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx

ROOT = Path(__file__).resolve().parent.parent
LIGHT = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = ["mlp", "resnet18", "bert1", "bert2", "vit", "squeezenet", "resnet50"]

# Issue 10's targets: launches per inference, and intermediate bytes fused / unfused.
LAUNCH_TARGETS = {"mlp": 3, "bert2": 16, "vit": 12, "resnet18": 24}
INTERMEDIATE_TARGETS = {"bert1": 0.4, "vit": 0.4}
COMPILE_RATIO_TARGET = 1.5


def model_file(name: str, directory: Path) -> Path:
    """The .onnx file of ``name`` (built models are written once into ``directory``)."""
    if name in ("squeezenet", "resnet50"):
        return LIGHT / f"light_{name}.onnx"
    path = directory / f"{name}.onnx"
    if path.exists():
        return path
    sys.path.insert(0, str(ROOT / "test" / "python" / "frontend"))
    import fusion_models
    from models import encoder

    if name.startswith("bert"):
        layers = int(name.removeprefix("bert"))
        model = encoder(layers, batch=1, seq=128, dim=768, heads=12, ffn=3072)
    else:
        model = {"mlp": fusion_models.mlp, "resnet18": fusion_models.resnet18}.get(
            name, fusion_models.vit_block
        )()
    onnx.save(model, path)
    return path


_CHILD = """
import json, sys, time
from quartet.frontend.onnx import compile_model
start = time.perf_counter()
model = compile_model(sys.argv[1], target="sm_90", fusion=sys.argv[2], cache=False)
seconds = time.perf_counter() - start
c = model.compiled.counters
print(json.dumps({"seconds": seconds, "launches": model.compiled.launches,
                  "kernels": len(model.compiled.kernels), "global": c.global_bytes,
                  "intermediate": c.intermediate_global_bytes, "compulsory": c.compulsory_bytes,
                  "kept_apart": len(c.kept_apart)}))
"""


def compile_once(path: Path, fusion: str) -> dict:
    env = {**os.environ, "QUARTET_CACHE": "0"}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path), fusion],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"compile of {path.name} (fusion={fusion}) failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(name: str, repeat: int, scratch: Path) -> dict:
    path = model_file(name, scratch)
    runs: dict[str, list[dict]] = {"none": [], "welder": []}
    for _ in range(repeat):
        for fusion in runs:
            runs[fusion].append(compile_once(path, fusion))
            print(f"  {name} fusion={fusion}: {runs[fusion][-1]['seconds']:.2f} s", flush=True)
    row = {"model": name}
    for fusion, results in runs.items():
        row[fusion] = {**results[-1], "seconds": statistics.median(r["seconds"] for r in results)}
    none, fused = row["none"], row["welder"]
    row["ratios"] = {
        key: fused[key] / none[key] if none[key] else None
        for key in ("launches", "global", "intermediate", "seconds")
    }
    return row


def _mb(count: int) -> str:
    return f"{count / 1e6:.1f}"


def table(rows: list[dict]) -> str:
    head = (
        f"{'model':<11} {'launches':>13} {'global MB':>15} {'inter MB':>15} {'compuls MB':>10}"
        f" {'compile s':>13} {'launch':>7} {'global':>7} {'inter':>7} {'compile':>8}"
    )
    pair = "none -> fused"
    lines = [
        head,
        f"{'':<11} {pair:>13} {pair:>15} {pair:>15} {'':>10} {pair:>13}"
        f" {'ratio':>7} {'ratio':>7} {'ratio':>7} {'ratio':>8}",
    ]
    for row in rows:
        none, fused, ratio = row["none"], row["welder"], row["ratios"]

        def r(key, ratio=ratio):
            return f"{ratio[key]:.2f}" if ratio[key] is not None else "-"

        lines.append(
            f"{row['model']:<11} {none['launches']:>5} -> {fused['launches']:<5}"
            f" {_mb(none['global']):>6} -> {_mb(fused['global']):<6}"
            f" {_mb(none['intermediate']):>6} -> {_mb(fused['intermediate']):<6}"
            f" {_mb(fused['compulsory']):>10}"
            f" {none['seconds']:>5.1f} -> {fused['seconds']:<5.1f}"
            f" {r('launches'):>7} {r('global'):>7} {r('intermediate'):>7} {r('seconds'):>8}"
        )
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[str]:
    by_name = {row["model"]: row for row in rows}
    lines = []
    for name, target in LAUNCH_TARGETS.items():
        if name in by_name:
            got = by_name[name]["welder"]["launches"]
            verdict = "met" if got <= target else "MISSED"
            lines.append(f"launches {name}: {got} (target <= {target}): {verdict}")
    for name, target in INTERMEDIATE_TARGETS.items():
        if name in by_name:
            got = by_name[name]["ratios"]["intermediate"]
            verdict = "met" if got is not None and got <= target else "MISSED"
            lines.append(
                f"intermediate bytes {name}: {got:.2f}x unfused (target <= {target}x): {verdict}"
            )
    ratios = [row["ratios"]["seconds"] for row in rows]
    if ratios:
        worst = max(ratios)
        verdict = "met" if worst <= COMPILE_RATIO_TARGET else "MISSED"
        lines.append(
            f"compile time fused / unfused: worst {worst:.2f}x (target <= "
            f"{COMPILE_RATIO_TARGET}x): {verdict}"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", choices=MODELS, default=MODELS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "welder.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        rows = [measure(name, args.repeat, Path(scratch)) for name in args.models]
    print()
    print(table(rows))
    print()
    for line in verdicts(rows):
        print(line)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": rows, "verdicts": verdicts(rows)}, indent=2) + "\n")
    print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
