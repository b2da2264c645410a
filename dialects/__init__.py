"""The tile, schedule and controlflow dialects and the one way to get a Context that has them.

The dialects are written in IRDL (``*.irdl.mlir`` beside this file) and loaded at run time: the
MLIR 22 wheels ship no C++ toolchain for ODS dialects, and IRDL gives verified ops, attributes and
types from Python. Loading a dialect twice into one Context aborts the process (PLATFORM.md), so
every Context Quartet uses comes from :func:`create_context`.
"""

from __future__ import annotations

import sys
import types
from functools import cache
from pathlib import Path

from mlir import ir
from mlir.dialects import irdl

DIALECT_NAMES = ("tile", "schedule", "controlflow")


@cache
def irdl_sources() -> tuple[tuple[str, str], ...]:
    """(name, IRDL text) for each dialect, read once per process."""
    here = Path(__file__).parent
    return tuple((name, (here / f"{name}.irdl.mlir").read_text()) for name in DIALECT_NAMES)


def irdl_paths() -> list[Path]:
    """The IRDL files, for tools that take them by path (``mlir-opt --irdl-file``)."""
    here = Path(__file__).parent
    return [here / f"{name}.irdl.mlir" for name in DIALECT_NAMES]


def _stand_in_modules() -> None:
    """Every time the bindings hand out an attribute or op of dialect ``d`` they try to import
    ``mlir.dialects.d`` (for its Python classes), and a failed import is not remembered: an
    IRDL dialect has no such module, so each access of a ``#tile.*`` attribute paid a search
    of the whole import path (half of a BERT layer's Welder time). Empty modules stand in."""
    for name in DIALECT_NAMES:
        sys.modules.setdefault(f"mlir.dialects.{name}", types.ModuleType(f"mlir.dialects.{name}"))


def create_context() -> ir.Context:
    """A new Context with every upstream dialect available and Quartet's three loaded."""
    _stand_in_modules()
    context = ir.Context()
    with context, ir.Location.unknown():
        for _name, text in irdl_sources():
            irdl.load_dialects(ir.Module.parse(text))
    return context
