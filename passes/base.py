"""What a Quartet pass is: a frozen dataclass of typed options with a pipeline name.

Modelled on xDSL: options are dataclass fields parsed from the textual ``name{key=value ...}``
form (``key`` spelled with dashes), so a pass prints back to exactly the element that builds it,
which is what makes every pipeline Quartet runs replayable with ``quartet-opt``.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from mlir import ir


class PassError(Exception):
    """A user-facing failure of a pass, reported as an error at ``op``'s location."""

    def __init__(self, message: str, op: ir.Operation | ir.OpView | None = None):
        super().__init__(message)
        self.op = op


class PassOptionError(ValueError):
    """A pipeline element names an unknown option or gives an option a value of the wrong type."""


def option(default: Any, help: str) -> Any:
    """A pass option: its default and the one-line help ``--list-passes`` shows."""
    return dataclasses.field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class ModulePass:
    """Base of every Quartet pass; subclasses set ``name`` and implement ``apply``."""

    name: ClassVar[str] = ""

    def apply(self, module: ir.Operation) -> None:
        """Rewrite ``module`` (a ``builtin.module``) in place; raise PassError on bad IR."""
        raise NotImplementedError

    @classmethod
    def summary(cls) -> str:
        """The first line of the pass's docstring."""
        return (cls.__doc__ or "").strip().splitlines()[0]

    @classmethod
    def option_fields(cls) -> list[dataclasses.Field]:
        return list(dataclasses.fields(cls))

    @classmethod
    def from_options(cls, options: dict[str, str]) -> Self:
        """Build the pass from ``{option-name: text}``, checking names and types."""
        hints = typing.get_type_hints(cls)
        fields = {option_name(f.name): f for f in cls.option_fields()}
        values = {}
        for key, text in options.items():
            field = fields.get(key)
            if field is None:
                known = ", ".join(fields) or "none"
                raise PassOptionError(f"pass '{cls.name}' has no option '{key}' (options: {known})")
            values[field.name] = _parse_value(cls.name, key, text, hints[field.name])
        return cls(**values)

    def pipeline_element(self) -> str:
        """The textual element that rebuilds this pass, every option spelled out."""
        options = " ".join(
            f"{option_name(f.name)}={format_value(getattr(self, f.name))}"
            for f in self.option_fields()
        )
        return f"{self.name}{{{options}}}" if options else self.name


def option_name(field_name: str) -> str:
    """The pipeline spelling of an option field: dashes for underscores."""
    return field_name.replace("_", "-")


def _parse_value(pass_name: str, key: str, text: str, kind: Any) -> Any:
    try:
        if kind is bool:
            return {"true": True, "1": True, "false": False, "0": False}[text.lower()]
        if kind in (int, float, str):
            return kind(text)
        if typing.get_origin(kind) is tuple:
            return tuple(int(part) for part in text.split(","))
    except (KeyError, ValueError):
        pass
    else:
        raise TypeError(f"unsupported option type {kind!r} in pass '{pass_name}'")
    raise PassOptionError(
        f"pass '{pass_name}': option '{key}' expects {_type_name(kind)}, got '{text}'"
    )


def format_value(value: Any) -> str:
    """An option value as the pipeline text that parses back to it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _type_name(kind: Any) -> str:
    if typing.get_origin(kind) is tuple:
        return "a comma-separated list of integers"
    return {bool: "true or false", int: "an integer", float: "a number", str: "a string"}[kind]
