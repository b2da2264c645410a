"""The operator-coverage models of the frontend tests (test/python/frontend/operator_models.py:
UNet-like, GRU, LSTM, a decoder block in its opset-23 and TorchScript spellings, a greedy
decoding head, int8 QDQ MLP and CNN) against onnxruntime (QDQ models unoptimized, as
``quartet run --check``), on the CPU and, without control flow, through the PTX emulator.

Per model: the reference engine, kernels (sm_90; control flow compiles for the CPU only),
compile seconds, and the max abs error of every output on the CPU and in the emulator.

    python bench/operator_models.py [unet gru ...] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np

from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test" / "python" / "frontend"))
from operator_models import MODELS  # noqa: E402 - the builders live with the tests


def max_error(actual: dict, expected: dict) -> float:
    return max(
        float(np.max(np.abs(actual[k].astype(np.float64) - np.asarray(v, np.float64))))
        for k, v in expected.items()
    )


def bench(name: str) -> dict:
    build, loops = MODELS[name]
    model, feeds = build()
    start = time.perf_counter()
    compiled = compile_model(model, target="cpu" if loops else "sm_90")
    seconds = time.perf_counter() - start
    engine, expected = reference_outputs(model, feeds, compiled.outputs)
    row = {
        "model": name,
        "reference": engine,
        "kernels": None if loops else len(compiled.compiled.kernels),
        "compile_s": round(seconds, 2),
        "cpu_max_abs_error": max_error(compiled.run(feeds), expected),
        "emulator_max_abs_error": None if loops else max_error(compiled.emulate(feeds), expected),
    }
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=list(MODELS))
    parser.add_argument("--json", type=pathlib.Path, help="write the rows as JSON")
    args = parser.parse_args()
    print(
        f"{'model':<20} {'reference':<12} {'kernels':>8} {'compile s':>9} {'CPU err':>9} "
        f"{'emulator err':>12}"
    )
    rows = []
    for name in args.models:
        row = bench(name)
        rows.append(row)
        kernels = "cpu only" if row["kernels"] is None else row["kernels"]
        emulated = row["emulator_max_abs_error"]
        print(
            f"{name:<20} {row['reference']:<12} {kernels:>8} {row['compile_s']:>9.2f} "
            f"{row['cpu_max_abs_error']:>9.2g} "
            f"{'(loops: CPU)' if emulated is None else format(emulated, '.2g'):>12}",
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
