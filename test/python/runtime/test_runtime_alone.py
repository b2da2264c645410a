"""The runtime without the compiler: in a fresh interpreter where ``mlir`` cannot be imported,
and copied alone (the files it needs, nothing else of Quartet) into an empty directory."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import numpy as np
from conftest import python, small_feeds, small_reference

import quartet

PACKAGE = Path(quartet.__file__).parent
# What the runtime needs of Quartet: the package root (lazy), errors, tensor specs, emulator.
RUNTIME_FILES = ["__init__.py", "errors.py", "signature.py", "emulator", "runtime"]

BLOCK_MLIR = """
import sys

class NoMlir:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "mlir":
            raise ImportError(f"{name}: MLIR is made unimportable by this test")

sys.meta_path.insert(0, NoMlir())
"""

RUN = """
import sys
import numpy as np
import quartet, quartet.runtime

feeds, expected = dict(np.load(sys.argv[1])), dict(np.load(sys.argv[2]))
feeds["mask"] = feeds["mask"].astype(bool)
model = quartet.runtime.load(sys.argv[3])
for device in ("cpu", "emulator"):
    outputs = model.run(feeds, device=device)
    for name, value in expected.items():
        np.testing.assert_allclose(outputs[name], value, rtol=1e-5, atol=1e-6)
    print(device, "ok")
try:
    quartet.compile("x.mlir")
except ImportError as error:
    print("compile:", error)
print("quartet from", quartet.__file__)
print("mlir loaded:", any(name.split(".")[0] == "mlir" for name in sys.modules))
"""


def _data(tmp_path: Path) -> tuple[str, str]:
    feeds = small_feeds()
    np.savez(tmp_path / "feeds.npz", **feeds)
    np.savez(tmp_path / "expected.npz", **small_reference(feeds))
    return str(tmp_path / "feeds.npz"), str(tmp_path / "expected.npz")


def test_the_runtime_runs_an_artifact_where_mlir_cannot_be_imported(small_artifact, tmp_path):
    done = python(BLOCK_MLIR + RUN, *_data(tmp_path), str(small_artifact))
    assert done.returncode == 0, done.stderr
    assert "cpu ok" in done.stdout and "emulator ok" in done.stdout
    assert "MLIR is made unimportable" in done.stdout  # the compiler does need it
    assert "mlir loaded: False" in done.stdout


def test_the_runtime_copied_alone_runs_an_artifact(small_artifact, tmp_path):
    """Only RUNTIME_FILES in an empty directory, no site-packages but numpy's (``-S``)."""
    alone = tmp_path / "alone" / "quartet"
    alone.mkdir(parents=True)
    for name in RUNTIME_FILES:
        source = PACKAGE / name
        if source.is_dir():
            shutil.copytree(source, alone / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(source, alone / name)
    site = Path(np.__file__).parents[1]
    done = python(
        BLOCK_MLIR + RUN,
        *_data(tmp_path),
        str(small_artifact),
        path=[alone.parent, site],
        flags=["-S"],
    )
    assert done.returncode == 0, done.stderr
    assert "cpu ok" in done.stdout and "emulator ok" in done.stdout
    assert f"quartet from {alone / '__init__.py'}" in done.stdout


# Names the standard library gained in Python 3.11 (What's New in Python 3.11).
NEW_IN_311 = {
    "tomllib": None,
    "typing": {"Self", "LiteralString", "Never", "assert_never", "reveal_type", "Required"},
    "enum": {"StrEnum", "ReprEnum", "verify", "EnumCheck"},
    "datetime": {"UTC"},
    "asyncio": {"TaskGroup", "timeout"},
}


def test_the_runtime_files_are_python_3_10():
    """Syntax (the grammar of 3.10) and imports (nothing the standard library gained in 3.11)
    of every file the runtime needs; ruff's per-file target version checks the syntax too."""
    files = [
        path
        for name in RUNTIME_FILES
        for path in ([PACKAGE / name] if name.endswith(".py") else (PACKAGE / name).rglob("*.py"))
    ]
    assert len(files) > 20
    for path in files:
        tree = ast.parse(path.read_text(), str(path), feature_version=(3, 10))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                used = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                used = [(node.module, alias.name) for alias in node.names]
            else:
                continue
            for module, name in used:
                new = NEW_IN_311.get(module, set())
                assert new is not None and name not in new, f"{path}: {module}.{name}"
