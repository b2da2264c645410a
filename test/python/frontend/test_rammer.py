"""Rammer end to end: models without control flow make one launch per inference, a
persistent kernel whose numerics are the launch list's, on the CPU and in the PTX emulator."""

from __future__ import annotations

import dataclasses
import re
from types import SimpleNamespace

import numpy as np
import onnx
import pytest
from fusion_models import Weights, basic_block, conv_bn, linear, mlp
from models import FLOAT, encoder, encoder_layer, make_model
from onnx import helper

import quartet
from quartet import veu_plan
from quartet.dialects.schedule import Veus
from quartet.examples import mlp as mlp_example
from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs
from quartet.hardware import H100_SXM
from quartet.ptxas import PtxasInfo, find_ptxas
from quartet.rammer.cost import LAUNCH_SECONDS
from quartet.runtime.emulated import EmulatedDevice
from quartet.runtime.program import Launch, load_program, run_host_program

needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")


def small_cnn(image: int = 8, seed: int = 0) -> onnx.ModelProto:
    """ResNet in small: a conv-BN-ReLU stem, a basic block, a strided basic block with a 1x1
    downsampling shortcut (two branches), global average pooling, Linear."""
    w = Weights(seed)
    nodes = conv_bn(w, "conv1", "x", "bn1", 3, 8, 3, 1)
    nodes.append(helper.make_node("Relu", ["bn1"], ["relu"]))
    nodes += basic_block(w, "layer1", "relu", "layer1", 8, 8, 1)
    nodes += basic_block(w, "layer2", "layer1", "layer2", 8, 16, 2)
    nodes.append(helper.make_node("GlobalAveragePool", ["layer2"], ["gap"]))
    nodes.append(helper.make_node("Flatten", ["gap"], ["flat"], axis=1))
    nodes += linear(w, "fc", "flat", "y", 16, 10)
    inputs, outputs = [("x", FLOAT, [1, 3, image, image])], [("y", FLOAT, [1, 10])]
    return make_model(nodes, inputs, outputs, w.items)


def top_k_scatter(rows: int = 4, width: int = 10, k: int = 3) -> onnx.ModelProto:
    """``zeros_like(x).scatter(-1, i, v)`` of x's top k, then a running sum, as PyTorch
    exports it: the Scatter updates a copy of a constant in place, a host copy between two
    launches unless it is a copy kernel's."""
    w = Weights(4)
    nodes = [
        helper.make_node("TopK", ["x", w.add("k", np.array([k], np.int64))], ["v", "i"]),
        helper.make_node(
            "ScatterElements",
            [w.add("zeros", np.zeros((rows, width), np.float32)), "i", "v"],
            ["z"],
            axis=-1,
        ),
        helper.make_node("CumSum", ["z", w.add("axis", np.array(-1, np.int64))], ["y"]),
    ]
    inputs, outputs = [("x", FLOAT, [rows, width])], [("y", FLOAT, [rows, width])]
    return make_model(nodes, inputs, outputs, w.items)


MODELS = {
    "mlp": lambda: mlp(sizes=(64, 256, 256, 10), batch=16),
    "scatter": top_k_scatter,
    "encoder layer": lambda: encoder_layer(batch=1, seq=8, dim=16, heads=2, ffn=32),
    "cnn": small_cnn,
}


@pytest.fixture(scope="module", params=MODELS)
def built(request):
    """(ONNX model, Rammer's build, the launch list's build), for sm_90."""
    model = MODELS[request.param]()
    rammer = compile_model(model, target="sm_90", cache=False)
    plain = compile_model(model, target="sm_90", schedule="none", cache=False)
    return model, rammer, plain


def test_one_launch_per_inference(built):
    """One cooperative launch of one persistent kernel, where the launch list had several;
    the model's own bytes are the same (Welder, charged a handoff instead of a launch, may
    group the kernels otherwise, so the intermediates' traffic may differ)."""
    _, rammer, plain = built
    compiled = rammer.compiled
    assert plain.compiled.launches > 1
    assert compiled.launches == 1 and len(compiled.kernels) == 1
    (launch,) = compiled.host.launches
    assert launch.cooperative and launch.kernel.endswith("_rammer")
    assert compiled.host.counters in launch.buffers and compiled.host.epoch in launch.buffers
    assert compiled.counters.compulsory_bytes == plain.compiled.counters.compulsory_bytes
    assert compiled.counters.global_bytes == sum(
        k.loaded + k.stored for k in compiled.counters.kernels.values()
    )


def test_the_cpu_runs_the_co_scheduled_program_as_the_launch_list(built):
    """The CPU form runs each launch's tasks vEU by vEU, every wait checked: the same numbers
    as the launch list, bit for bit, and onnxruntime's (or the reference evaluator's)."""
    model, rammer, plain = built
    feeds = rammer.random_inputs(seed=3)
    got = rammer.run(feeds)
    np.testing.assert_array_equal(got["y"], plain.run(feeds)["y"])
    _, expected = reference_outputs(model, feeds, rammer.outputs)
    np.testing.assert_allclose(got["y"], expected["y"], rtol=1e-4, atol=1e-5)


def test_the_persistent_kernel_emulates_with_every_checker(built):
    """The PTX itself, every CTA of the grid together (the waits spin until the signals of
    other CTAs arrive), with the emulator's checkers on."""
    model, rammer, _ = built
    feeds = rammer.random_inputs(seed=4)
    (kernel,) = rammer.compiled.kernels
    limits = rammer.compiled.resident_limits
    assert limits[kernel.name] >= kernel.grid[0]  # every vEU co-resident
    device = EmulatedDevice(checks=True, max_resident_ctas=limits)
    emulated = rammer.emulate(feeds, device=device)
    _, expected = reference_outputs(model, feeds, rammer.outputs)
    np.testing.assert_allclose(emulated["y"], expected["y"], rtol=1e-4, atol=1e-5)


def test_inference_after_inference_on_one_loaded_model(built):
    """The counters are zeroed once, when the program is loaded, and never reset; each run
    sets the epoch to its number, so its waits wait for that many times the tasks. Three
    inferences in a row on one emulated GPU (every checker on) are each right, and the
    counters end at three times every launch's tasks; on the CPU (whose form zeroes its
    counters in every call) runs in a row agree with the reference too."""
    model, rammer, _ = built
    compiled = rammer.compiled
    device = EmulatedDevice(checks=True, max_resident_ctas=compiled.resident_limits)
    loaded = load_program(compiled.host, compiled.ptx, device)
    for seed in (5, 6, 7):
        feeds = rammer.random_inputs(seed=seed)
        _, expected = reference_outputs(model, feeds, rammer.outputs)
        arrays = compiled.signature.check_inputs(rammer._arguments(feeds))  # weights too
        outputs = compiled.signature.new_outputs()
        read = dict(enumerate(outputs, start=len(arrays)))
        run_host_program(compiled.host, device, loaded, dict(enumerate(arrays)), read)
        np.testing.assert_allclose(outputs[0], expected["y"], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(rammer.run(feeds)["y"], expected["y"], rtol=1e-4, atol=1e-5)
    assert loaded.inferences == 3
    epoch = np.zeros(1, np.int32)
    device.read(loaded.storage[compiled.host.epoch], epoch)
    assert epoch[0] == 3  # the last run waited for three times the tasks
    counters = np.zeros(compiled.host.buffers[compiled.host.counters].spec.shape, np.int32)
    device.read(loaded.storage[compiled.host.counters], counters)
    (table,) = [b.constant for b in compiled.host.buffers if b.spec.shape[-1:] == (2,)]
    np.testing.assert_array_equal(counters, 3 * (table[..., 1] - table[..., 0]).sum(axis=1))


@needs_ptxas
def test_the_persistent_kernel_keeps_to_its_register_plan(built):
    """ptxas holds the merged kernel to the vEUs per SM it was planned for (.minnctapersm):
    no spills, and that many vEUs fit an SM's register file and shared memory."""
    compiled = built[1].compiled
    (launch,) = compiled.host.launches
    veus = compiled.planned_veus[launch.kernel]
    info = compiled.ptxas[launch.kernel]
    ptx = compiled.ptx[launch.kernel]
    assert info.spill_stores == info.spill_loads == info.stack_frame == 0, info
    assert (
        f"\n.minnctapersm {veus.per_sm}\n" in ptx and f"\n.reqntid {launch.block[0]}, 1, 1\n" in ptx
    )
    threads = launch.block[0]
    assert H100_SXM.blocks_per_sm(threads, info.registers, launch.shared_bytes) >= veus.per_sm
    assert launch.grid[0] == veus.count <= veus.per_sm * H100_SXM.sm_count
    assert ".extern .shared .align 16 .b8 __quartet_arena[];" in ptx


@needs_ptxas
def test_ptx_grows_with_distinct_kernels_not_launches():
    """Two identical layers are one layer's kernels launched twice (each operator its own
    kernel, so that no group spans the layers): the persistent kernel holds one .func per
    distinct kernel, called from one site per launch."""
    one, two = (
        compile_model(encoder(n), target="sm_90", fusion="none", cache=False).compiled
        for n in (1, 2)
    )
    funcs = [
        sorted(re.findall(r"^\.visible \.func (\w+)\(", m.ptx[m.kernels[0].name], re.M))
        for m in (one, two)
    ]
    assert funcs[0] == funcs[1] and len(funcs[0]) > 3
    calls = [m.ptx[m.kernels[0].name].count("call.uni") for m in (one, two)]
    launches = [
        len(compile_model(encoder(n), fusion="none", schedule="none").compiled.host.launches)
        for n in (1, 2)
    ]
    assert calls == launches


def test_a_wrong_table_fails_the_cpu_run_instead_of_hanging(monkeypatch):
    """A vEU table that leaves a task out would hang the GPU's waits; the CPU form's checks
    fail the run with the program's error instead (and the next run of a right table is
    right). The table is damaged in the loop-level IR, past the verifier that refuses it."""
    example = mlp_example
    compiled = quartet.compile(example.SOURCE, target="sm_90", cache=False)
    inputs = example.random_inputs(seed=1)
    np.testing.assert_allclose(
        compiled.run(*inputs), example.reference(*inputs), rtol=1e-4, atol=1e-5
    )
    table = re.search(
        r'_veu_table : memref<3x\d+x2xi32> = dense<"0x([0-9A-F]+)">', compiled.loops_ir
    )
    data = bytearray.fromhex(table.group(1))
    data[4:8] = data[0:4]  # launch 0's range on vEU 0, [0, 1), becomes [0, 0): a task is lost
    damaged = compiled.loops_ir.replace(table.group(1), data.hex().upper())
    broken = dataclasses.replace(compiled, loops_ir=damaged, cache_entry=None)
    broken._scratch = broken._executable = None
    monkeypatch.delenv("QUARTET_VERIFY_EACH_PASS")
    with pytest.raises(
        quartet.QuartetError, match="a wait of the vEU program found its counter short"
    ):
        broken.run(*inputs)


def ptxas_said(registers: int, spills: int = 0) -> object:
    """A GPU build of one persistent kernel (256 threads, no shared memory), as
    :func:`quartet.veu_plan.replan` reads it, ptxas having said ``registers`` and ``spills``."""
    launch = Launch("f_rammer", (528, 1, 1), (256, 1, 1), (0, 1), 0, True)
    info = PtxasInfo("f_rammer", registers, spills, spills, 0, 0, 1)
    return SimpleNamespace(
        target="sm_90", host=SimpleNamespace(launches=[launch]), ptxas={"f_rammer": info}
    )


@pytest.mark.parametrize(
    ("planned", "registers", "spills", "again"),
    [
        (64, 64, 0, None),  # 4 vEUs x 256 threads x 64 registers: the whole register file
        (64, 64, 48, 128),  # held to the plan, ptxas spilled: twice the registers
        (64, 96, 0, 128),  # ptxas took more than 4 such vEUs fit: a vEU would never start
        (64, 200, 0, 200),  # more than twice the plan: what ptxas needed
        (255, 255, 24, "kept"),  # no plan gives a thread more, 48 B of spills: kept
        (255, 255, 600, "launches"),  # no plan gives a thread more: the launch list
    ],
)
def test_a_register_plan_ptxas_did_not_keep_is_made_again(planned, registers, spills, again):
    per_sm = H100_SXM.registers_per_sm // (256 * planned)  # what quartet-rammer plans
    veus = {"f_rammer": Veus(132 * per_sm, per_sm, "sm_90")}
    plan = veu_plan.replan(ptxas_said(registers, spills), veus, planned)
    if again is None:
        assert plan is None
    elif again == "launches":
        assert plan.registers is None and "built as a launch list instead" in plan.reason
    elif again == "kept":
        assert plan.final and plan.registers == planned and "kept as one" in plan.reason
    else:
        assert plan.registers == again
        assert plan.reason.startswith(
            f"f_rammer: planned 4 vEUs per SM of 256 threads at {planned}"
        )


def test_the_compiler_builds_again_with_the_new_plan(monkeypatch):
    """Where the plan did not hold, the build starts again at the loop level: the pipeline
    names the new plan and the virtual device follows it; the notes say why."""
    told = []

    def once(model, veus, planned):
        if told:
            return None
        told.append(planned)
        return veu_plan.Replan(255, "forced for the test")

    monkeypatch.setattr(veu_plan, "replan", once)
    compiled = quartet.compile(mlp_example.SOURCE, target="sm_90", cache=False)
    assert told == [veu_plan.FIRST_PLAN] and compiled.schedule_notes == ["forced for the test"]
    assert "quartet-rammer{arch=sm_90 schedule=rammer registers=255}" in compiled.pipeline
    (launch,) = compiled.host.launches
    assert (
        f"\n.minnctapersm {compiled.planned_veus[launch.kernel].per_sm}\n"
        in compiled.ptx[launch.kernel]
    )
    inputs = mlp_example.random_inputs(seed=2)
    np.testing.assert_allclose(
        compiled.run(*inputs), mlp_example.reference(*inputs), rtol=1e-4, atol=1e-5
    )


def test_a_persistent_kernel_that_spills_at_any_plan_is_built_as_the_launch_list(monkeypatch):
    """Where no register plan holds (ptxas spills even at the most registers a lone vEU per SM
    has), the compiler says so and builds the launch list from the graph again: Welder is then
    charged a real launch per kernel, as the pipeline says, and the model still computes."""
    told = []

    def never(model, veus, planned):
        told.append(planned)
        return veu_plan.Replan(None, "spills at any plan: built as a launch list instead")

    monkeypatch.setattr(veu_plan, "replan", never)
    compiled = quartet.compile(mlp_example.SOURCE, target="sm_90", cache=False)
    assert told == [veu_plan.FIRST_PLAN]  # the launch list is not re-planned
    assert compiled.schedule_notes[-1].endswith("built as a launch list instead")
    assert compiled.launches == 3 and not compiled.schedules
    assert "schedule=none" in compiled.pipeline
    assert f"launch-seconds={LAUNCH_SECONDS}" in compiled.pipeline
    inputs = mlp_example.random_inputs(seed=2)
    np.testing.assert_allclose(
        compiled.emulate(*inputs), mlp_example.reference(*inputs), rtol=1e-4, atol=1e-5
    )
