"""quartet.compile end to end: the MLP and other tiled operators, on the CPU and to PTX."""

from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import programs
import pytest

import quartet
from quartet.examples import mlp
from quartet.ptxas import find_ptxas

needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")


FIXED = "quartet-fixed-tiling"  # pins the tile shapes the structural assertions below expect


@pytest.fixture(scope="module")
def mlp_sm90() -> quartet.CompiledModel:
    return quartet.compile(mlp.SOURCE, target="sm_90")


@pytest.fixture(scope="module")
def mlp_fixed() -> quartet.CompiledModel:
    """One launch per kernel (schedule none), to look at each kernel's own launch."""
    return quartet.compile(mlp.SOURCE, target="sm_90", tiling=FIXED, fusion="none", schedule="none")


@pytest.mark.parametrize("target", ["cpu", "sm_90"])
def test_mlp_runs_on_cpu_and_matches_numpy(target, mlp_sm90):
    model = mlp_sm90 if target == "sm_90" else quartet.compile(mlp.SOURCE, target="cpu")
    inputs = mlp.random_inputs(seed=1)
    np.testing.assert_allclose(model.run(*inputs), mlp.reference(*inputs), rtol=1e-4, atol=1e-5)


def test_mlp_fuses_into_one_kernel_per_layer(mlp_sm90):
    """Welder: each layer's fill, matmul and bias (+ ReLU) are one kernel, the matmul's
    accumulator starting at the fill's value and the bias applied at its points (registers);
    Rammer runs the three as tasks of one persistent kernel (one .func each); the emulated
    PTX matches numpy."""
    assert mlp_sm90.launches == len(mlp_sm90.kernels) == 1
    ptx = mlp_sm90.ptx["mlp_rammer"]
    assert sorted(set(re.findall(r"\.func (\w+)\(", ptx))) == [f"mlp_k{i}_task" for i in range(3)]
    assert "bar.sync" in ptx
    inputs = mlp.random_inputs(seed=2)
    np.testing.assert_allclose(
        mlp_sm90.emulate(*inputs), mlp.reference(*inputs), rtol=1e-4, atol=1e-5
    )


def test_mlp_kernels_and_launches(mlp_fixed):
    """Unfused (fusion=none): one kernel per operator, but each fill is folded into the
    accumulator of the matmul it initializes, so nine operators are six kernels."""
    names = [kernel.name for kernel in mlp_fixed.kernels]
    assert names == [f"mlp_k{i}" for i in range(6)]
    assert set(mlp_fixed.ptx) == set(names)
    matmul = mlp_fixed.kernels[0]  # 64x1024 output in 64x64 tiles, 16x16 threads of 4x4 points
    assert (matmul.grid, matmul.block) == ((16, 1, 1), (256, 1, 1))
    assert matmul.shared_bytes == 2 * (64 * (16 + 4) + 16 * (64 + 4)) * 4  # double-buffered
    assert "bar.sync" in mlp_fixed.ptx["mlp_k0"] and "bar.sync" not in mlp_fixed.ptx["mlp_k1"]
    assert "ld.global.v4.b32" in mlp_fixed.ptx["mlp_k0"]  # 128-bit copies of aligned f32 rows
    launches = mlp_fixed.host.launches
    assert [launch.kernel for launch in launches] == names and mlp_fixed.launches == 6
    assert launches[-1].buffers[0] == 7  # the bias kernel writes the output argument in place


@pytest.mark.parametrize("fusion", ["none", "welder"])
def test_static_global_traffic_is_what_the_emulator_counts(fusion):
    """The counters (quartet.counters, from each kernel's plan) against the emulator's count of
    every global load and store executed, per kernel, on the MLP and on ragged operators:
    exactly the same bytes, loaded and stored, for every kernel."""
    from quartet.runtime.emulated import EmulatedDevice

    for source, inputs in (
        (mlp.SOURCE, mlp.random_inputs()),
        (programs.BATCHED_AND_MAX, programs.batched_and_max_inputs(2)[0]),
        (programs.CONV_GATHER_SLICE, programs.conv_gather_slice_inputs(2)[0]),
    ):
        # One launch per kernel: the emulator counts a launch's bytes, a persistent kernel's
        # are its tasks' and its schedule's (test_rammer.py checks those totals).
        model = quartet.compile(source, target="sm_90", fusion=fusion, schedule="none")
        device = EmulatedDevice(checks=False)
        model.emulate(*inputs, device=device)
        counted = {name: [k.loaded, k.stored] for name, k in model.counters.kernels.items()}
        assert counted == device.global_bytes
        assert model.launches == len(model.host.launches)  # counted == what the host launches


@needs_ptxas
@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
def test_mlp_ptx_assembles_without_spills(chip, mlp_sm90):
    model = mlp_sm90 if chip == "sm_90" else quartet.compile(mlp.SOURCE, target=chip)
    assert f".target {chip}" in model.ptx["mlp_rammer"]
    infos = model.ptxas
    assert set(infos) == set(model.ptx)
    for kernel in model.kernels:
        info = infos[kernel.name]
        assert info.spill_stores == info.spill_loads == info.stack_frame == 0, info
        block = ", ".join(str(size) for size in kernel.block)
        assert f"\n.reqntid {block}\n" in model.ptx[kernel.name]  # exact, not a .maxntid bound
        # 64K registers per SM (CUDA C++ Programming Guide, compute capability 8.x/9.0 table):
        # at most 128 per thread keeps two 256-thread blocks resident per SM.
        assert 0 < info.registers <= 128, info
        dynamic = next(
            launch.shared_bytes for launch in model.host.launches if launch.kernel == kernel.name
        )
        assert info.shared_bytes + dynamic == kernel.shared_bytes


@needs_ptxas
def test_a_kernel_of_an_odd_number_of_warps_does_not_spill():
    """ONNX's test_attention_local_window_gqa_rank4_mask (grouped-query attention over a local
    window, boolean mask, softcap, softmax in f64): under .maxntid 96 ptxas held its first
    kernel to 40 registers with 32 bytes of spills, trading them for occupancy; under the exact
    .reqntid 96 it needs 31 registers and spills nothing."""
    from onnx import TensorProto, helper

    from quartet.frontend.onnx import compile_model

    node = helper.make_node(
        "Attention",
        ["Q", "K", "V", "attn_mask"],
        ["Y", "", "", "qk_matmul_output"],
        is_causal=1,
        left_window_size=2,
        softcap=2.0,
        softmax_precision=TensorProto.DOUBLE,
        qk_matmul_output_mode=3,
    )
    shapes = {"Q": [2, 4, 4, 8], "K": [2, 2, 6, 8], "V": [2, 2, 6, 6], "attn_mask": [2, 4, 4, 6]}
    inputs = [
        helper.make_tensor_value_info(
            name, TensorProto.BOOL if name == "attn_mask" else TensorProto.FLOAT, shape
        )
        for name, shape in shapes.items()
    ]
    outputs = [
        helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2, 4, 4, 6]),
        helper.make_tensor_value_info("qk_matmul_output", TensorProto.FLOAT, [2, 4, 4, 6]),
    ]
    graph = helper.make_graph([node], "attention", inputs, outputs)
    onnx_model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 25)])
    model = compile_model(onnx_model, target="sm_90")
    assert any(kernel.block == (96, 1, 1) for kernel in model.compiled.kernels)
    for info in model.compiled.ptxas.values():
        assert info.spill_stores == info.spill_loads == info.stack_frame == 0, info


def test_pipeline_replays_with_quartet_opt(mlp_sm90):
    replay = subprocess.run(
        [
            sys.executable,
            "-m",
            "quartet.tools.opt",
            str(mlp.SOURCE),
            "--pass-pipeline",
            mlp_sm90.pipeline,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    timing = re.compile(r"LLVMIRToISATimeInMs = \d+ : i64, ")
    assert timing.sub("", replay.stdout).strip() == timing.sub("", mlp_sm90.final_ir).strip()


@pytest.mark.parametrize("target", ["cpu", "sm_80"])
@pytest.mark.parametrize(("source", "make_inputs"), programs.tiled_cases(2))
def test_tiled_operators_match_numpy_on_cpu(target, source, make_inputs):
    """Irregular extents, batch loops, max-reductions, convolution windows, gathers through
    linalg.index, strided slices, constants and reshapes: all through the same lowering."""
    inputs, expected = make_inputs()
    results = quartet.compile(source, target=target).run(*inputs)
    results = results if isinstance(results, tuple) else (results,)
    for result, reference in zip(results, expected, strict=True):
        np.testing.assert_allclose(result, reference, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("fusion", ["welder", "none"])
def test_a_failing_runtime_check_fails_the_run_with_its_message(fusion):
    """The gather of CONV_GATHER_SLICE checks its ids (tile.check, code 1): an id past the
    table fails the CPU run and the emulated PTX with the table's message; the next run, in
    range, is right again (its error word starts at zero). The word is no model data: the
    compulsory bytes are the arguments' and nothing more."""
    model = quartet.compile(programs.CONV_GATHER_SLICE, target="sm_90", fusion=fusion)
    inputs, expected = programs.conv_gather_slice_inputs(3)
    assert model.host.error_word == len(inputs) + len(expected)  # after inputs and outputs
    assert model.counters.compulsory_bytes == sum(a.nbytes for a in (*inputs, *expected))
    bad = list(inputs)
    bad[3] = np.array([3, 0, 50, 7, 7, 12], np.int64)
    for execute in (model.run, model.emulate):
        with pytest.raises(
            quartet.QuartetError, match="^error: an id is past the end of the table$"
        ):
            execute(*bad)
        np.testing.assert_allclose(execute(*inputs)[1], expected[1])


@pytest.mark.parametrize(
    ("source", "kwargs", "message"),
    [
        ("func.func @f( {", {}, "<string>:1:"),
        (programs.BATCHED_AND_MAX, {"target": "sm_75"}, "unknown target 'sm_75'"),
        (programs.BATCHED_AND_MAX, {"entry": "nope"}, "no function @nope"),
        (
            "func.func @f(%x: tensor<?xf32>) -> tensor<?xf32> { return %x : tensor<?xf32> }",
            {},
            "argument #0 of @f has type tensor<?xf32>: a static shape is required",
        ),
        ("/no/such/model.mlir", {}, "cannot read /no/such/model.mlir"),
        (
            123,
            {},
            "quartet.compile takes MLIR text, a path to a .mlir file or an mlir.ir.Module, got int",
        ),
        (None, {}, "got NoneType"),
        (
            programs.BATCHED_AND_MAX,
            {"target": None},
            "target must be one of cpu, sm_80, sm_90, got None",
        ),
        (
            programs.BATCHED_AND_MAX,
            {"tiling": 3},
            "tiling must be a pipeline element (a string), got 3",
        ),
        (programs.BATCHED_AND_MAX, {"entry": 5}, "entry must be a function name (a string), got 5"),
    ],
)
def test_bad_input_raises_quartet_error(source, kwargs, message):
    with pytest.raises(quartet.QuartetError, match=re.escape(message)):
        quartet.compile(source, **kwargs)


NEGATE = """func.func @f(%x: tensor<8xf32>) -> tensor<8xf32> {
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>], iterator_types = ["parallel"], tile.program = PROGRAM}
      outs(%x : tensor<8xf32>) {
  ^bb0(%o: f32):
    %m = arith.negf %o : f32
    linalg.yield %m : f32
  } -> tensor<8xf32>
  return %r : tensor<8xf32>
}
"""


@pytest.mark.parametrize(
    ("program", "message"),
    [
        ("42", "'linalg.generic' op 'tile.program' must be a #tile.rprogram attribute"),
        (
            '#tile.rprogram<[#tile.rtile<"smem", array<i64: 3>>, #tile.rtile<"reg", array<i64: 2>>], array<i64>>',
            "'linalg.generic' op reg tile [2] does not divide smem tile [3]",
        ),
    ],
)
def test_ir_failing_the_dialect_verifier_is_a_located_error(tmp_path, program, message):
    """MLIR that parses but fails Quartet's dialect verifier: a located QuartetError from the
    API (from a string and from a file), never a ValueError about a stale diagnostic."""
    path = tmp_path / "bad.mlir"
    path.write_text(NEGATE.replace("PROGRAM", program))
    for source, name in ((path.read_text(), "<string>"), (path, str(path))):
        with pytest.raises(quartet.QuartetError) as caught:
            quartet.compile(source, cache=False)
        assert str(caught.value).splitlines()[0] == f"{name}:2:8: error: {message}"


def test_a_binary_file_given_as_mlir_is_a_clear_error(tmp_path):
    path = tmp_path / "model.mlir"
    path.write_bytes(b"MLIR\xff\xfe\x00 binary")
    with pytest.raises(
        quartet.QuartetError, match=r"model.mlir is not MLIR text \(byte 4 is not UTF-8\)"
    ):
        quartet.compile(path)


def test_run_rejects_wrong_inputs(mlp_sm90):
    inputs = mlp.random_inputs()
    with pytest.raises(quartet.QuartetError, match="expected 7 inputs, got 6"):
        mlp_sm90.run(*inputs[:-1])
    inputs[0] = inputs[0].astype(np.float64)
    with pytest.raises(quartet.QuartetError, match=re.escape("input #0 is (64, 512) float64")):
        mlp_sm90.run(*inputs)


ACCUMULATE = """
#mk = affine_map<(d0, d1, d2) -> (d0, d2)>
#kn = affine_map<(d0, d1, d2) -> (d2, d1)>
#mn = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @acc(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>, %c: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %r = linalg.generic {indexing_maps = [#mk, #kn, #mn], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%c : tensor<64x64xf32>) {
  ^bb0(%x: f32, %y: f32, %s: f32):
    %m = arith.mulf %x, %y : f32
    %t = arith.addf %s, %m : f32
    linalg.yield %t : f32
  } -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}
"""


@pytest.mark.parametrize("target", ["cpu", "sm_90"])
def test_inputs_are_never_written_and_may_be_misaligned_views(target):
    """c + a @ b accumulates into a copy of c, not into the caller's array; a view that is
    neither contiguous nor 16-byte aligned is accepted (copied aligned) for vector loads."""
    model = quartet.compile(ACCUMULATE, target=target)
    rng = np.random.default_rng(5)
    a = rng.standard_normal((64, 65)).astype(np.float32)[:, 1:]  # misaligned, strided view
    b = rng.standard_normal((64, 64)).astype(np.float32)
    c = rng.standard_normal((64, 64)).astype(np.float32)
    before = c.copy()
    expected = c + a @ b
    np.testing.assert_allclose(model.run(a, b, c), expected, rtol=1e-4, atol=1e-4)
    if target != "cpu":
        np.testing.assert_allclose(model.emulate(a, b, c), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(c, before)


@needs_ptxas
@pytest.mark.parametrize("chip", ["sm_80", "sm_90"])
def test_f16_matmul_uses_tensor_cores_without_spills(chip):
    model = quartet.compile(programs.HALF_MATMUL, target=chip, tiling=FIXED)
    (matmul,) = model.kernels  # the fill is the accumulator's initial value
    ptx = model.ptx[matmul.name]
    # 64x64 blocks of 8 warps (2x4), each warp 2x2 accumulator tiles of 16x8, one 16-deep
    # step per 16-deep stage: 4 mma.sync in the stage loop.
    assert ptx.count("mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32") == 4
    info = model.ptxas[matmul.name]
    assert info.spill_stores == info.spill_loads == 0
    assert info.shared_bytes == (64 * (16 + 4) + 16 * (64 + 4)) * 2


def test_an_op_without_a_cpu_lowering_is_a_quartet_error():
    """math.erf has no LLVM lowering for the CPU: a readable error, not a RuntimeError."""
    source = """
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%v: f32, %o: f32):
    %s = math.erf %v : f32
    linalg.yield %s : f32
  } -> tensor<4xf32>
  return %y : tensor<4xf32>
}
"""
    with pytest.raises(quartet.QuartetError, match="no LLVM lowering for 'math.erf'"):
        quartet.compile(source, target="cpu")


def test_a_loop_allocating_in_its_body_frees_each_buffer_once():
    """Buffers hoisted out of an scf.for are freed once (a double free aborted the process)."""
    source = """
#m = affine_map<(d0) -> (d0)>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x) -> (tensor<4xf32>) {
    %e = tensor.empty() : tensor<4xf32>
    %y = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]} ins(%a : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%v: f32, %o: f32):
      %one = arith.constant 1.0 : f32
      %s = arith.addf %v, %one : f32
      linalg.yield %s : f32
    } -> tensor<4xf32>
    %z = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]} ins(%y : tensor<4xf32>) outs(%a : tensor<4xf32>) {
    ^bb0(%v: f32, %o: f32):
      linalg.yield %v : f32
    } -> tensor<4xf32>
    scf.yield %z : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
"""
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(quartet.compile(source, target="cpu").run(x), x + 3)


INDEXED_LOOP = """
#m = affine_map<(d0) -> (d0)>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %r = scf.for %i = %c0 to %c3 step %c1 iter_args(%a = %x) -> (tensor<4xf32>) {
    %y = linalg.generic {indexing_maps = [#m], iterator_types = ["parallel"]} outs(%a : tensor<4xf32>) {
    ^bb0(%o: f32):
      %k = arith.index_cast %i : index to i64
      %f = arith.sitofp %k : i64 to f32
      %s = arith.addf %o, %f : f32
      linalg.yield %s : f32
    } -> tensor<4xf32>
    scf.yield %y : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
"""


def test_a_host_loop_passes_its_index_to_the_kernel_by_value():
    """x + 0 + 1 + 2: the kernel reads the loop index, a scalar parameter of its launch."""
    from quartet.runtime.program import Launch, Loop, walk

    model = quartet.compile(INDEXED_LOOP, target="sm_90", control_flow="host")
    (loop,) = [step for step in model.host.steps if isinstance(step, Loop)]
    (launch,) = [step for step in walk(loop.body) if isinstance(step, Launch)]
    assert [register for _, register in launch.scalars] == [loop.index]
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(model.emulate(x), x + 3)
    np.testing.assert_array_equal(model.run(x), x + 3)
    assert model.launches == 3


def test_the_device_mode_runs_an_mlir_loop_inside_the_persistent_kernel():
    """x + 0 + 1 + 2 with the loop on the grid: one launch, the index on the device."""
    model = quartet.compile(INDEXED_LOOP, target="sm_90")
    assert model.launches == 1
    x = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(model.emulate(x), x + 3)
    np.testing.assert_array_equal(model.run(x), x + 3)
    with pytest.raises(
        quartet.QuartetError, match="control_flow must be one of device, grid, cta, host"
    ):
        quartet.compile(INDEXED_LOOP, target="sm_90", control_flow=1)
    with pytest.raises(quartet.QuartetError, match="unknown control flow 'gpu'"):
        quartet.compile(INDEXED_LOOP, target="sm_90", control_flow="gpu")


def test_a_branch_on_a_float_read_back_is_a_clear_error():
    """The host computes on integers: a predicate compared in f32 on the host is refused,
    naming the read-back."""
    source = """
#m = affine_map<(d0) -> (d0)>
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %v = tensor.extract %x[%c0] : tensor<4xf32>
  %p = arith.cmpf ogt, %v, %zero : f32
  %e = tensor.empty() : tensor<4xf32>
  %r = scf.if %p -> (tensor<4xf32>) {
    %y = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      %n = arith.negf %a : f32
      linalg.yield %n : f32
    } -> tensor<4xf32>
    scf.yield %y : tensor<4xf32>
  } else {
    %y = linalg.generic {indexing_maps = [#m, #m], iterator_types = ["parallel"]} ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
    ^bb0(%a: f32, %o: f32):
      linalg.yield %a : f32
    } -> tensor<4xf32>
    scf.yield %y : tensor<4xf32>
  }
  return %r : tensor<4xf32>
}
"""
    with pytest.raises(quartet.QuartetError, match="reads a f32; the host program computes"):
        quartet.compile(source, target="sm_90", control_flow="host")
