"""Reading ``ptxas -v``'s report."""

from __future__ import annotations

from quartet.ptxas import PtxasInfo, parse_report

# CUDA 13.0's ptxas on a kernel with spills: the stack size comes between barriers and smem.
SPILLING = """\
ptxas info    : 0 bytes gmem
ptxas info    : Compiling entry function 'k0' for 'sm_90'
ptxas info    : Function properties for k0
    16 bytes stack frame, 32 bytes spill stores, 32 bytes spill loads
ptxas info    : Used 40 registers, used 1 barriers, 16 bytes cumulative stack size, 4096 bytes smem
ptxas info    : Compile time = 148.177 ms
ptxas info    : Compiling entry function 'k1' for 'sm_90'
ptxas info    : Function properties for k1
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 38 registers, used 1 barriers, 1056 bytes smem
"""


def test_report_with_a_stack_frame_keeps_the_shared_bytes():
    assert parse_report(SPILLING) == [
        PtxasInfo("k0", 40, 32, 32, 16, 4096, 1),
        PtxasInfo("k1", 38, 0, 0, 0, 1056, 1),
    ]
