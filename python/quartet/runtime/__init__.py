"""``quartet.runtime``: run a compiled artifact without the compiler.

>>> import quartet.runtime
>>> model = quartet.runtime.load("out/")            # written by `quartet compile -o out/`
>>> outputs = model.run({"x": x}, device="cuda")    # or "emulator", "cpu"; {name: array}
>>> model.bench({"x": x}, device="cuda", runs=100)  # seconds per run (CUDA events)

It needs numpy, and NVIDIA's cuda-bindings for the ``"cuda"`` device only; it never imports
MLIR, and it runs on Python 3.10 and later. See docs/runtime.md for the artifact's format.
"""

from __future__ import annotations

from pathlib import Path

from quartet.runtime.artifact import FORMAT_VERSION, Artifact, ArtifactError, read
from quartet.runtime.model import DEVICES, WATCHDOG_SECONDS, Model

__all__ = ["DEVICES", "FORMAT_VERSION", "Artifact", "ArtifactError", "Model", "load"]


def load(directory: str | Path, watchdog: float = WATCHDOG_SECONDS) -> Model:
    """The artifact in ``directory`` as a runnable model; ArtifactError if it is malformed or
    of a newer format. ``watchdog``: seconds a GPU kernel may run before it counts as hung."""
    return Model(read(Path(directory)), watchdog)
