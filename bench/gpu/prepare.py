"""Compile the GPU benchmark's models for sm_90 into one folder that bench/gpu/run.sh runs.

    python bench/gpu/prepare.py [--out bench/gpu/artifacts] [--models mlp bert ...]
                                [--dtypes f32 f16] [--variants quartet unfused norammer]
                                [--small]

For every model x dtype x variant (gpu_models.py, :data:`VARIANTS`) the folder gets an artifact
``<model>-<dtype>-<variant>/`` (quartet.runtime's format: PTX, host program, the CPU library
for run.sh's CPU path) holding ``reference.npz``, the outputs of its CPU form on the generated
feeds, and ``bench.json`` indexes them with how each input is generated (weights.py: the
weights are graph inputs, generated from SEED on both machines, never shipped) and the feeds'
SHA-256, which run.sh compares before trusting a reference. Each reference is checked against
onnxruntime here. The folder must stay under 50 MiB, what the GPU machine takes.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gpu_models import DTYPES, MODELS, build  # noqa: E402
from weights import feeds, fingerprint  # noqa: E402

SEED = 2024
TARGET = "sm_90"  # H100 and H200 (Hopper)
LIMIT_BYTES = 50 * 2**20  # what one GPU session carries of the tree, with room to spare
INDEX = "bench.json"


@dataclass(frozen=True)
class Variant:
    """One way of compiling every model: its name in the table and quartet.compile options.
    Each optimisation is turned off in one variant, so the GPU measures what it brings
    (Grinder's ``control_flow="host"`` joins when a bench model has control flow)."""

    name: str
    options: dict


VARIANTS = [
    Variant("quartet", {}),  # every optimisation on: Welder's kernels as tasks of one Rammer kernel
    Variant("unfused", {"fusion": "none"}),  # Welder off: one kernel per operator, still Rammer's
    Variant("norammer", {"schedule": "none"}),  # Rammer off: one launch per Welder kernel
]


def prepare(out: Path, model: str, dtype: str, variant: Variant, small: bool) -> dict:
    """Compile one artifact, compute its reference outputs; its bench.json entry."""
    import quartet.runtime
    from quartet.frontend.onnx import compile_model

    name = f"{model}-{dtype}-{variant.name}"
    graph, inputs = build(model, dtype, small)
    start = time.perf_counter()
    compiled = compile_model(graph, target=TARGET, **variant.options)
    directory = compiled.save(out / name, cpu_library=True)
    seconds = time.perf_counter() - start
    specs = [
        {"name": i.name, "shape": list(i.shape), "scale_log2": i.scale_log2, "offset": i.offset}
        for i in inputs
    ]
    generated = feeds(specs, DTYPES[dtype], SEED)
    with quartet.runtime.load(directory) as runnable:
        reference = runnable.run(generated, device="cpu")
    np.savez(directory / "reference.npz", **reference)
    entry = {
        "name": name,
        "model": model,
        "dtype": dtype,
        "variant": variant.name,
        "config": MODELS[model].small if small else MODELS[model].full,
        "artifact": name,
        "reference": f"{name}/reference.npz",
        "inputs": specs,
        "feeds_sha256": fingerprint(generated),
        "launches": compiled.compiled.launches,
        "kernels": len(compiled.compiled.kernels),
        "compile_seconds": round(seconds, 2),
        "onnxruntime": _onnxruntime_error(graph, generated, reference),
    }
    print(
        f"{name:<24} {entry['launches']:>3} launches {seconds:7.1f} s  "
        f"vs onnxruntime: {entry['onnxruntime']}",
        flush=True,
    )
    return entry


def _onnxruntime_error(graph, feeds, reference) -> str:
    """The reference's max error relative to onnxruntime's outputs (or why none)."""
    try:
        import onnxruntime
    except ImportError:
        return "onnxruntime not installed"
    session = onnxruntime.InferenceSession(
        graph.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    expected = session.run(None, feeds)
    errors = []
    for value, want in zip(reference.values(), expected, strict=True):
        want = want.astype(np.float64)
        error = np.max(np.abs(value.astype(np.float64) - want)) / max(np.max(np.abs(want)), 1e-30)
        errors.append(float(error))
    return f"max rel error {max(errors):.2e}"


def folder_bytes(out: Path) -> int:
    return sum(path.stat().st_size for path in out.rglob("*") if path.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "artifacts")
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=list(MODELS))
    parser.add_argument("--dtypes", nargs="+", choices=list(DTYPES), default=list(DTYPES))
    parser.add_argument(
        "--variants",
        nargs="+",
        choices=[v.name for v in VARIANTS],
        default=[v.name for v in VARIANTS],
    )
    parser.add_argument("--small", action="store_true", help="the small shapes (CI)")
    args = parser.parse_args(argv)
    if (args.out / INDEX).exists():  # a folder of ours: start it afresh
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True, exist_ok=True)
    variants = [v for v in VARIANTS if v.name in args.variants]
    entries = [
        prepare(args.out, model, dtype, variant, args.small)
        for model in args.models
        for dtype in args.dtypes
        for variant in variants
    ]
    index = {"seed": SEED, "target": TARGET, "small": args.small, "entries": entries}
    (args.out / INDEX).write_text(json.dumps(index, indent=1) + "\n")
    size = folder_bytes(args.out)
    print(f"{len(entries)} artifacts in {args.out}: {size / 2**20:.1f} MiB")
    if size > LIMIT_BYTES:
        print(f"error: {args.out} is over {LIMIT_BYTES / 2**20:.0f} MiB", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
