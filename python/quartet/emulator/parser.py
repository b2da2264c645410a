"""PTX front end: text to a module of kernels with pre-split instructions.

Covers the subset LLVM's NVPTX backend emits: module directives (``.version``, ``.target``,
``.address_size``), ``.global`` variables, ``.entry`` kernels with ``.param``s (scalars and
``.align N .b8 name[size]`` blobs), performance directives (``.maxntid``, ``.reqntid``, ...),
``.reg`` declarations including ``%r<N>`` ranges, ``.shared``/``.local`` arrays (static and
``.extern`` dynamic shared), labels, ``@%p``/``@!%p`` guards, ``{ }`` scopes, ``.pragma`` and
debug directives. Instruction semantics are not looked at here: each instruction keeps its
opcode split at the dots and its operands as small typed records, plus its line for errors.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

import numpy as np

from .errors import PTXSyntaxError
from .ptxtypes import TYPES, PTXType

# ---------------------------------------------------------------------------------------------
# Operands


@dataclass(frozen=True)
class Reg:
    """A register (``%r1``) or special register (``%tid.x``); ``negated`` for ``!%p``."""

    name: str
    negated: bool = False


@dataclass(frozen=True)
class Imm:
    """An integer or floating-point literal, kept as text until its type is known."""

    text: str


@dataclass(frozen=True)
class Sym:
    """A label or a variable name (its address when used as a value)."""

    name: str


@dataclass(frozen=True)
class Addr:
    """A memory operand ``[base+offset]``; base is a register, a symbol or ``None`` (absolute)."""

    base: Reg | Sym | None
    offset: int


@dataclass(frozen=True)
class Vec:
    """A brace list ``{%r1, %r2}`` (vector or packed register); ``None`` is a ``_`` sink."""

    items: tuple[Reg | Imm | None, ...]


@dataclass(frozen=True)
class PredPair:
    """The ``%p|%q`` destination of ``setp``: q receives the complement."""

    first: Reg
    second: Reg


Operand = Reg | Imm | Sym | Addr | Vec | PredPair | None


@dataclass(frozen=True)
class Instruction:
    """One PTX instruction: ``opcode`` split at the dots, e.g. ``["ld", "global", "v4", "b32"]``."""

    line: int
    text: str
    guard: Reg | None
    opcode: tuple[str, ...]
    operands: tuple[Operand, ...]


def names_in(instruction: Instruction) -> list[str]:
    """Every register and symbol name ``instruction`` mentions: its guard and operands, address
    bases, vector items and predicate pairs included."""
    found: list[str] = []

    def visit(value) -> None:
        if isinstance(value, Reg | Sym):
            found.append(value.name)
        elif isinstance(value, Addr):
            visit(value.base)
        elif isinstance(value, Vec):
            for item in value.items:
                visit(item)
        elif isinstance(value, PredPair):
            visit(value.first)
            visit(value.second)

    visit(instruction.guard)
    for operand in instruction.operands:
        visit(operand)
    return found


@dataclass(frozen=True)
class Variable:
    """A ``.shared``/``.local``/``.global`` variable; ``size`` None for ``.extern`` shared."""

    name: str
    space: str
    align: int
    size: int | None
    init: bytes | None = None


@dataclass(frozen=True)
class Param:
    name: str
    ptx_type: PTXType
    size: int
    align: int
    space: str = "param"  # "reg" for a device function's ``.reg`` parameter


@dataclass
class Kernel:
    name: str
    line: int
    params: list[Param] = field(default_factory=list)
    registers: dict[str, PTXType] = field(default_factory=dict)
    variables: list[Variable] = field(default_factory=list)
    instructions: list[Instruction] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    directives: dict[str, tuple[int, ...]] = field(default_factory=dict)
    is_entry: bool = True
    returns: list[Param] = field(default_factory=list)  # a ``.func``'s return parameters


@dataclass
class Module:
    version: str = ""
    target: str = ""
    address_size: int = 64
    kernels: dict[str, Kernel] = field(default_factory=dict)
    globals: list[Variable] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# Tokens

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<lcomment>//[^\n]*)
  | (?P<bcomment>/\*.*?\*/)
  | (?P<string>"[^"\n]*")
  | (?P<num>0[fF][0-9a-fA-F]{8}|0[dD][0-9a-fA-F]{16}|0[xX][0-9a-fA-F]+U?
       |\d+\.\d*(?:[eE][+-]?\d+)?|\d+U?)
  | (?P<word>[.%$_a-zA-Z][\w$]*(?:\.[\w$]+)*)
  | (?P<punct>[,;:{}\[\]()+\-!@<>=|])
    """,
    re.VERBOSE | re.DOTALL,
)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    line: int


def tokenize(text: str) -> list[Token]:
    """Split PTX text into tokens, dropping whitespace and comments, keeping line numbers."""
    tokens = []
    line, pos = 1, 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise PTXSyntaxError(line, f"unexpected character {text[pos]!r}")
        kind, value = match.lastgroup, match.group()
        if kind in ("word", "num", "punct", "string"):
            tokens.append(Token(kind, value, line))
        line += value.count("\n")
        pos = match.end()
    return tokens


# ---------------------------------------------------------------------------------------------
# Parser

_IGNORED_MODULE_DIRECTIVES = {".file", ".loc", ".section", ".pragma"}
_PERF_DIRECTIVES = {
    ".maxntid",
    ".reqntid",
    ".minnctapersm",
    ".maxnctapersm",
    ".maxnreg",
    ".maxclusterrank",
    ".reqnctapercluster",
    ".explicitcluster",
    ".noreturn",
}
_LINKAGE = {".visible", ".extern", ".weak", ".common"}


class _Parser:
    def __init__(self, text: str):
        self.lines = text.split("\n")
        self.tokens = tokenize(text)
        self.pos = 0

    # -- token helpers ------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token | None:
        index = self.pos + ahead
        return self.tokens[index] if index < len(self.tokens) else None

    def line(self) -> int:
        token = self.peek()
        return token.line if token else (self.tokens[-1].line if self.tokens else 1)

    def next(self) -> Token:
        token = self.peek()
        if token is None:
            raise PTXSyntaxError(self.line(), "unexpected end of input")
        self.pos += 1
        return token

    def accept(self, text: str) -> bool:
        token = self.peek()
        if token is not None and token.text == text:
            self.pos += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        token = self.next()
        if token.text != text:
            raise PTXSyntaxError(token.line, f"expected '{text}', found '{token.text}'")
        return token

    def expect_int(self) -> int:
        token = self.next()
        if token.kind != "num":
            raise PTXSyntaxError(token.line, f"expected an integer, found '{token.text}'")
        return parse_int(token.text, token.line)

    def skip_statement(self) -> None:
        while self.next().text != ";":
            pass

    # -- module level -------------------------------------------------------------------------
    def module(self) -> Module:
        module = Module()
        while self.peek() is not None:
            token = self.peek()
            text = token.text
            if text == ".version":
                self.next()
                module.version = self.next().text
            elif text == ".target":
                self.next()
                module.target = self.next().text
                while self.accept(","):
                    self.next()
            elif text == ".address_size":
                self.next()
                module.address_size = self.expect_int()
            elif text in _IGNORED_MODULE_DIRECTIVES:
                self.skip_line_directive()
            elif text in _LINKAGE or text in (".entry", ".func", ".global", ".const", ".shared"):
                self.module_declaration(module)
            else:
                raise PTXSyntaxError(token.line, f"unexpected '{text}' at module scope")
        return module

    def skip_line_directive(self) -> None:
        """Skip a directive that ends at ';' or at the end of its line (``.loc`` has no ';')."""
        start = self.next().line
        while self.peek() is not None and self.peek().line == start:
            if self.next().text == ";":
                return

    def module_declaration(self, module: Module) -> None:
        linkage = set()
        while self.peek() is not None and self.peek().text in _LINKAGE:
            linkage.add(self.next().text)
        token = self.peek()
        if token is None:
            raise PTXSyntaxError(self.line(), "unexpected end of input")
        if token.text in (".entry", ".func"):
            kernel = self.function(is_entry=token.text == ".entry")
            if kernel is not None:
                module.kernels[kernel.name] = kernel
            return
        variable = self.variable(".extern" in linkage)
        module.globals.append(variable)

    def variable(self, extern: bool) -> Variable:
        """``.shared|.local|.global|.const [.align N] .type name[size] [= {...}];``"""
        space = self.next().text[1:]
        align = 0
        if self.accept(".align"):
            align = self.expect_int()
        type_token = self.next()
        ptx_type = _type_of(type_token)
        name = self.next().text
        count = 1
        unsized = False
        while self.accept("["):
            if self.accept("]"):
                unsized = True
                continue
            count *= self.expect_int()
            self.expect("]")
        init = None
        if self.accept("="):
            init = self.initializer(ptx_type)
        self.expect(";")
        size = None if (unsized or extern) and init is None else count * ptx_type.nbytes
        return Variable(name, space, align or ptx_type.nbytes, size, init)

    def initializer(self, ptx_type: PTXType) -> bytes:
        values = []
        braced = self.accept("{")
        while True:
            negative = self.accept("-")
            token = self.next()
            if token.kind != "num":
                raise PTXSyntaxError(token.line, f"unsupported initializer '{token.text}'")
            values.append(
                literal_value(("-" if negative else "") + token.text, ptx_type, token.line)
            )
            if not braced or not self.accept(","):
                break
        if braced:
            self.expect("}")
        return np.array(values, dtype=ptx_type.dtype).tobytes()

    # -- functions ------------------------------------------------------------------------------
    def function(self, is_entry: bool) -> Kernel | None:
        self.next()  # .entry / .func
        returns = []
        if self.accept("(") and not self.accept(")"):  # .func (.param ...) name(...)
            returns.append(self.param())
            while self.accept(","):
                returns.append(self.param())
            self.expect(")")
        name_token = self.next()
        kernel = Kernel(name_token.text, name_token.line, is_entry=is_entry, returns=returns)
        if self.accept("(") and not self.accept(")"):
            kernel.params.append(self.param())
            while self.accept(","):
                kernel.params.append(self.param())
            self.expect(")")
        while self.peek() is not None and self.peek().text in _PERF_DIRECTIVES:
            directive = self.next().text
            values = []
            while self.peek() is not None and self.peek().kind == "num":
                values.append(self.expect_int())
                if not self.accept(","):
                    break
            kernel.directives[directive[1:]] = tuple(values)
        if self.accept(";"):  # a prototype / declaration only
            return None
        self.expect("{")
        self.body(kernel)
        return kernel

    def param(self) -> Param:
        space = "reg" if self.accept(".reg") else self.expect(".param").text[1:]
        align = 0
        type_token = self.next()
        if type_token.text == ".align":
            align = self.expect_int()
            type_token = self.next()
        ptx_type = _type_of(type_token)
        while self.peek() is not None and self.peek().text in (
            ".ptr",
            ".global",
            ".shared",
            ".const",
            ".local",
        ):
            self.next()
        if self.accept(".align"):
            self.expect_int()
        name = self.next().text
        size = ptx_type.nbytes
        if self.accept("["):
            size *= self.expect_int()
            self.expect("]")
        return Param(name, ptx_type, size, align or ptx_type.nbytes, space)

    def body(self, kernel: Kernel) -> None:
        depth = 1
        while True:
            token = self.peek()
            if token is None:
                raise PTXSyntaxError(kernel.line, f"unterminated body of '{kernel.name}'")
            text = token.text
            if text == "{":
                self.next()
                depth += 1
            elif text == "}":
                self.next()
                depth -= 1
                if depth == 0:
                    return
            elif text == ".reg":
                self.registers(kernel)
            elif text in (".shared", ".local", ".global", ".const", ".param"):
                kernel.variables.append(self.variable(extern=False))
            elif text == ".extern":
                self.next()
                kernel.variables.append(self.variable(extern=True))
            elif text in (".pragma", ".loc", ".file") or text in _PERF_DIRECTIVES:
                self.skip_line_directive()
            elif token.kind == "word" and self.peek(1) is not None and self.peek(1).text == ":":
                self.pos += 2
                if self.peek() is not None and self.peek().text == ".callprototype":
                    self.skip_statement()  # the signature of an indirect call
                    continue
                kernel.labels[text] = len(kernel.instructions)
            else:
                kernel.instructions.append(self.instruction())

    def registers(self, kernel: Kernel) -> None:
        self.expect(".reg")
        ptx_type = _type_of(self.next())
        while True:
            name = self.next().text
            if self.accept("<"):
                for index in range(self.expect_int()):
                    kernel.registers[f"{name}{index}"] = ptx_type
                self.expect(">")
            else:
                kernel.registers[name] = ptx_type
            if not self.accept(","):
                break
        self.expect(";")

    # -- instructions ---------------------------------------------------------------------------
    def instruction(self) -> Instruction:
        line = self.line()
        guard = None
        if self.accept("@"):
            negated = self.accept("!")
            guard = Reg(self.next().text, negated)
        opcode_token = self.next()
        if opcode_token.kind != "word" or opcode_token.text.startswith((".", "%")):
            raise PTXSyntaxError(
                opcode_token.line, f"expected an instruction, found '{opcode_token.text}'"
            )
        operands = []
        if not self.accept(";"):
            operands.append(self.operand())
            while self.accept(","):
                operands.append(self.operand())
            self.expect(";")
        text = " ".join(self.lines[line - 1].split()) if line <= len(self.lines) else ""
        return Instruction(line, text, guard, tuple(opcode_token.text.split(".")), tuple(operands))

    def operand(self) -> Operand:
        token = self.next()
        text = token.text
        if text == "[":
            return self.address(token.line)
        if text in ("{", "("):  # vector operand, or the argument list of a call
            closing = "}" if text == "{" else ")"
            if self.accept(closing):
                return Vec(())
            items = [self.vector_item()]
            while self.accept(","):
                items.append(self.vector_item())
            self.expect(closing)
            return Vec(tuple(items))
        if text == "-":
            number = self.next()
            if number.kind != "num":
                raise PTXSyntaxError(
                    number.line, f"expected a number after '-', found '{number.text}'"
                )
            return Imm("-" + number.text)
        if text == "!":
            return Reg(self.next().text, negated=True)
        if token.kind == "num":
            return Imm(text)
        if text == "_":
            return None
        if token.kind != "word":
            raise PTXSyntaxError(token.line, f"unexpected '{text}' in operand list")
        if text.startswith("%"):
            if self.accept("|"):
                return PredPair(Reg(text), Reg(self.next().text))
            return Reg(text)
        return Sym(text)

    def vector_item(self) -> Reg | Imm | None:
        token = self.next()
        if token.text == "_":
            return None
        if token.kind == "num":
            return Imm(token.text)
        if token.text == "-":
            return Imm("-" + self.next().text)
        return Reg(token.text)

    def address(self, line: int) -> Addr:
        base: Reg | Sym | None = None
        offset = 0
        token = self.next()
        if token.kind == "word":
            base = Reg(token.text) if token.text.startswith("%") else Sym(token.text)
            if self.accept("+"):
                negative = self.accept("-")
                offset = self.expect_int() * (-1 if negative else 1)
            elif self.accept("-"):
                offset = -self.expect_int()
        elif token.kind == "num":
            offset = parse_int(token.text, line)
        else:
            raise PTXSyntaxError(line, f"bad address operand starting with '{token.text}'")
        self.expect("]")
        return Addr(base, offset)


def _type_of(token: Token) -> PTXType:
    ptx_type = TYPES.get(token.text.lstrip("."))
    if ptx_type is None or not token.text.startswith("."):
        raise PTXSyntaxError(token.line, f"expected a type, found '{token.text}'")
    return ptx_type


def parse_int(text: str, line: int) -> int:
    """An integer literal: decimal, hex (``0x``), with an optional ``U`` suffix and sign."""
    body = text.rstrip("U")
    try:
        return int(body, 16) if body.lower().lstrip("-").startswith("0x") else int(body, 10)
    except ValueError:
        raise PTXSyntaxError(line, f"bad integer literal '{text}'") from None


def literal_value(text: str, ptx_type: PTXType, line: int) -> int | float:
    """The Python value of a literal for an operand of ``ptx_type``.

    ``0fXXXXXXXX``/``0dXXXXXXXXXXXXXXXX`` are IEEE bit patterns; integer literals used as floats
    are converted by value, as in PTX. For integer types the result wraps to the type's width.
    """
    negative = text.startswith("-")
    body = text[1:] if negative else text
    lowered = body.lower()
    is_bits = lowered.startswith(("0f", "0d"))
    if is_bits and not (ptx_type.is_float or ptx_type.kind == "bf"):
        value: int | float = int(body[2:], 16)
    elif lowered.startswith("0f"):
        value = struct.unpack("<f", int(body[2:], 16).to_bytes(4, "little"))[0]
    elif lowered.startswith("0d"):
        value = struct.unpack("<d", int(body[2:], 16).to_bytes(8, "little"))[0]
    elif "." in body and not lowered.startswith("0x"):
        value = float(body)
    else:
        value = parse_int(body, line)
    if negative:
        value = -value
    if ptx_type.is_float or ptx_type.kind == "bf":
        return float(value)
    if isinstance(value, float):
        raise PTXSyntaxError(line, f"float literal '{text}' used as {ptx_type.name}")
    bits = ptx_type.bits
    value = int(value) & ((1 << bits) - 1)
    if ptx_type.is_signed and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def parse_ptx(text: str) -> Module:
    """Parse a PTX module; raises ``PTXSyntaxError`` with the line for malformed input."""
    return _Parser(text).module()
