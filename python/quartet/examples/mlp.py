"""The bundled 3-layer MLP (``mlp.mlir``): random inputs and the numpy reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np

SOURCE = Path(__file__).with_name("mlp.mlir")
SHAPES = [(64, 512), (512, 1024), (1024,), (1024, 1024), (1024,), (1024, 10), (10,)]


def random_inputs(seed: int = 0) -> list[np.ndarray]:
    """x and the weights, scaled like a Glorot-initialised layer so activations stay O(1)."""
    rng = np.random.default_rng(seed)
    return [
        (rng.standard_normal(shape) / np.sqrt(shape[0] if len(shape) == 2 else 1)).astype(
            np.float32
        )
        for shape in SHAPES
    ]


def reference(x, w1, b1, w2, b2, w3, b3) -> np.ndarray:
    hidden = np.maximum(x @ w1 + b1, 0)
    hidden = np.maximum(hidden @ w2 + b2, 0)
    return hidden @ w3 + b3
