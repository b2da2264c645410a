"""``quartet``: compile a model, write its PTX and a report, run it on the CPU.

    quartet compile model.mlir --target sm_90 -o out/   # out/<kernel>.ptx, final.mlir, report.json
    quartet demo                                         # the bundled MLP, end to end

Exit codes: 0 ok, 1 user error (bad input, unsupported construct), 2 internal error.
"""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from pathlib import Path

import numpy as np

from quartet.compiler import CompiledModel, compile
from quartet.errors import QuartetError
from quartet.pipelines import TARGETS


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.command(args)
    except QuartetError as error:
        print(error, file=sys.stderr)
        return 1
    except Exception:  # noqa: BLE001 - the promised exit code 2 with a bug-report request
        traceback.print_exc()
        print("quartet: internal error; please report a bug with the input", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="quartet", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(required=True)
    compile_cmd = commands.add_parser("compile", help="compile a .mlir model to PTX")
    compile_cmd.add_argument("model", type=Path)
    compile_cmd.add_argument("--target", choices=TARGETS, default="sm_90")
    compile_cmd.add_argument("--entry", help="function to compile when there are several")
    compile_cmd.add_argument("-o", "--output", type=Path, help="directory for PTX and report")
    compile_cmd.set_defaults(command=_compile)
    demo = commands.add_parser("demo", help="the bundled MLP: PTX, ptxas, CPU run vs numpy")
    demo.add_argument("--target", choices=[t for t in TARGETS if t != "cpu"], default="sm_90")
    demo.set_defaults(command=_demo)
    return parser


def _compile(args: argparse.Namespace) -> int:
    model = compile(args.model, target=args.target, entry=args.entry)
    report = _report(model)
    if args.output:
        args.output.mkdir(parents=True, exist_ok=True)
        for name, ptx in model.ptx.items():
            (args.output / f"{name}.ptx").write_text(ptx)
        (args.output / "final.mlir").write_text(model.final_ir)
        (args.output / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    print(_summary(model))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from quartet.examples import mlp

    model = compile(mlp.SOURCE, target=args.target)
    inputs = mlp.random_inputs()
    result = model.run(*inputs)
    expected = mlp.reference(*inputs)
    error = float(np.max(np.abs(result - expected)))
    relative = error / float(np.max(np.abs(expected)))
    print(f"Quartet demo: {mlp.SOURCE.name} (batch 64, 512-1024-1024-10, f32)")
    print(_summary(model))
    print(f"CPU run of the tiled program vs numpy: max abs error {error:.3g}, rel {relative:.3g}")
    ok = relative < 1e-4 and all(i.spill_stores == 0 for i in model.ptxas.values())
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


def _report(model: CompiledModel) -> dict:
    return {
        "target": model.target,
        "entry": model.entry,
        "pipeline": model.pipeline,
        "stage_seconds": model.stage_seconds,
        "kernels": [
            {
                "name": kernel.name,
                "grid": kernel.grid,
                "block": kernel.block,
                "shared_bytes": kernel.shared_bytes,
                **(
                    {
                        "registers": model.ptxas[kernel.name].registers,
                        "spill_bytes": model.ptxas[kernel.name].spill_stores
                        + model.ptxas[kernel.name].spill_loads,
                    }
                    if model.ptx
                    else {}
                ),
            }
            for kernel in model.kernels
        ],
    }


def _summary(model: CompiledModel) -> str:
    seconds = sum(model.stage_seconds.values())
    lines = [f"target {model.target}: {len(model.kernels)} kernels, compiled in {seconds:.2f} s"]
    if model.kernels:
        lines.append(f"  {'kernel':<12} {'grid':>10} {'block':>6} {'smem B':>7} {'regs':>5} spills")
    for kernel in model.kernels:
        info = model.ptxas[kernel.name]
        spills = info.spill_stores + info.spill_loads
        lines.append(
            f"  {kernel.name:<12} {kernel.grid[0]:>10} {kernel.block[0]:>6} "
            f"{kernel.shared_bytes:>7} {info.registers:>5} {spills:>6}"
        )
    lines.append(f"  pipeline: {model.pipeline}")
    return "\n".join(lines)
