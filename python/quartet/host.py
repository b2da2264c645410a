"""The host side of a GPU build: which buffers exist and which kernels run on them, in order.

After outlining, the entry function holds only buffer allocations and ``gpu.launch_func`` ops.
This reads it into a plain program that any device executes the same way: the PTX emulator
today, a CUDA driver runtime where a GPU exists.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlir import ir

from quartet.errors import QuartetError
from quartet.signature import TensorSpec

_IGNORED = {"arith.constant", "memref.dealloc", "func.return"}


@dataclass(frozen=True)
class Buffer:
    """A device buffer: an entry argument (inputs, then outputs) or a temporary."""

    spec: TensorSpec
    argument: int | None  # position among the entry's arguments, None for a temporary


@dataclass(frozen=True)
class Launch:
    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    buffers: tuple[int, ...]  # indices into HostProgram.buffers, in kernel-parameter order


@dataclass(frozen=True)
class HostProgram:
    buffers: tuple[Buffer, ...]
    launches: tuple[Launch, ...]


def extract_host_program(func) -> HostProgram:
    """Read the launch sequence out of an outlined entry function; QuartetError on other ops."""
    block = func.regions[0].blocks[0]
    buffers: list[Buffer] = []
    slot: dict[ir.Value, int] = {}
    for position, argument in enumerate(block.arguments):
        slot[argument] = len(buffers)
        buffers.append(Buffer(TensorSpec.of(argument.type, f"argument #{position}"), position))
    launches = []
    for op in block.operations:
        name = op.operation.name
        if name == "memref.alloc":
            slot[op.result] = len(buffers)
            buffers.append(Buffer(TensorSpec.of(op.result.type, "a temporary"), None))
        elif name == "gpu.launch_func":
            launches.append(_launch(op, slot))
        elif name not in _IGNORED:
            raise QuartetError(
                f"error: '{name}' is left on the host after GPU lowering at {op.location}; "
                "only buffer allocation and kernel launches can run there"
            )
    return HostProgram(tuple(buffers), tuple(launches))


def _launch(op, slot: dict[ir.Value, int]) -> Launch:
    kernel = ir.SymbolRefAttr(op.attributes["kernel"]).value[-1]
    grid = (_constant(op.gridSizeX), _constant(op.gridSizeY), _constant(op.gridSizeZ))
    block = (_constant(op.blockSizeX), _constant(op.blockSizeY), _constant(op.blockSizeZ))
    return Launch(kernel, grid, block, tuple(slot[v] for v in op.kernelOperands))


def _constant(value: ir.Value) -> int:
    return ir.IntegerAttr(value.owner.attributes["value"]).value
