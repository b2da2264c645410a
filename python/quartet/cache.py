"""The on-disk compile cache: a compiled model, keyed by everything that determines it.

The key is a SHA-256 over the input IR, the pipeline text, the target and the entry, and over
the compiler itself: Quartet's version and the contents of its own source files (an edited pass
is a different compiler), the MLIR bindings' version, and the host CPU (the CPU library is
compiled for it). An entry is a directory ``<root>/<key>/`` holding ``model.pickle`` (the
:class:`quartet.CompiledModel`: PTX, host program, IR, signature) and, once built,
``model.so`` (the CPU library). The ONNX frontend keeps imported graphs the same way, their
weights beside them as ``.npy`` files that a cache hit memory-maps instead of reading the model.

The root is ``$QUARTET_CACHE_DIR``, else ``$XDG_CACHE_HOME/quartet``, else
``~/.cache/quartet``. ``QUARTET_CACHE=0``, ``quartet.compile(..., cache=False)`` and the CLI's
``--no-cache`` turn it off. A cache that cannot be written is skipped with a warning; nothing
is ever evicted (delete the directory to reclaim the space).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import numpy as np

MODEL = "model.pickle"


def root() -> Path:
    if os.environ.get("QUARTET_CACHE_DIR"):
        return Path(os.environ["QUARTET_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "quartet"


def enabled() -> bool:
    return os.environ.get("QUARTET_CACHE", "1").lower() not in ("0", "false", "no", "off")


def key(*parts: str) -> str | None:
    """The entry name of a compile of ``parts`` (None when the cache is turned off)."""
    if not enabled():
        return None
    digest = hashlib.sha256(fingerprint().encode())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()


@functools.cache
def fingerprint() -> str:
    """Quartet's version, its sources, the MLIR bindings' version and the host CPU."""
    import quartet
    import quartet.dialects
    import quartet.passes
    from quartet.hardware.cpu import host_cpu

    digest = hashlib.sha256()
    for package in (quartet, quartet.dialects, quartet.passes):
        for directory in package.__path__:
            for path in sorted(Path(directory).rglob("*")):
                if path.suffix in (".py", ".mlir"):
                    digest.update(path.name.encode() + b"\0" + path.read_bytes())
    versions = [_version("quartet"), _version("xtc-mlir-python-bindings"), host_cpu().name]
    return "\n".join([*versions, digest.hexdigest()])


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def file_identity(path: str | Path) -> str | None:
    """A file's identity for a cache key without reading it: its resolved path, size and
    modification time (None if it cannot be read)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return f"{Path(path).resolve()}:{stat.st_size}:{stat.st_mtime_ns}"


def entry(name: str) -> Path | None:
    """The entry directory of ``name``, created; None (with a warning) if it cannot be."""
    path = root() / name
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        warnings.warn(
            f"quartet: compile cache disabled: cannot create {path}: {error}", stacklevel=3
        )
        return None
    return path


def load(name: str):
    """The cached model of entry ``name``, or None."""
    found = load_with_arrays(name)
    if found is None:
        return None
    model, _ = found
    model.cache_entry = root() / name
    return model


def store(name: str, model, arrays: list[np.ndarray] = ()) -> None:
    """Write ``model`` (and ``arrays``, read back memory-mapped) into entry ``name``,
    atomically: readers never see half an entry, because the pickle is written last."""
    directory = entry(name)
    if directory is None:
        return
    try:
        for index, array in enumerate(arrays):
            with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".tmp") as file:
                np.save(file, array, allow_pickle=False)
            os.replace(file.name, directory / f"{index}.npy")
        with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".tmp") as file:
            pickle.dump((model, len(arrays)), file, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(file.name, directory / MODEL)
    except OSError as error:
        warnings.warn(f"quartet: cannot write the compile cache {directory}: {error}", stacklevel=3)


def load_with_arrays(name: str):
    """(object, arrays) of entry ``name`` (the arrays memory-mapped, read-only), or None."""
    path = root() / name
    try:
        with (path / MODEL).open("rb") as file:
            model, count = pickle.load(file)
        arrays = [np.load(path / f"{i}.npy", mmap_mode="r") for i in range(count)]
    except (OSError, ValueError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return model, arrays
