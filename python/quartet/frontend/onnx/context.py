"""What an operator handler sees: the node, its input tensors, attributes, and the emitter."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from quartet.errors import QuartetError
from quartet.frontend.onnx.ir import Body, Emitter, Tensor


def node_name(node: onnx.NodeProto) -> str:
    """What errors and the IR's locations call a node: its name, else its first output's."""
    return node.name or (node.output[0] if node.output else "?")


@dataclass
class NodeContext:
    node: onnx.NodeProto
    inputs: list[Tensor | None]  # None for an omitted optional input
    emit: Emitter
    opset: int
    importer: object  # the Importer (control flow imports subgraphs through it)

    @property
    def name(self) -> str:
        return node_name(self.node)

    def located(self, message: str) -> str:
        """``message`` prefixed with the node's name and op type."""
        return f"node '{self.name}' ({self.node.op_type}): {message}"

    def error(self, message: str) -> QuartetError:
        return QuartetError(f"error: {self.located(message)}")

    def check(self, b: Body, ok: str, message: str) -> None:
        """A runtime check in a body: a run where ``ok`` (an i1 of ``b``) is false fails with
        this node's error ``message`` (``tile.check``, its code from the importer's table)."""
        b.check(ok, self.importer.runtime_error(self.located(message)))

    def attr(self, name: str, default=None):
        for attribute in self.node.attribute:
            if attribute.name == name:
                value = onnx.helper.get_attribute_value(attribute)
                if isinstance(value, bytes):
                    return value.decode()
                if isinstance(value, list) and value and isinstance(value[0], bytes):
                    return [v.decode() for v in value]
                return value
        return default

    def input(self, index: int) -> Tensor | None:
        return self.inputs[index] if index < len(self.inputs) else None

    def const_input(self, index: int, what: str) -> np.ndarray | None:
        """The compile-time value of input ``index`` (None when omitted); error when it is
        computed at run time (``what`` says what it is, e.g. 'the target shape')."""
        tensor = self.input(index)
        if tensor is None:
            return None
        if tensor.const is None:
            raise self.error(
                f"{what} (input '{self.node.input[index]}') must be known at compile time; "
                "bind it as a constant input"
            )
        return tensor.const

    def axis(self, axis: int, rank: int) -> int:
        """A normalized (non-negative) axis; error when out of range."""
        if not -max(rank, 1) <= axis < max(rank, 1):
            raise self.error(f"axis {axis} is out of range for rank {rank}")
        return axis % max(rank, 1)
