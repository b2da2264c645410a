"""Reading the parameters of IRDL-defined attributes, which the Python bindings do not expose.

An IRDL attribute prints as ``#dialect.name<p0, p1, ...>`` where every parameter is itself an
attribute, so the parameters are recovered by re-parsing ``[p0, p1, ...]`` as a builtin ArrayAttr.
"""

from __future__ import annotations

from mlir import ir


def is_attr(attr: ir.Attribute, name: str) -> bool:
    """Whether ``attr`` is the IRDL attribute ``name`` (``"tile.rtile"``)."""
    return str(attr).startswith(f"#{name}<")


def parameters(attr: ir.Attribute, name: str) -> list[ir.Attribute]:
    """The parameters of the IRDL attribute ``name``; ValueError if ``attr`` is another kind."""
    text = str(attr)
    prefix = f"#{name}<"
    if not text.startswith(prefix) or not text.endswith(">"):
        raise ValueError(f"expected a #{name} attribute, got {text}")
    inner = text[len(prefix) : -1]
    return list(ir.ArrayAttr(ir.Attribute.parse(f"[{inner}]", attr.context)))


def build(name: str, *params: str, context: ir.Context | None = None) -> ir.Attribute:
    """``#name<params...>`` from the parameters' textual forms (in the current Context if none)."""
    return ir.Attribute.parse(f"#{name}<{', '.join(params)}>", context)


def integers(values: list[int] | tuple[int, ...]) -> str:
    """The textual form of a dense i64 array."""
    return f"array<i64: {', '.join(str(value) for value in values)}>" if values else "array<i64>"


def quoted(text: str) -> str:
    """The textual form of a string attribute."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def boolean(value: bool) -> str:
    """The textual form of a bool attribute (an i1 integer)."""
    return "true" if value else "false"
