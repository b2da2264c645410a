"""The host side of a GPU build: which buffers exist and which kernels run on them, in order.

After outlining, the entry function holds only buffer allocations and ``gpu.launch_func`` ops.
This reads it into a :class:`~quartet.runtime.program.HostProgram`, plain data that any device
executes the same way (the PTX emulator, a GPU through the CUDA driver) and that an artifact
stores.
"""

from __future__ import annotations

import numpy as np
from mlir import ir

from quartet.errors import QuartetError
from quartet.runtime.errors import ErrorTable
from quartet.runtime.program import Buffer, Copy, HostProgram, Launch
from quartet.signature import TensorSpec

_IGNORED = {"arith.constant", "memref.dealloc", "func.return"}
_VIEWS = {"memref.expand_shape", "memref.collapse_shape"}


def extract_host_program(func) -> HostProgram:
    """Read the launch sequence out of an outlined entry function; QuartetError on other ops."""
    block = func.regions[0].blocks[0]
    buffers: list[Buffer] = []
    slot: dict[ir.Value, int] = {}

    def add(value: ir.Value, buffer: Buffer) -> None:
        slot[value] = len(buffers)
        buffers.append(buffer)

    for position, argument in enumerate(block.arguments):
        add(argument, Buffer(TensorSpec.of(argument.type, f"argument #{position}"), position))
    steps: list[Launch | Copy] = []
    for op in block.operations:
        name = op.operation.name
        if name == "memref.alloc":
            add(op.result, Buffer(TensorSpec.of(op.result.type, "a temporary")))
        elif name == "memref.get_global":
            data = _global_data(func.parent, ir.FlatSymbolRefAttr(op.attributes["name"]).value)
            add(op.result, Buffer(TensorSpec.of(op.result.type, "a constant"), constant=data))
        elif name in _VIEWS:
            spec = TensorSpec.of(op.result.type, "a reshaped buffer")
            add(op.result, Buffer(spec, view_of=slot[op.operands[0]]))
        elif name == "gpu.launch_func":
            steps.append(_launch(op, slot))
        elif name == "memref.copy":
            steps.append(Copy(slot[op.operands[0]], slot[op.operands[1]]))
        elif name not in _IGNORED:
            raise QuartetError(
                f"error: '{name}' is left on the host after GPU lowering at {op.location}; "
                "only buffer allocation, copies and kernel launches can run there"
            )
    return HostProgram(tuple(buffers), tuple(steps), ErrorTable.of(func))


def _launch(op, slot: dict[ir.Value, int]) -> Launch:
    kernel = ir.SymbolRefAttr(op.attributes["kernel"]).value[-1]
    grid = (_constant(op.gridSizeX), _constant(op.gridSizeY), _constant(op.gridSizeZ))
    block = (_constant(op.blockSizeX), _constant(op.blockSizeY), _constant(op.blockSizeZ))
    dynamic = op.dynamicSharedMemorySize
    shared_bytes = 0 if dynamic is None else _constant(dynamic)
    buffers = tuple(slot[v] for v in op.kernelOperands)
    return Launch(kernel, grid, block, buffers, shared_bytes)


def _global_data(module: ir.Operation, symbol: str) -> np.ndarray:
    """The initial value of the constant ``memref.global @symbol`` as an array."""
    for op in module.regions[0].blocks[0].operations:
        if op.operation.name == "memref.global" and op.sym_name.value == symbol:
            value = ir.DenseElementsAttr(op.initial_value)
            spec = TensorSpec.of(op.type_.value, f"global @{symbol}")
            if value.is_splat:
                return np.full(spec.shape, value.get_splat_value().value, spec.dtype)
            return np.array(value).astype(spec.dtype).reshape(spec.shape)
    raise QuartetError(f"error: no memref.global @{symbol} holds the constant's data")


def _constant(value: ir.Value) -> int:
    return ir.IntegerAttr(value.owner.attributes["value"]).value
