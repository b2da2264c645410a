"""The operator table: ONNX op type -> the function that writes it as graph-level IR.

Each op-family module registers its handlers with :func:`op`; a handler gets a
:class:`~quartet.frontend.onnx.context.NodeContext` and returns the node's output tensors.
"""

from __future__ import annotations

from collections.abc import Callable

HANDLERS: dict[str, Callable] = {}


def op(*op_types: str):
    """Register the decorated function as the handler of ``op_types`` (default domain)."""

    def register(handler: Callable) -> Callable:
        for op_type in op_types:
            HANDLERS[op_type] = handler
        return handler

    return register


def supported_ops() -> list[str]:
    """Every op type the importer handles (importing the op-family modules registers them)."""
    from quartet.frontend.onnx import ops  # noqa: F401 - registration side effect

    return sorted(HANDLERS)
