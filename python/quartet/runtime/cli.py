"""``python -m quartet.runtime ARTIFACT``: run a compiled artifact on a device, time it, check it.

    python -m quartet.runtime out/ --device cuda --bench 100     # median latency after warm-up
    python -m quartet.runtime out/ --device emulator --check     # vs the artifact's CPU form
    python -m quartet.runtime out/ --device cpu --inputs in.npz --save-outputs out.npz

Inputs are random (``--seed``) unless ``--inputs`` names an .npz of them. ``quartet run`` runs
artifacts and .onnx models through the same functions. Exit codes: 0 ok, 1 user error
(bad artifact, input or option; no GPU), 2 a check failed.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np

from quartet.errors import QuartetError
from quartet.runtime.compare import compare
from quartet.runtime.model import DEVICES, WATCHDOG_SECONDS, Model

WARMUP = 3  # runs before a timed benchmark: JIT caches, clocks and allocator warm
_PLACES = {
    "cpu": "the CPU",
    "emulator": "the PTX emulator ({target})",
    "cuda": "the GPU ({target} PTX, CUDA driver)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m quartet.runtime", description=__doc__.splitlines()[0]
    )
    parser.add_argument("artifact", type=Path, help="a directory written by quartet compile -o")
    add_run_options(parser)
    parser.add_argument("--check", action="store_true", help="compare with the artifact's CPU form")
    parser.add_argument("--expected", type=Path, help=".npz of expected outputs to compare with")
    args = parser.parse_args(argv)
    try:
        check_run_options(args)
        model = load_model(args.artifact, args.watchdog)
        with model:
            feeds = model.random_inputs(args.seed)
            feeds.update(load_arrays(args.inputs, "--inputs") if args.inputs else {})
            device = args.device or model.devices[0]
            outputs = execute(model, feeds, device, args.bench, print)
            if args.save_outputs:
                np.savez(args.save_outputs, **outputs)
            return check_outputs(model, feeds, outputs, device, args, print)
    except QuartetError as error:
        print(error, file=sys.stderr)
        return 1


def load_model(directory: Path, watchdog: float) -> Model:
    from quartet.runtime import load

    return load(directory, watchdog=watchdog)


def add_run_options(parser: argparse.ArgumentParser, device: bool = True) -> None:
    """The options ``quartet run`` shares: device (unless fixed), inputs, benchmark."""
    if device:
        parser.add_argument(
            "--device",
            choices=DEVICES,
            help="where to run (default: cpu where the model has its CPU form, else emulator)",
        )
    parser.add_argument("--inputs", type=Path, help=".npz of named inputs (default: random)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random inputs")
    parser.add_argument(
        "--bench",
        type=int,
        metavar="N",
        help=f"time N runs after {WARMUP} warm-up runs and print the median",
    )
    parser.add_argument(
        "--watchdog",
        type=float,
        default=WATCHDOG_SECONDS,
        metavar="S",
        help="seconds a GPU kernel may run before it is reported as a hang",
    )
    parser.add_argument("--save-outputs", type=Path, help="write the outputs to this .npz")
    parser.add_argument(
        "--rtol", type=float, help="relative tolerance of checks (default by dtype)"
    )
    parser.add_argument(
        "--atol", type=float, help="absolute tolerance of checks (default by dtype)"
    )


def check_run_options(args: argparse.Namespace) -> None:
    if args.seed < 0:
        raise QuartetError(f"error: --seed must be a non-negative integer, got {args.seed}")
    if args.bench is not None and args.bench < 1:
        raise QuartetError(f"error: --bench must be a positive number of runs, got {args.bench}")
    for option in ("rtol", "atol"):
        value = getattr(args, option)
        if value is not None and not (math.isfinite(value) and value >= 0):
            raise QuartetError(f"error: --{option} must be a finite number >= 0, got {value}")
    if not (math.isfinite(args.watchdog) and args.watchdog > 0):
        raise QuartetError(
            f"error: --watchdog must be a positive number of seconds, got {args.watchdog}"
        )


def execute(
    model: Model,
    feeds: Mapping[str, np.ndarray],
    device: str,
    bench: int | None,
    say: Callable[[str], None],
) -> dict[str, np.ndarray]:
    """Run once on ``device`` (then ``bench`` timed runs) and say what came out."""
    start = time.perf_counter()
    outputs = model.run(feeds, device=device)
    where = _PLACES[device].format(target=model.artifact.target)
    say(f"ran on {where} in {time.perf_counter() - start:.3f} s")
    for name, value in outputs.items():
        say(f"  {name}: {list(value.shape)} {value.dtype}")
    if bench:
        seconds = model.bench(feeds, device=device, runs=bench, warmup=WARMUP)
        clock = "CUDA events" if device == "cuda" else "wall clock"
        say(
            f"latency: median {statistics.median(seconds) * 1e3:.4g} ms, min "
            f"{min(seconds) * 1e3:.4g} ms over {bench} runs after {WARMUP} warm-up ({clock})"
        )
    return outputs


def check_outputs(model, feeds, outputs, device, args, say) -> int:
    """--check (against the CPU form) and --expected (an .npz); 2 if one fails."""
    references = []
    if args.check:
        if "cpu" not in model.devices:
            raise QuartetError(
                "error: --check compares with the CPU form, which this artifact lacks"
            )
        references.append(("the CPU form", model.run(feeds, device="cpu")))
    if args.expected:
        references.append((str(args.expected), load_arrays(args.expected, "--expected")))
    ok = True
    for where, expected in references:
        missing = [name for name in outputs if name not in expected]
        if missing:
            raise QuartetError(f"error: {where} has no output '{missing[0]}'")
        for line, good in compare(outputs, expected, args.rtol, args.atol):
            say(f"  vs {where}: {line}")
            ok &= good
    if references:
        say("check OK" if ok else "check FAILED")
    return 0 if ok else 2


def load_arrays(path: Path, option: str) -> dict[str, np.ndarray]:
    """The named arrays of an .npz archive (``np.savez``) given with ``option``; one-line
    errors for anything else."""
    try:
        loaded = np.load(path)
    except OSError as error:
        raise QuartetError(f"error: {option} {path}: cannot read it ({error.strerror})") from None
    except (ValueError, EOFError, zipfile.BadZipFile):
        raise QuartetError(
            f"error: {option} {path}: not an .npz archive of named arrays (np.savez)"
        ) from None
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise QuartetError(
            f"error: {option} {path}: a single .npy array has no input names; save the inputs "
            "with np.savez(path, name=array, ...)"
        )
    try:
        with loaded as archive:
            return {name: archive[name] for name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise QuartetError(f"error: {option} {path}: cannot read an array ({first})") from None
