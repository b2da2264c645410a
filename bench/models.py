"""Real model architectures through the ONNX frontend: ONNX's ``light`` model zoo (in the onnx
wheel: ResNet-50, Inception v1/v2, DenseNet-121, SqueezeNet, ShuffleNet, VGG-19, AlexNet, ZFNet;
opset 9, converted to 13) and the Transformer encoder layer of the frontend tests.

Per model: import time, compile time to PTX (sm_90), kernel count, total PTX size, CPU run time
of the tiled program beside onnxruntime's (when installed), and the max error against the stored
expected output (light models) and onnxruntime/the reference evaluator.

    python bench/models.py [squeezenet resnet50 ...] [--emulate squeezenet] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs

ROOT = pathlib.Path(__file__).resolve().parent.parent
LIGHT = pathlib.Path(onnx.__file__).parent / "backend" / "test" / "data" / "light"
MODELS = [
    "squeezenet",
    "shufflenet",
    "bvlc_alexnet",
    "zfnet512",
    "inception_v1",
    "inception_v2",
    "resnet50",
    "densenet121",
    "vgg19",
]


def stored_output(name: str) -> np.ndarray | None:
    path = LIGHT / f"light_{name}_output_0.pb"
    if not path.exists():
        return None
    tensor = onnx.TensorProto()
    tensor.ParseFromString(path.read_bytes())
    return numpy_helper.to_array(tensor)


def source(name: str):
    if name == "encoder":
        sys.path.insert(0, str(ROOT / "test" / "python" / "frontend"))
        from models import encoder_layer

        return encoder_layer(batch=4, seq=128, dim=256, heads=4, ffn=1024)
    return LIGHT / f"light_{name}.onnx"


def timed(function, repeat: int = 1):
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        best = min(best, time.perf_counter() - start)
    return result, best


def onnxruntime_seconds(model_source, feeds) -> float | None:
    try:
        import onnxruntime
    except ImportError:
        return None
    data = (
        model_source.read_bytes()
        if isinstance(model_source, pathlib.Path)
        else model_source.SerializeToString()
    )
    session = onnxruntime.InferenceSession(data, providers=["CPUExecutionProvider"])
    session.run(None, feeds)
    return timed(lambda: session.run(None, feeds), repeat=3)[1]


def bench(name: str, emulate: bool) -> dict:
    model_source = source(name)
    start = time.perf_counter()
    model = compile_model(model_source, target="sm_90")
    compile_seconds = time.perf_counter() - start
    feeds = model.random_inputs(seed=0)
    outputs, cpu_seconds = timed(lambda: model.run(feeds))
    (output,) = outputs.values()
    engine, reference = reference_outputs(model_source, feeds, model.outputs)
    (expected,) = reference.values()
    row = {
        "model": name,
        "import_s": round(model.import_seconds, 3),
        "compile_to_ptx_s": round(compile_seconds, 3),
        "stage_s": {k: round(v, 3) for k, v in model.compiled.stage_seconds.items()},
        "kernels": len(model.compiled.kernels),
        "ptx_bytes": sum(len(ptx) for ptx in model.compiled.ptx.values()),
        "weights": len(model.graph.weights),
        "cpu_run_s": round(cpu_seconds, 3),
        "onnxruntime_s": onnxruntime_seconds(model_source, feeds),
        f"max_abs_error_vs_{engine.replace(' ', '_')}": float(np.max(np.abs(output - expected))),
    }
    stored = stored_output(name)
    if stored is not None:
        row["max_abs_error_vs_stored"] = float(np.max(np.abs(output - stored)))
    if emulate:
        emulated, seconds = timed(lambda: model.emulate(feeds))
        row["emulator_s"] = round(seconds, 1)
        row["max_abs_error_emulator"] = float(
            np.max(np.abs(next(iter(emulated.values())) - expected))
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=[*MODELS, "encoder"])
    parser.add_argument("--emulate", nargs="*", default=[], help="models to run in the emulator")
    parser.add_argument("--json", type=pathlib.Path, help="write the rows as JSON")
    args = parser.parse_args()
    header = (
        f"{'model':<14} {'import s':>8} {'ptx s':>7} {'kernels':>7} {'PTX MB':>7} "
        f"{'cpu s':>7} {'ort s':>7} {'max err':>9} {'vs stored':>9}"
    )
    print(header)
    rows = []
    for name in args.models:
        try:
            row = bench(name, name in args.emulate)
        except Exception as error:  # noqa: BLE001 - a benchmark reports and goes on
            print(f"{name:<14} FAILED: {str(error).splitlines()[0][:100]}", flush=True)
            rows.append({"model": name, "error": str(error).splitlines()[0]})
            continue
        rows.append(row)
        errors = [
            v for k, v in row.items() if k.startswith("max_abs_error_vs_") and "stored" not in k
        ]
        ort = f"{row['onnxruntime_s']:.3f}" if row["onnxruntime_s"] is not None else "-"
        stored = row.get("max_abs_error_vs_stored")
        print(
            f"{name:<14} {row['import_s']:>8.2f} {row['compile_to_ptx_s']:>7.2f} "
            f"{row['kernels']:>7} {row['ptx_bytes'] / 1e6:>7.2f} {row['cpu_run_s']:>7.3f} "
            f"{ort:>7} {errors[0]:>9.2g} {'-' if stored is None else format(stored, '.2g'):>9}"
            + (
                f"  emulator {row['emulator_s']} s, err {row['max_abs_error_emulator']:.2g}"
                if "emulator_s" in row
                else ""
            ),
            flush=True,
        )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
