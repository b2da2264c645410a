"""The errors a compiled model reports at run time: its error word and its table of messages.

A runtime check (``tile.check``, e.g. an ONNX Gather meeting an index out of range) that fails
writes its code into the entry's error word: the argument that quartet-error-word added and
marked ``tile.error_word`` (passes/error_word.py). The entry's ``tile.errors`` table gives each
code its message, which names the operator. Whoever runs the entry, the host program of a GPU
build (:func:`quartet.runtime.program.run_host_program`, on any device) or the CPU library
(:class:`quartet.runtime.cpu.CpuLibrary`), passes a zeroed word at that position and, after
the run, raises the error the word holds. An artifact keeps the table in its manifest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quartet.errors import QuartetError


@dataclass(frozen=True)
class ErrorTable:
    """Where an entry's error word goes among its arguments, and the message of each code."""

    argument: int  # the position of the error word among the entry's arguments
    messages: tuple[tuple[int, str], ...]  # (code, message), as in the entry's tile.errors

    @classmethod
    def of(cls, func) -> ErrorTable | None:
        """The table of ``func`` (a ``func.func`` after quartet-error-word); None when it has
        no error word (nothing in it checks at run time). Reads IR: the compiler's side only."""
        from mlir import ir

        from quartet.dialects import tile

        if "arg_attrs" not in func.attributes:
            return None
        marked = [
            position
            for position, attrs in enumerate(ir.ArrayAttr(func.attributes["arg_attrs"]))
            if tile.ERROR_WORD in ir.DictAttr(attrs)
        ]
        if not marked:
            return None
        table = ()
        if tile.ERRORS in func.attributes:
            table = tile.errors_from_attr(func.attributes[tile.ERRORS])
        return cls(marked[0], tuple((error.code, error.message) for error in table))

    def arguments(self, arguments: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
        """``arguments`` (the entry's others, in order) with a zeroed error word in its
        place, and that word."""
        word = new_word()
        return [*arguments[: self.argument], word, *arguments[self.argument :]], word

    def raise_if_set(self, word: np.ndarray) -> None:
        """QuartetError with the message of the code in ``word``, if a check failed."""
        code = int(word[0])
        if code == 0:
            return
        message = dict(self.messages).get(code, f"runtime check {code} failed")
        raise QuartetError(f"error: {message}")


def new_word() -> np.ndarray:
    """A zeroed error word: one i32 (``memref<1xi32>``)."""
    return np.zeros(1, np.int32)
