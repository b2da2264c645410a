"""The hand-written PTX of these tests is real PTX: ptxas accepts every kernel, so the emulator is
never tested on input the hardware toolchain would reject."""

import pytest
import test_emulator_calls as test_calls
import test_emulator_checkers as test_checkers
import test_emulator_control as test_control
import test_emulator_memory as test_memory
import test_emulator_parser as test_parser
import test_emulator_sync as test_sync
import test_emulator_warp as test_warp
from emulator_harness import PTX_DIR, elementwise_ptx

CHAIN = (PTX_DIR / "chain.ptx").read_text()
KERNELS = {
    "reverse.ptx": (PTX_DIR / "reverse.ptx").read_text(),
    "chain.ptx": CHAIN,
    **{
        f"chain_{name}": CHAIN.replace(test_sync.SIGNAL, signal)
        for name, signal in test_sync.RELEASES.items()
    },
    "chain_relaxed_poll": CHAIN.replace(
        test_sync.POLL, test_sync.POLL.replace("acquire", "relaxed")
    ),
    "counted_spin": test_sync.COUNTED_SPIN,
    "grid_sync.ptx": (PTX_DIR / "grid_sync.ptx").read_text(),
    "elementwise": elementwise_ptx("fma.rn.f32 %d, %a, %b, %c;", [4, 4, 4], 4),
    "shfl": test_warp.shfl_kernel("idx", "3", "0x181f"),
    "ldmatrix": test_warp.LDMATRIX.replace(".TRANS", ".trans"),
    "mma": test_warp.MMA.replace("TYPE", "bf16"),
    "mma_k8": test_warp.MMA_K8_F16,
    "atomics": test_memory.ATOMICS,
    "spaces": test_memory.SHARED_AND_LOCAL,
    "divergent_loop": test_control.DIVERGENT_LOOP,
    "grid_barrier": test_control.GRID_BARRIER,
    "handoff": test_control.PRODUCER_AFTER_CONSUMER,
    "tile_reuse": test_checkers.TILE_REUSE,
    "blocks_apart": test_checkers.BLOCKS_APART,
    "counter": test_checkers.COUNTER,
    "widened_row": test_checkers.WIDENED_ROW.replace("LANE3", "_").replace("SUMMAND", "%r8"),
    "widened_row_used": test_checkers.WIDENED_ROW.replace("LANE3", "%r6").replace("SUMMAND", "%r6"),
    "device_call": test_parser.DEVICE_CALL,
    "directed_rounding": elementwise_ptx(
        "fma.rm.f32 %d, %a, %b, %c; add.rz.f32 %d, %d, %a; mul.rp.f32 %d, %d, %b;"
        " sub.rm.f32 %d, %d, %c;",
        [4, 4, 4],
        4,
    ),
    "narrowing_cvt": elementwise_ptx("cvt.rm.f32.f64 %t0, %a; mov.b32 %d, %t0;", [8], 4),
    "carry_chain": elementwise_ptx(
        "mov.b64 {%t0, %t1}, %a; mov.b64 {%t2, %t3}, %b; add.cc.u32 %t4, %t0, %t2;"
        " addc.cc.u32 %t5, %t1, %t3; madc.hi.cc.u32 %t6, %t0, %t2, %t4;"
        " subc.u32 %t7, %t5, %t6; mad.lo.cc.u64 %w0, %a, %b, %a; madc.lo.u64 %w1, %a, %b, %b;"
        " sub.cc.u64 %d, %w0, %w1; subc.cc.u64 %w2, %a, 0; mad.hi.cc.u64 %w3, %a, %a, %b;",
        [8, 8],
        8,
    ),
    "calls": test_calls.CALLS,
    "reg_params": test_calls.REG_PARAMS,
    "call_collective": test_calls.COLLECTIVE,
}


@pytest.mark.parametrize("name", sorted(KERNELS))
def test_hand_written_kernel_assembles(ptxas, name):
    ptxas(KERNELS[name])


def test_parser_module_assembles_for_sm_90a(tmp_path):
    import shutil
    import subprocess

    if shutil.which("ptxas") is None:
        pytest.skip("ptxas not on PATH")
    source = tmp_path / "module.ptx"
    source.write_text(test_parser.MODULE)
    result = subprocess.run(
        ["ptxas", "-arch=sm_90a", str(source), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
