"""The launch graph of a compiled host function, and Welder's launch charge under each schedule."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlir import ir

import quartet
from quartet.dialects import create_context
from quartet.errors import QuartetError
from quartet.hardware import H100_SXM
from quartet.passes.rammer.launches import (
    host_functions,
    host_launches,
    launch_charge,
    launch_nodes,
)
from quartet.pipeline import parse_pipeline, run_pipeline
from quartet.pipelines import pipeline_text, steps_for
from quartet.rammer.cost import LAUNCH_SECONDS, handoff_seconds

MLP = Path(quartet.__file__).parent / "examples" / "mlp.mlir"


def loop_level(schedule: str):
    """The example MLP after the graph-to-loops pipeline of ``schedule``: its host function's
    launches (kernel and modelled time), the charge Welder recorded, and the policy's launches
    on 132 SMs."""
    prefix, _ = steps_for("sm_90", schedule=schedule)
    prefix = prefix[:-1]  # up to quartet-rammer: the launches it places
    with create_context(), ir.Location.unknown():
        module = ir.Module.parse(MLP.read_text())
        run_pipeline(module, parse_pipeline(pipeline_text(prefix)))
        functions, (host,) = host_functions(module.operation)
        run, charge = host_launches(host, functions), launch_charge(host)
        launches = [(launch.kernel, launch.modelled_seconds) for launch in run]
        return launches, charge, launch_nodes(run, charge, sms=132)


def test_welder_charges_a_launch_without_rammer_and_a_handoff_with_it():
    """The same three kernels either way, each modelled time lower by the difference of the
    charges; the launches form a chain (each layer reads the one before)."""
    plain, plain_charge, nodes = loop_level("none")
    rammer, rammer_charge, _ = loop_level("rammer")
    assert plain_charge == LAUNCH_SECONDS
    assert rammer_charge == pytest.approx(handoff_seconds(H100_SXM.clock_hz))
    assert [kernel for kernel, _ in plain] == ["mlp_k0", "mlp_k1", "mlp_k2"]
    assert [kernel for kernel, _ in rammer] == ["mlp_k0", "mlp_k1", "mlp_k2"]
    for (_, apart), (_, together) in zip(plain, rammer, strict=True):
        assert apart - together == pytest.approx(LAUNCH_SECONDS - rammer_charge)
    assert [node.depends for node in nodes] == [(), (0,), (1,)]
    assert [node.tasks for node in nodes] == [128, 128, 4]
    for node, (_, seconds) in zip(nodes, plain, strict=True):
        rounds = -(-node.tasks // 132)
        assert node.task_seconds * rounds == pytest.approx(seconds - plain_charge)


def test_schedule_and_launch_seconds_are_checked():
    with pytest.raises(ValueError, match="unknown schedule 'eager'"):
        steps_for("sm_90", schedule="eager")
    with create_context(), ir.Location.unknown():
        module = ir.Module.parse(MLP.read_text())
        pipeline = "builtin.module(quartet-welder{launch-seconds=-1.0})"
        with pytest.raises(QuartetError, match="'launch-seconds' must be a time of at least 0"):
            run_pipeline(module, parse_pipeline(pipeline))
