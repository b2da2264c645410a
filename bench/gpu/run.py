"""Run the prepared artifacts on the GPU beside PyTorch; without a GPU, check them on the CPU.

    bench/gpu/run.sh [--artifacts bench/gpu/artifacts] [--out $OUT] [--runs 50] [--budget 330]

On a GPU (found through quartet.runtime's cuda device), within ``--budget`` seconds:

1. every artifact of bench.json runs through quartet.runtime on the GPU and is checked
   against its reference outputs (its CPU form's, computed by prepare.py on the same
   generated feeds, whose SHA-256 is compared first); its latency is the median of ``--runs``
   runs after warm-up, timed with CUDA events around the kernels;
2. the same models in PyTorch (torch_models.py, fed the same arrays) on the same GPU: eager,
   a CUDA-graph replay of eager, each timed the same way and checked against the reference;
3. compute-sanitizer memcheck and racecheck on the smallest artifact of each variant, in
   child processes, while torch.compile compiles the models; then the compiled models are
   timed, for as many as the budget allows ("where it works": a failure is reported).

It prints a table and writes results.json into ``--out`` (default ``$OUT``). Without a GPU it
says so, runs every artifact on the CPU (device cpu) against its reference, and exits 0 if all
agree. Peer figures are always measured here, never quoted.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from weights import feeds, fingerprint  # noqa: E402

import quartet.runtime  # noqa: E402
from quartet.errors import QuartetError  # noqa: E402
from quartet.runtime.compare import compare  # noqa: E402

DTYPES = {"f32": np.float32, "f16": np.float16}
SANITIZER_TOOLS = ("memcheck", "racecheck")


class Clock:
    """Seconds left of the run's budget."""

    def __init__(self, budget: float):
        self.deadline = time.monotonic() + budget

    def left(self) -> float:
        return self.deadline - time.monotonic()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=Path, default=HERE / "artifacts")
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT") or HERE / "out"))
    parser.add_argument("--runs", type=int, default=50, help="timed runs per measurement")
    parser.add_argument("--warmup", type=int, default=5, help="runs before the timed ones")
    parser.add_argument("--budget", type=float, default=330, help="seconds for the whole run")
    args = parser.parse_args(argv)
    clock = Clock(args.budget)
    index_path = args.artifacts / "bench.json"
    if not index_path.exists():
        print(f"error: {index_path} is missing: run bench/gpu/prepare.py first", file=sys.stderr)
        return 1
    index = json.loads(index_path.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    gpu, reason = _find_gpu()
    if gpu is None:
        print(f"no GPU here ({reason}): checking the artifacts on the CPU through quartet.runtime")
        results = {"device": "cpu", "reason": reason, "entries": _cpu_checks(args, index)}
    else:
        print(f"GPU: {gpu}")
        results = {"device": gpu, **_gpu_benchmark(args, index, clock)}
    results["host"] = {"python": platform.python_version(), "machine": platform.machine()}
    results["seconds"] = round(args.budget - clock.left(), 1)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    print(f"results: {args.out / 'results.json'} ({results['seconds']} s)")
    failed = [e["name"] for e in results["entries"] if not e["check"].startswith("OK")]
    if failed:
        print(f"check FAILED: {', '.join(failed)}")
        return 1
    return 0


def _find_gpu() -> tuple[str | None, str]:
    """The GPU's name, or None and why there is none."""
    from quartet.runtime.cuda import CudaDevice

    try:
        device = CudaDevice()
    except QuartetError as error:
        return None, str(error).removeprefix("error: ")
    name = device.name
    device.close()
    return name, ""


def _inputs(artifacts: Path, entry: dict, seed: int) -> tuple[dict, dict, str]:
    """(feeds, reference outputs, problem): the feeds regenerated here must be the bits
    prepare.py generated, or the reference means nothing."""
    generated = feeds(entry["inputs"], DTYPES[entry["dtype"]], seed)
    with np.load(artifacts / entry["reference"]) as archive:
        reference = {name: archive[name] for name in archive.files}
    if fingerprint(generated) != entry["feeds_sha256"]:
        return generated, reference, "generated feeds differ from prepare.py's (weights.py)"
    return generated, reference, ""


def _check(outputs: dict, reference: dict) -> str:
    lines = compare(outputs, reference)
    worst = ", ".join(line for line, _ in lines)
    return ("OK " if all(good for _, good in lines) else "FAILED ") + worst


# -- without a GPU ----------------------------------------------------------------------------


def _cpu_checks(args, index: dict) -> list[dict]:
    entries = []
    print(f"{'artifact':<26} {'launches':>8}  {'cpu ms':>9}  check")
    for entry in index["entries"]:
        generated, reference, problem = _inputs(args.artifacts, entry, index["seed"])
        result = {"name": entry["name"], "launches": entry["launches"]}
        try:
            with quartet.runtime.load(args.artifacts / entry["artifact"]) as model:
                start = time.perf_counter()
                outputs = model.run(generated, device="cpu")
            result["cpu_ms"] = (time.perf_counter() - start) * 1e3
            result["check"] = f"FAILED {problem}" if problem else _check(outputs, reference)
        except QuartetError as error:
            result["check"] = f"FAILED {error}"
        entries.append(result)
        print(
            f"{entry['name']:<26} {entry['launches']:>8}  {result.get('cpu_ms', 0):9.3f}  "
            f"{result['check']}"
        )
    return entries


# -- on a GPU -------------------------------------------------------------------------------


def _gpu_benchmark(args, index: dict, clock: Clock) -> dict:
    entries = [_quartet_on_gpu(args, index, entry) for entry in index["entries"]]
    torch_results, torch_note = _torch_eager_and_graphs(args, index, entries)
    sanitizers = _start_sanitizers(args, index, clock)
    compiled = _torch_compile(args, index, torch_results, clock)
    sanitizer_results = [_finish(job, clock) for job in sanitizers]
    _time_compiled(args, compiled, torch_results, clock)
    _print_table(entries, torch_results)
    for result in sanitizer_results:
        print(f"compute-sanitizer {result['tool']:<9} {result['artifact']:<26} {result['result']}")
    return {
        "entries": entries,
        "torch": torch_results,
        "torch_note": torch_note,
        "sanitizer": sanitizer_results,
    }


def _quartet_on_gpu(args, index: dict, entry: dict) -> dict:
    generated, reference, problem = _inputs(args.artifacts, entry, index["seed"])
    result = {"name": entry["name"], "launches": entry["launches"], "check": "FAILED"}
    try:
        with quartet.runtime.load(args.artifacts / entry["artifact"], watchdog=20) as model:
            outputs = model.run(generated, device="cuda")
            result["check"] = f"FAILED {problem}" if problem else _check(outputs, reference)
            seconds = model.bench(generated, device="cuda", runs=args.runs, warmup=args.warmup)
        result["quartet_ms"] = statistics.median(seconds) * 1e3
        result["quartet_min_ms"] = min(seconds) * 1e3
    except QuartetError as error:
        result["check"] = f"FAILED {error}"
    print(f"  {entry['name']:<26} {result['check'][:90]}", flush=True)
    return result


def _key(entry: dict) -> str:
    return f"{entry['model']}-{entry['dtype']}"


def _torch_eager_and_graphs(args, index: dict, entries: list[dict]) -> tuple[dict, str]:
    """Per model and dtype: eager and CUDA-graph latency, and eager's check."""
    try:
        import torch
        import torch_models
    except ImportError as error:
        return {}, f"torch unavailable: {error}"
    results = {}
    for entry in index["entries"]:
        key = _key(entry)
        if key in results:
            continue
        generated, reference, _ = _inputs(args.artifacts, entry, index["seed"])
        try:
            results[key] = _torch_model(args, entry, generated, reference, torch, torch_models)
        except Exception as error:  # noqa: BLE001 - a peer's failure is reported, not fatal
            results[key] = {"error": f"{type(error).__name__}: {str(error).splitlines()[0]}"}
        print(f"  torch {key:<20} {results[key]}", flush=True)
    return results, f"torch {torch.__version__}"


def _torch_model(args, entry, generated, reference, torch, torch_models) -> dict:
    params = {name: torch.from_numpy(array).cuda() for name, array in generated.items()}
    x = params["x"]
    config = entry["config"]
    function = torch_models.MODELS[entry["model"]]

    def eager():
        return function(params, x, **config)

    with torch.no_grad():
        output = eager().float().cpu().numpy()
        check = _check({"y": output.astype(DTYPES[entry["dtype"]])}, _only(reference))
        eager_ms = _time_torch(torch, eager, args)
        graph = torch.cuda.CUDAGraph()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            for _ in range(3):
                eager()
        torch.cuda.current_stream().wait_stream(side)
        with torch.cuda.graph(graph):
            eager()
        graph_ms = _time_torch(torch, graph.replay, args)
    return {"check": check, "eager_ms": eager_ms, "graph_ms": graph_ms, "_eager": eager}


def _only(reference: dict) -> dict:
    """The one output of a benchmark model, named "y" for the comparison."""
    (value,) = reference.values()
    return {"y": value}


def _time_torch(torch, function, args) -> float:
    """Median milliseconds of ``function`` over ``--runs`` runs after ``--warmup`` ones, CUDA
    events around each (as quartet.runtime times a run)."""
    for _ in range(args.warmup):
        function()
    torch.cuda.synchronize()
    times = []
    for _ in range(args.runs):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        function()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def _start_sanitizers(args, index: dict, clock: Clock) -> list[dict]:
    """compute-sanitizer (memcheck, racecheck) on the smallest artifact of each variant, in
    child processes running ``python -m quartet.runtime`` on the generated feeds."""
    sanitizer = shutil.which("compute-sanitizer")
    smallest: dict[str, dict] = {}
    for entry in index["entries"]:
        size = _ptx_bytes(args.artifacts / entry["artifact"])
        best = smallest.get(entry["variant"])
        if best is None or size < _ptx_bytes(args.artifacts / best["artifact"]):
            smallest[entry["variant"]] = entry
    jobs = []
    scratch = Path(tempfile.mkdtemp(prefix="quartet-sanitizer-"))
    for entry in smallest.values():
        generated, _, _ = _inputs(args.artifacts, entry, index["seed"])
        inputs = scratch / f"{entry['name']}.npz"
        np.savez(inputs, **generated)
        for tool in SANITIZER_TOOLS:
            job = {"tool": tool, "artifact": entry["name"]}
            if sanitizer is None:
                job["result"] = "not run: compute-sanitizer is not on PATH"
            elif clock.left() < 60:
                job["result"] = "not run: time budget"
            else:
                command = [sanitizer, "--tool", tool, "--target-processes", "all"]
                command += [sys.executable, "-m", "quartet.runtime"]
                command += [str(args.artifacts / entry["artifact"]), "--device", "cuda"]
                command += ["--inputs", str(inputs), "--watchdog", "300"]
                job["process"] = subprocess.Popen(
                    command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
            jobs.append(job)
    return jobs


def _ptx_bytes(artifact: Path) -> int:
    return sum(path.stat().st_size for path in artifact.glob("*.ptx"))


_SUMMARY = re.compile(r"(ERROR SUMMARY|RACECHECK SUMMARY): .*")


def _finish(job: dict, clock: Clock) -> dict:
    process = job.pop("process", None)
    if process is None:
        return job
    try:
        output, _ = process.communicate(timeout=max(clock.left() - 20, 1))
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
        job["result"] = "not finished within the time budget"
        return job
    summaries = [match.group(0) for match in _SUMMARY.finditer(output)]
    dirty = [line for line in summaries if not re.search(r"SUMMARY: 0 ", line)]
    clean = process.returncode == 0 and summaries and not dirty
    detail = "; ".join(summaries) or (output.strip().splitlines() or ["no output"])[-1]
    job["result"] = ("clean: " if clean else f"FAILED (exit {process.returncode}): ") + detail
    job["output_tail"] = output[-4000:]
    return job


def _torch_compile(args, index: dict, results: dict, clock: Clock) -> dict:
    """torch.compile each model (the first call compiles), cheapest first, while the budget
    leaves a minute for the rest."""
    compiled = {}
    try:
        import torch
    except ImportError:
        return compiled
    for key, result in sorted(results.items(), key=lambda item: "resnet" in item[0]):
        eager = result.pop("_eager", None)
        if eager is None:
            continue
        if clock.left() < 90:
            result["compile"] = "skipped: time budget"
            continue
        try:
            function = torch.compile(eager)
            start = time.perf_counter()
            with torch.no_grad():
                function()
            torch.cuda.synchronize()
            result["compile_seconds"] = round(time.perf_counter() - start, 1)
            compiled[key] = function
        except Exception as error:  # noqa: BLE001 - "where it works": a failure is a result
            result["compile"] = f"failed: {type(error).__name__}: {str(error).splitlines()[0]}"
    for result in results.values():
        result.pop("_eager", None)
    return compiled


def _time_compiled(args, compiled: dict, results: dict, clock: Clock) -> None:
    if not compiled:
        return
    import torch

    for key, function in compiled.items():
        if clock.left() < 10:
            results[key]["compile"] = "not timed: time budget"
            continue
        with torch.no_grad():
            results[key]["compiled_ms"] = _time_torch(torch, function, args)


def _print_table(entries: list[dict], torch_results: dict) -> None:
    header = f"{'artifact':<26} {'launches':>8} {'quartet ms':>10} {'eager ms':>9}"
    print(f"\n{header} {'graph ms':>9} {'compile ms':>10}  check")
    for entry in entries:
        key = entry["name"].rsplit("-", 1)[0]
        peer = torch_results.get(key, {})
        cells = [entry.get("quartet_ms"), peer.get("eager_ms"), peer.get("graph_ms")]
        cells.append(peer.get("compiled_ms"))
        shown = [f"{c:.4g}" if c is not None else "-" for c in cells]
        print(
            f"{entry['name']:<26} {entry['launches']:>8} {shown[0]:>10} {shown[1]:>9} "
            f"{shown[2]:>9} {shown[3]:>10}  {entry['check'][:60]}"
        )
    for key, peer in torch_results.items():
        notes = [f"{k}: {v}" for k, v in peer.items() if k in ("check", "compile", "error")]
        if notes:
            print(f"torch {key}: {'; '.join(notes)}")


if __name__ == "__main__":
    sys.exit(main())
