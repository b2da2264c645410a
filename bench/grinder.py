"""Control flow per model: what one inference costs where loops and branches run, for sm_90.

Models (test/python/frontend/controlflow_models.py, onnx.helper, random weights, issue 17's
shapes): an LSTM over 64 steps (hidden 256, batch 1 and 64), a 2-layer stacked LSTM, a GRU,
an early-exit loop (a fixed-point iteration, data-dependent trip count), a skip-block If on a
reduced value, a greedy decoder with argmax feedback, a BlockDrop-like network (an If per
block).

Per model and control-flow mode (``host``: the host program runs the loops, launching their
kernels every iteration and reading conditions back; ``device``, Grinder's: the loops run
inside the one persistent kernel, MODES):

- ``launches``: kernel launches per inference;
- ``copies``: device copies per inference (a stacked output's rows, carried values);
- ``rt/it``: host round trips per iteration, the most any loop makes (report.json's
  ``host_round_trips_per_iteration``; "-" without a loop); ``rt``: per inference;
- ``gb/it``: grid barriers per iteration (a host loop has none; on the device, one before a
  launch that overwrites a condition every vEU loaded); ``w/it``: counter waits per
  iteration, as one vEU that runs every segment passes them (report.json's
  ``waits_per_iteration``);
- ``launch/it``: launches per iteration of the model's first loop;
- ``modelled us``, host: Welder's modelled time of every launch (each includes a 3 us launch,
  passes/welder/model.py) + a copy's and a read-back's submission (COPY_SECONDS) + the copies'
  bytes at DRAM bandwidth. Device: one launch (3 us) + the same kernel work without the
  launches (the host loop's kernels, their launch charges taken out: the device runs the same
  body as tasks) + the copies' bytes (copy kernels on the device) + every grid barrier it
  passes at ``passes/grinder.py``'s barrier cost (3 L2 round trips, Jia et al.) + every
  counter wait at Rammer's handoff (``quartet.rammer.cost.handoff_seconds``: 2 L2 round
  trips; an upper bound: a wait already satisfied costs one acquire load, and the waits of
  different vEUs overlap; a branch's waits counted for both sides), no submission and no
  read-back. No GPU time is measured here.

Static figures come from the counters (``quartet.counters``); where a loop's trip count or a
branch is data-dependent, from one run of the host program in the PTX emulator (checkers off)
on the model's feeds, whose outputs are checked against onnxruntime.

    python bench/grinder.py [--models lstm_b1 early_exit ...] [--json bench/results/grinder.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "test" / "python" / "frontend"))

import controlflow_models  # noqa: E402

from quartet.frontend.onnx import compile_model  # noqa: E402
from quartet.hardware import spec_for  # noqa: E402
from quartet.passes.grinder import barrier_seconds  # noqa: E402
from quartet.rammer.cost import LAUNCH_SECONDS, handoff_seconds  # noqa: E402
from quartet.runtime.emulated import EmulatedDevice  # noqa: E402

MODES = ("host", "device")
TARGET = "sm_90"

COPY_SECONDS = 6e-6
"""Submitting one small copy (cudaMemcpyAsync): 5-7 us measured per call by Wu et al.,
"DualPath: Breaking the Storage Bandwidth Bottleneck in Agentic LLM Inference",
arXiv:2602.21548 (2026), section 5.2. Charged per device copy and per read-back (the device-to-
host copy of the condition; the wait for the work before it is in the serial sum)."""

# Issue 17's target for Grinder: modelled time <= 0.3x the host loop on these models.
DEVICE_TARGET = {"lstm_b1": 0.3, "early_exit": 0.3}


def measure(name: str, mode: str = "host") -> dict:
    model, feeds = controlflow_models.bench(name)
    start = time.perf_counter()
    compiled = compile_model(model, target=TARGET, control_flow=mode, cache=False)
    seconds = time.perf_counter() - start
    counters = compiled.compiled.counters
    if counters.exact:
        launches = {kernel: traffic.launches for kernel, traffic in counters.kernels.items()}
        copies, copy_bytes, round_trips = (
            counters.copies,
            counters.copy_bytes,
            counters.host_round_trips,
        )
        source = "counters"
    else:
        run = _emulated_run(compiled, model, feeds)
        launches, copies, copy_bytes, round_trips = (
            dict(run.launches),
            run.copies,
            run.copy_bytes,
            run.round_trips,
        )
        source = "emulated run"
    loop = counters.loops[0] if counters.loops else None
    kernel_seconds = sum(
        count * (counters.kernels[kernel].modelled_seconds or 0.0)
        for kernel, count in launches.items()
    )
    bandwidth = spec_for(TARGET).dram_bandwidth
    modelled = kernel_seconds + (copies + round_trips) * COPY_SECONDS + copy_bytes / bandwidth
    whiles = sum(1 for figures in counters.loops if figures.trips is None)
    return {
        "kernel_work_seconds": kernel_seconds - sum(launches.values()) * LAUNCH_SECONDS,
        "copy_bytes": copy_bytes,
        # iterations of each loop: its trip count, or (a while loop, the only one of its
        # model here) one read-back per iteration and one more to stop
        "iterations": [
            figures.trips if figures.trips is not None else round_trips // whiles - 1
            for figures in counters.loops
        ],
        "launches": sum(launches.values()),
        "copies": copies,
        "host_round_trips": round_trips,
        "host_round_trips_per_iteration": counters.host_round_trips_per_iteration,
        "grid_barriers_per_iteration": 0 if mode == "host" else None,
        "waits_per_iteration": 0 if mode == "host" else None,
        "launches_per_iteration": loop.per_iteration.launches if loop else None,
        "trips": loop.trips if loop else None,
        "modelled_seconds": modelled,
        "compile_seconds": seconds,
        "figures_from": source,
    }


def measure_device(name: str, host: dict) -> dict:
    """The device mode of ``name``: its counters (one launch, no round trip: exact, so no run
    is needed), and its modelled time from the host loop's kernel work (``host``)."""
    model, _ = controlflow_models.bench(name)
    start = time.perf_counter()
    compiled = compile_model(model, target=TARGET, cache=False)
    seconds = time.perf_counter() - start
    counters = compiled.compiled.counters
    barriers, waits = (
        _passed(counters, host["iterations"], kind) for kind in ("grid_barriers", "waits")
    )
    spec = spec_for(TARGET)
    modelled = (
        LAUNCH_SECONDS
        + host["kernel_work_seconds"]
        + host["copy_bytes"] / spec.dram_bandwidth
        + barriers * barrier_seconds(spec.clock_hz)
        + waits * handoff_seconds(spec.clock_hz)
    )
    loop = counters.loops[0] if counters.loops else None
    return {
        "launches": counters.launches,
        "copies": counters.copies,
        "host_round_trips": counters.host_round_trips,
        "host_round_trips_per_iteration": counters.host_round_trips_per_iteration,
        "grid_barriers_per_iteration": counters.grid_barriers_per_iteration,
        "waits_per_iteration": counters.waits_per_iteration,
        "launches_per_iteration": loop.per_iteration.launches if loop else None,
        "trips": loop.trips if loop else None,
        "grid_barriers": barriers,
        "waits": waits,
        "placements": [f"{p.construct}: {p.placement}" for p in counters.placements],
        "modelled_seconds": modelled,
        "compile_seconds": seconds,
        "figures_from": "counters (iterations of a while loop: the host loop's run)",
    }


def _passed(counters, iterations: list[int], kind: str) -> int:
    """The grid barriers or waits (``kind``) one inference passes: the counters' total, each
    data-dependent loop's per iteration times its iterations (the host loop's run), each
    branch's as often as control reaches it (both sides: which one runs is the data's)."""
    total = getattr(counters, kind) + sum(
        getattr(loop.per_iteration, kind) * trips
        for loop, trips in zip(counters.loops, iterations, strict=True)
        if loop.trips is None
    )
    return total + sum(
        getattr(region, kind) * region.reached
        for region in counters.data_dependent
        if "branch of scf.if" in region.region and region.within is None
    )


def _emulated_run(compiled, model, feeds):
    """One run of the host program in the emulator, outputs checked against onnxruntime."""
    import onnxruntime

    outputs, run = compiled.emulate_counted(feeds, device=EmulatedDevice(checks=False))
    session = onnxruntime.InferenceSession(model.SerializeToString())
    expected = session.run(None, feeds)
    for output, want in zip(session.get_outputs(), expected, strict=True):
        np.testing.assert_allclose(outputs[output.name], want, rtol=1e-4, atol=1e-5)
    return run


def _cell(value, pattern: str = "{}") -> str:
    return "-" if value is None else pattern.format(value)


def table(rows: list[dict]) -> str:
    head = (
        f"{'model':<15} {'mode':<6} {'launches':>8} {'copies':>6} {'rt':>4} {'rt/it':>5}"
        f" {'gb/it':>5} {'w/it':>5} {'trips':>5} {'launch/it':>9} {'modelled us':>11}"
    )
    lines = [head]
    for row in rows:
        for mode in MODES:
            f = row[mode]
            lines.append(
                f"{row['model']:<15} {mode:<6} {f['launches']:>8} {f['copies']:>6}"
                f" {f['host_round_trips']:>4} {_cell(f['host_round_trips_per_iteration']):>5}"
                f" {_cell(f['grid_barriers_per_iteration']):>5}"
                f" {_cell(f['waits_per_iteration']):>5} {_cell(f['trips']):>5}"
                f" {_cell(f['launches_per_iteration']):>9}"
                f" {f['modelled_seconds'] * 1e6:>11.1f}"
            )
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> list[str]:
    """Issue 17's targets for Grinder's device mode, against the host loop."""
    lines = []
    for row in rows:
        if row["model"] not in DEVICE_TARGET:
            continue
        target = DEVICE_TARGET[row["model"]]
        ratio = row["device"]["modelled_seconds"] / row["host"]["modelled_seconds"]
        verdict = "met" if ratio <= target else "MISSED"
        lines.append(f"{row['model']}: device / host {ratio:.2f} (target <= {target}): {verdict}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = list(controlflow_models.BENCH)
    parser.add_argument("--models", nargs="+", choices=names, default=names)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "grinder.json")
    args = parser.parse_args()
    rows = []
    for name in args.models:
        row = {"model": name}
        row["host"] = measure(name, "host")
        row["device"] = measure_device(name, row["host"])
        for mode in MODES:
            print(f"  {name} {mode}: {row[mode]['compile_seconds']:.1f} s", flush=True)
        rows.append(row)
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
