"""Decoded instructions: the small record the scheduler executes, and the opcode dispatch table.

Each PTX instruction is decoded once per launch into an ``Op`` whose ``run`` closure already
holds its register arrays, immediates and semantics, so the hot loop only calls closures on numpy
arrays. ``kind`` tells the scheduler how the op moves program counters:

- ``simple``: data only, every thread of the group advances by one;
- ``branch``: guarded threads jump to ``target``;
- ``exit``: guarded threads finish;
- ``barrier``: CTA-wide rendezvous (``bar.sync``/``barrier.sync``);
- ``warp``: warp-collective rendezvous; ``run`` gets whole participating warps;
- ``call``: ``run`` passes the arguments, threads push the call site and jump to ``target``;
- ``ret``: threads return from a device function to their call site (whose op's ``finish``
  copies the results back) and go on after it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .errors import PTXUnsupportedError
from .parser import Instruction

if TYPE_CHECKING:
    from .machine import Machine
    from .polling import PollLoop

SIMPLE, BRANCH, EXIT, BARRIER, WARP = "simple", "branch", "exit", "barrier", "warp"
CALL, RET = "call", "ret"
# Thread states the scheduler keeps: PARKED is a poller waiting for a write (polling.py).
RUNNING, AT_BARRIER, AT_WARP_OP, EXITED, PARKED = 0, 1, 2, 3, 4


@dataclass
class Op:
    kind: str
    run: Callable[[np.ndarray | None], None] | None = None
    target: int = -1
    # Warp ops: per-thread member mask reader (None: the whole warp must take part).
    member_mask: Callable[[np.ndarray], np.ndarray] | None = None
    # The ``@%p`` guard, filled in by the machine: per-thread bool reader or None.
    guard: Callable[[np.ndarray | None], np.ndarray] | None = None
    # Call ops: copies the callee's return parameters to the call's return operands.
    finish: Callable[[np.ndarray], None] | None = None
    # The back-edge of a poll loop: the loop, whose threads may park there (polling.py).
    poll: PollLoop | None = None


Decoder = Callable[[Instruction, "Machine"], Op]
DECODERS: dict[str, Decoder] = {}


def decoder(*names: str) -> Callable[[Decoder], Decoder]:
    """Register a decoder for the opcodes ``names`` (the part before the first dot)."""

    def register(function: Decoder) -> Decoder:
        for name in names:
            DECODERS[name] = function
        return function

    return register


def decode(instruction: Instruction, machine: Machine) -> Op:
    function = DECODERS.get(instruction.opcode[0])
    if function is None:
        raise PTXUnsupportedError(
            instruction.line, instruction.text, f"instruction '{instruction.opcode[0]}'"
        )
    return function(instruction, machine)


def unsupported(instruction: Instruction, what: str) -> PTXUnsupportedError:
    return PTXUnsupportedError(instruction.line, instruction.text, what)


def expect_operands(instruction: Instruction, *counts: int) -> None:
    if len(instruction.operands) not in counts:
        raise unsupported(instruction, f"{len(instruction.operands)} operands")
