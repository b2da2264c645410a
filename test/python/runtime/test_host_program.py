"""The sequencer's loops, branches, registers and views on hand-built host programs: what runs,
how often, with which scalar parameters, and the errors a bad program meets at run time."""

from __future__ import annotations

import numpy as np
import pytest

from quartet.errors import QuartetError
from quartet.runtime.emulated import EmulatedDevice
from quartet.runtime.program import (
    Assign,
    Buffer,
    Compute,
    Copy,
    HostProgram,
    If,
    Launch,
    Loop,
    Read,
    Scalar,
    While,
    load_program,
    run_host_program,
)
from quartet.runtime.scalars import evaluate
from quartet.signature import TensorSpec

F32, I8 = np.dtype(np.float32), np.dtype(np.int8)


class Recording(EmulatedDevice):
    """The emulator's buffers; a launch records its kernel and parameters (arrays copied)
    instead of running PTX (and "flag" clears byte 0 of its first parameter at the third
    launch, as a kernel computing a loop's exit would)."""

    def __init__(self):
        super().__init__(checks=False)
        self.launched: list[tuple[str, list]] = []

    def launch(self, step: Launch, parameters: list) -> None:
        self.launched.append(
            (step.kernel, [p if isinstance(p, int) else p.array.copy() for p in parameters])
        )
        if step.kernel == "flag" and len(self.launched) == 3:
            parameters[0].array[0] = 0


def _run(host: HostProgram, inputs=None, outputs=None):
    device = Recording()
    storage = load_program(host, {}, device)
    counts = run_host_program(host, device, storage, inputs or {}, outputs or {})
    return device, storage, counts


def _launch(kernel: str, buffers=(), scalars=()) -> Launch:
    return Launch(kernel, (1, 1, 1), (1, 1, 1), tuple(buffers), 0, False, tuple(scalars))


def test_a_loop_passes_its_index_by_value_and_carries_registers():
    """for i in 0..6 step 2: launch k(buffer, i) with i at parameter 1; acc += i."""
    host = HostProgram(
        (Buffer(TensorSpec((4,), F32)),),
        (
            Loop(
                index=0,
                lower=1,
                upper=2,
                step=3,
                body=(
                    _launch("k", [0], [(1, 0)]),
                    Compute("addi", (4, 0), 5),
                    Assign((4,), (5,)),
                ),
            ),
        ),
        scalars=(Scalar(64), Scalar(64, 0), Scalar(64, 6), Scalar(64, 2), Scalar(64), Scalar(64)),
    )
    device, _, counts = _run(host)
    assert [parameters[1] for _, parameters in device.launched] == [0, 2, 4]
    assert counts.launches == {"k": 3}


def test_a_while_loop_reads_its_condition_back_before_every_iteration():
    """The condition byte is read back before each iteration and once more to stop; the
    kernel that clears it runs three times (the third clears it)."""
    spec = TensorSpec((1,), I8)
    host = HostProgram(
        (Buffer(spec, constant=np.ones(1, I8)),),
        (While(before=(Read(0, 0, 1),), condition=1, body=(_launch("flag", [0]),)),),
        scalars=(Scalar(64, 0), Scalar(8)),
    )
    device, _, counts = _run(host)
    assert counts.launches == {"flag": 3}
    assert counts.round_trips == 4


def test_an_if_runs_the_branch_its_predicate_picks_and_copies_its_result():
    spec = TensorSpec((2,), F32)
    for flag, expected in ((1, [1.0, 2.0]), (0, [3.0, 4.0])):
        host = HostProgram(
            (
                Buffer(spec, constant=np.array([1, 2], F32)),
                Buffer(spec, constant=np.array([3, 4], F32)),
                Buffer(spec, argument=0),
            ),
            (If(0, (Copy(0, 2), _launch("then")), (Copy(1, 2), _launch("else"))),),
            scalars=(Scalar(1, flag),),
        )
        result = np.zeros(2, F32)
        device, _, counts = _run(host, outputs={0: result})
        assert [kernel for kernel, _ in device.launched] == ["then" if flag else "else"]
        np.testing.assert_array_equal(result, expected)
        assert counts.copies == 1 and counts.copy_bytes == 16


def test_a_view_at_a_register_offset_is_placed_when_used_and_checked():
    """Rows of a 3 x 2 stacked buffer filled through a view whose offset is 2 * i."""
    stacked, row = TensorSpec((3, 2), F32), TensorSpec((2,), F32)
    host = HostProgram(
        (
            Buffer(stacked, argument=0),
            Buffer(row, constant=np.array([5, 6], F32)),
            Buffer(row, view_of=0, offset=5),
        ),
        (
            Loop(
                index=0,
                lower=1,
                upper=2,
                step=3,
                body=(Compute("muli", (0, 4), 5), Copy(1, 2)),
            ),
        ),
        scalars=(
            Scalar(64),
            Scalar(64, 0),
            Scalar(64, 3),
            Scalar(64, 1),
            Scalar(64, 2),
            Scalar(64),
        ),
    )
    result = np.zeros((3, 2), F32)
    _run(host, outputs={0: result})
    np.testing.assert_array_equal(result, [[5, 6]] * 3)
    past = HostProgram(
        host.buffers, host.steps, scalars=(*host.scalars[:2], Scalar(64, 4), *host.scalars[3:])
    )
    with pytest.raises(QuartetError, match=r"views bytes 24 to 32 of buffer #0 \(3x2xfloat32\)"):
        _run(past, outputs={0: np.zeros((3, 2), F32)})


def test_a_read_past_the_end_of_a_buffer_is_an_error():
    host = HostProgram(
        (Buffer(TensorSpec((2,), I8)),),
        (Read(0, 0, 1),),
        scalars=(Scalar(64, 2), Scalar(8)),
    )
    with pytest.raises(QuartetError, match="reads element 2 of buffer #0 .*past its end"):
        _run(host)


@pytest.mark.parametrize(
    ("op", "operands", "bits", "result_bits", "expected"),
    [
        ("addi", [255, 1], 8, 8, 0),  # wraps at the width
        ("subi", [0, 1], 64, 64, 2**64 - 1),
        ("divsi", [2**64 - 7, 2], 64, 64, 2**64 - 3),  # -7 / 2 = -3, toward zero
        ("remsi", [2**64 - 7, 2], 64, 64, 2**64 - 1),  # -7 % 2 = -1
        ("cmpi.slt", [2**64 - 1, 0], 64, 1, 1),  # -1 < 0 signed
        ("cmpi.ult", [2**64 - 1, 0], 64, 1, 0),
        ("extsi", [0x80], 8, 64, 2**64 - 128),
        ("extui", [0x80], 8, 64, 128),
        ("trunci", [0x1FF], 64, 8, 0xFF),
        ("select", [0, 7, 9], 64, 64, 9),
    ],
)
def test_host_arithmetic_is_mlirs_signless_integers(op, operands, bits, result_bits, expected):
    assert evaluate(op, operands, bits, result_bits) == expected


def test_division_by_zero_on_the_host_is_an_error():
    with pytest.raises(QuartetError, match="divides by zero"):
        evaluate("divui", [1, 0], 64, 64)
