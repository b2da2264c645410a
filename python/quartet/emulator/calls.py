"""Device-function calls: linking ``.func`` bodies into the kernel's program, ``call``, ``ret``.

``link`` appends the body of every function the kernel can reach after the kernel's own
instructions, renaming the function's registers, labels and ``.param`` names to
``function::name`` so each function keeps its own namespace. ``.param`` variables of a call
(the caller's ``param0``/``retval0`` and the callee's formal and return parameters) live in
per-thread byte arrays (``Machine.param_storage``); ``.reg`` parameters are registers; a
function's ``.local`` (and ``.shared``) variables get a static place of their own in the
thread's (block's) space.

``call`` copies each argument into the callee's formal parameter, pushes the call site on the
thread's return stack and jumps to the callee; ``ret`` in a function pops the call site, copies
the callee's return parameters into the call's return operands and resumes after the call.
Threads of a warp calling together run the callee together. Frames are not duplicated, so a
recursive call (rare: LLVM emits none for Quartet's kernels) would share its callee's
parameters and registers; the stack depth is bounded (``MAX_CALL_DEPTH``).

A function may take the address of a formal parameter (``mov.b64 %rd, f_param_2``) and load
through it (``ld.param [%rd]``): LLVM does so where it selects between two parameters. Each
``.param`` variable therefore has an address in a window of its own (:func:`param_addresses`),
every thread seeing its own bytes there, as each thread has its own frame on a GPU.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from .ops import CALL, Op, decoder, unsupported
from .parser import (
    Addr,
    Imm,
    Instruction,
    Kernel,
    Module,
    Param,
    PredPair,
    Reg,
    Sym,
    Variable,
    Vec,
)
from .ptxtypes import PTXType

PARAM_WINDOW = 0x7D00_0000_0000
"""Where ``.param`` variables' addresses start: apart from the global heap and the shared and
local windows (memory.py), so a stray pointer into it is no other space's address."""
PARAM_ALIGN = 16

MAX_CALL_DEPTH = 64


@dataclass
class Function:
    """A linked ``.func``: where its body starts and its renamed parameters."""

    name: str
    entry: int
    params: list[Param]
    returns: list[Param]


@dataclass
class Program:
    """The kernel with every reachable device function appended, in one namespace."""

    instructions: list[Instruction | None] = field(default_factory=list)  # None: end of a body
    lines: list[tuple[int, str]] = field(default_factory=list)  # per pc, for reports
    labels: dict[str, int] = field(default_factory=dict)
    registers: dict[str, PTXType] = field(default_factory=dict)
    param_variables: dict[str, int] = field(default_factory=dict)  # per-thread .param bytes
    variables: list[Variable] = field(default_factory=list)  # functions' .local/.shared, renamed
    functions: dict[str, Function] = field(default_factory=dict)
    function_at: list[str | None] = field(default_factory=list)  # per pc: enclosing function


def _called(instructions: list[Instruction]) -> list[str]:
    return [
        operand.name
        for instruction in instructions
        if instruction.opcode[0] == "call"
        for operand in instruction.operands
        if isinstance(operand, Sym)
    ]


def link(module: Module, kernel: Kernel) -> Program:
    program = Program()
    program.instructions = [*kernel.instructions, None]  # falling off the end exits
    program.lines = [(i.line, i.text) for i in kernel.instructions]
    program.lines.append((kernel.line, f"end of {kernel.name}"))
    program.labels = dict(kernel.labels)
    program.registers = dict(kernel.registers)
    program.function_at = [None] * len(program.instructions)
    for variable in kernel.variables:
        if variable.space == "param":
            program.param_variables[variable.name] = variable.size or 0
    pending = _called(kernel.instructions)
    while pending:
        name = pending.pop(0)
        if name in program.functions:
            continue
        function = module.kernels.get(name)
        if function is None or function.is_entry:
            continue  # reported when the call is decoded
        pending += _called(function.instructions)
        _append(program, function)
    return program


def _append(program: Program, function: Kernel) -> None:
    prefix = f"{function.name}::"
    names = {name: prefix + name for name in function.registers}
    for variable in function.variables:
        names[variable.name] = prefix + variable.name
        if variable.space == "param":
            program.param_variables[prefix + variable.name] = variable.size or 0
        else:  # one static frame per function: its .local depot sits beside the kernel's
            program.variables.append(replace(variable, name=prefix + variable.name))
    for param in function.params + function.returns:
        names[param.name] = prefix + param.name
        if param.space == "reg":
            program.registers[prefix + param.name] = param.ptx_type
        else:
            program.param_variables[prefix + param.name] = param.size
    labels = {label: prefix + label for label in function.labels}
    entry = len(program.instructions)
    for label, pc in function.labels.items():
        program.labels[prefix + label] = entry + pc
    for name, ptx_type in function.registers.items():
        program.registers[prefix + name] = ptx_type
    rename = {**names, **labels}
    for instruction in function.instructions:
        program.instructions.append(_rename(instruction, rename))
        program.lines.append((instruction.line, instruction.text))
    program.instructions.append(None)  # falling off the end returns
    program.lines.append((function.line, f"end of {function.name}"))
    program.function_at += [function.name] * (len(function.instructions) + 1)
    program.functions[function.name] = Function(
        function.name,
        entry,
        [replace(p, name=prefix + p.name) for p in function.params],
        [replace(p, name=prefix + p.name) for p in function.returns],
    )


def _rename(instruction: Instruction, names: dict[str, str]) -> Instruction:
    def operand(value):
        if isinstance(value, Reg):
            return Reg(names.get(value.name, value.name), value.negated)
        if isinstance(value, Sym):
            return Sym(names.get(value.name, value.name))
        if isinstance(value, Addr):
            return Addr(operand(value.base), value.offset) if value.base is not None else value
        if isinstance(value, Vec):
            return Vec(tuple(operand(item) for item in value.items))
        if isinstance(value, PredPair):
            return PredPair(operand(value.first), operand(value.second))
        return value

    guard = operand(instruction.guard) if instruction.guard is not None else None
    return replace(
        instruction, guard=guard, operands=tuple(operand(o) for o in instruction.operands)
    )


# ---------------------------------------------------------------------------------------------
# Moving values between call operands and parameters


def _source(instruction: Instruction, machine, item, param: Param):
    """A reader of ``item`` (a caller operand) as raw bytes per thread for ``param``."""
    storage = machine.param_storage.get(item.name) if isinstance(item, Reg) else None
    if storage is not None:
        size = min(param.size, storage.shape[1])
        return lambda idx: np.ascontiguousarray(storage[machine.threads(idx), :size])
    if not isinstance(item, Reg | Imm):
        raise unsupported(instruction, f"call operand {item!r}")
    read = machine.operands.read(instruction, item, param.ptx_type)
    dtype = param.ptx_type.dtype

    def as_bytes(idx):
        values = np.asarray(read(idx), dtype)
        count = len(machine.threads(idx))
        values = np.ascontiguousarray(np.broadcast_to(values, (count,)))
        return values.view(np.uint8).reshape(count, -1)

    return as_bytes


def _sink(instruction: Instruction, machine, item, param: Param):
    """A writer of raw bytes per thread into ``item`` (a caller operand or callee parameter)."""
    name = item.name if isinstance(item, Reg) else None
    storage = machine.param_storage.get(name)
    if storage is not None:

        def store(idx, data):
            size = min(data.shape[1], storage.shape[1])
            storage[machine.threads(idx), :size] = data[:, :size]

        return store
    if not isinstance(item, Reg):
        raise unsupported(instruction, f"call operand {item!r}")
    write = machine.operands.write(instruction, item, param.ptx_type)
    dtype = param.ptx_type.dtype
    nbytes = param.ptx_type.nbytes

    def store_register(idx, data):
        padded = np.zeros((data.shape[0], nbytes), np.uint8)
        size = min(nbytes, data.shape[1])
        padded[:, :size] = data[:, :size]
        write(idx, padded.view(dtype)[:, 0])

    return store_register


@decoder("call")
def _call(instruction: Instruction, machine) -> Op:
    operands = list(instruction.operands)
    returns = operands.pop(0).items if operands and isinstance(operands[0], Vec) else ()
    if not operands or not isinstance(operands[0], Sym):
        raise unsupported(instruction, "indirect call")
    name = operands.pop(0).name
    args = operands.pop(0).items if operands and isinstance(operands[0], Vec) else ()
    if operands:
        raise unsupported(instruction, "call through a prototype")
    function = machine.program.functions.get(name)
    if function is None:
        raise unsupported(instruction, f"call of '{name}' (no body in this module)")
    if len(args) != len(function.params) or len(returns) != len(function.returns):
        raise unsupported(instruction, f"call of '{name}' with a different parameter count")
    formal = Reg  # formal parameters are addressed by name like registers
    copy_in = [
        (
            _source(instruction, machine, arg, param),
            _sink(instruction, machine, formal(param.name), param),
        )
        for arg, param in zip(args, function.params, strict=True)
    ]
    copy_out = [
        (
            _source(instruction, machine, formal(param.name), param),
            _sink(instruction, machine, item, param),
        )
        for item, param in zip(returns, function.returns, strict=True)
    ]

    def run(idx):
        for read, write in copy_in:
            write(idx, read(idx))

    def finish(idx):
        for read, write in copy_out:
            write(idx, read(idx))

    return Op(CALL, run, target=function.entry, finish=finish)


def param_addresses(sizes: dict[str, int]) -> dict[str, int]:
    """The address of each ``.param`` variable (name -> size in bytes), in PARAM_WINDOW."""
    addresses, start = {}, PARAM_WINDOW
    for name, size in sizes.items():
        addresses[name] = start
        start += -(-max(size, 1) // PARAM_ALIGN) * PARAM_ALIGN
    return addresses
