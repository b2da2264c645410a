# Lit configuration for Quartet: `lit -v test` (or `cmake --build build --target check-quartet`).
# ruff: noqa: F821 - lit injects `config` and `lit_config`

import os
import shutil
import sys
import sysconfig
from pathlib import Path

import lit.formats

from quartet.ptxas import find_ptxas

config.name = "Quartet"
# The internal shell provides `not` and pipes; lit 23.1.5 raises on execute_external=True.
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".mlir"]
config.excludes = ["python", "Inputs"]  # pytest's; inputs other tests read
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = config.test_source_root
config.environment["QUARTET_VERIFY_EACH_PASS"] = "1"  # the dialect verifier after every pass

repo_root = Path(config.test_source_root).parent
# lit runs under the project's venv; its python has the mlir wheels and the editable quartet.
python = sys.executable
site_packages = Path(sysconfig.get_paths()["purelib"])
scripts = Path(sysconfig.get_paths()["scripts"])


def tool(installed: Path, fallback: str) -> str:
    return str(installed) if installed.exists() else fallback


quartet_opt = tool(scripts / "quartet-opt", f"{python} {repo_root / 'tools' / 'quartet-opt'}")
file_check = tool(
    site_packages / "llvm" / "bin" / "FileCheck", shutil.which("filecheck") or "filecheck"
)
mlir_opt = tool(site_packages / "mlir" / "bin" / "mlir-opt", "mlir-opt")


def whole_word(name: str) -> str:
    """Match ``name`` as a command, not inside a path or a longer name (like LLVM's ToolSubst)."""
    return rf"(?<![\w/.-]){name}(?![\w/.-])"


config.substitutions.append(("%python", python))
config.substitutions.append((whole_word("quartet-opt"), quartet_opt))
config.substitutions.append((whole_word("mlir-opt"), mlir_opt))
config.substitutions.append((whole_word("FileCheck"), file_check))
config.substitutions.append(("%irdl_dir", str(repo_root / "dialects")))

# `REQUIRES: ptxas` tests run `ptxas`: the one on PATH, or the nvidia-cuda-nvcc wheel's.
ptxas = find_ptxas()
if ptxas:
    config.available_features.add("ptxas")
    config.environment["PATH"] = os.pathsep.join([os.path.dirname(ptxas), os.environ["PATH"]])
