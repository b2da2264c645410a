"""Fixtures for the emulator tests: hand-written PTX files and MLIR kernels lowered to real PTX.

The emulator itself must not depend on MLIR; the tests may, to get the PTX LLVM's NVPTX backend
really emits (the same pipeline shape Quartet uses: bare-pointer kernel ABI, sm_90).
"""

from __future__ import annotations

import functools
import pathlib
import shutil
import subprocess

import pytest

PTX_DIR = pathlib.Path(__file__).parent / "ptx"

GPU_TO_PTX = (
    "builtin.module(nvvm-attach-target{chip=sm_90 O=3},convert-scf-to-cf,"
    "gpu.module(convert-gpu-to-nvvm{use-bare-ptr-memref-call-conv=1},convert-nvgpu-to-nvvm,"
    "convert-arith-to-llvm,convert-vector-to-llvm,canonicalize,cse),"
    "reconcile-unrealized-casts,gpu-module-to-binary{format=isa})"
)


@functools.cache
def lower_to_ptx(mlir_text: str) -> str:
    """PTX text of the single gpu.module in ``mlir_text`` (a module with gpu.container_module)."""
    from mlir import ir, passmanager
    from mlir.dialects import gpu

    with ir.Context():
        module = ir.Module.parse(mlir_text)
        passmanager.PassManager.parse(GPU_TO_PTX).run(module.operation)
        for op in module.body.operations:
            if op.operation.name == "gpu.binary":
                objects = op.attributes["objects"]
                return gpu.ObjectAttr(objects[0]).object.decode()
    raise AssertionError("no gpu.binary produced")


def assemble(ptx: str, tmp_path: pathlib.Path) -> str:
    """Run ``ptxas -arch=sm_90 -v`` on ``ptx``; returns its report (fails the test on error)."""
    source = tmp_path / "kernel.ptx"
    source.write_text(ptx)
    result = subprocess.run(
        ["ptxas", "-arch=sm_90", "-v", str(source), "-o", str(tmp_path / "kernel.cubin")],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stderr


@pytest.fixture
def ptxas(tmp_path):
    if shutil.which("ptxas") is None:
        pytest.skip("ptxas not on PATH")
    return lambda ptx: assemble(ptx, tmp_path)


@pytest.fixture
def ptx_file():
    return lambda name: (PTX_DIR / name).read_text()


@pytest.fixture(scope="session")
def to_ptx():
    pytest.importorskip("mlir.ir")
    return lower_to_ptx


_WIDTH_SUFFIX = {1: "b8", 2: "b16", 4: "b32", 8: "b64"}


def elementwise_ptx(body: str, input_sizes: list[int], output_size: int) -> str:
    """A one-instruction-class test kernel: thread i loads ``%a``, ``%b``, ``%c`` from input
    arrays at index i, runs ``body``, and stores ``%d`` to the output at index i.

    Registers are sized like the arrays (``.b16``/``.b32``/``.b64``); the body may also use
    ``%p``/``%q`` (predicates) and scratch registers ``%t0..7`` (.b32) and ``%w0..7`` (.b64).
    """
    names = "abc"
    params = ", ".join(f".param .u64 in_{n}" for n in names[: len(input_sizes)])
    lines = [
        ".version 7.8",
        ".target sm_90",
        ".address_size 64",
        "",
        f".visible .entry elementwise({params}, .param .u64 out)",
        "{",
        "  .reg .pred %p, %q;",
        "  .reg .b32 %t<8>;",
        "  .reg .b64 %w<8>;",
        "  .reg .b32 %tid;",
        "  .reg .b64 %offset, %address;",
    ]
    for name, size in zip(names, input_sizes, strict=False):
        lines.append(f"  .reg .{_WIDTH_SUFFIX[max(size, 2)]} %{name};")
    lines.append(f"  .reg .{_WIDTH_SUFFIX[max(output_size, 2)]} %d;")
    lines.append("  mov.u32 %tid, %tid.x;")
    for name, size in zip(names, input_sizes, strict=False):
        load_type = {1: "u8", 2: "b16", 4: "b32", 8: "b64"}[size]
        lines += [
            f"  mul.wide.u32 %offset, %tid, {size};",
            f"  ld.param.u64 %address, [in_{name}];",
            "  add.s64 %address, %address, %offset;",
            f"  ld.global.{load_type} %{name}, [%address];",
        ]
    lines += [body]
    store_type = {1: "u8", 2: "b16", 4: "b32", 8: "b64"}[output_size]
    lines += [
        f"  mul.wide.u32 %offset, %tid, {output_size};",
        "  ld.param.u64 %address, [out];",
        "  add.s64 %address, %address, %offset;",
        f"  st.global.{store_type} [%address], %d;",
        "  ret;",
        "}",
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def elementwise():
    """``elementwise(body, out_dtype, *inputs)``: run ``body`` per element, return the output."""
    import numpy as np

    from quartet.emulator import launch

    def run(body: str, out_dtype, *inputs):
        arrays = [np.ascontiguousarray(x) for x in inputs]
        count = len(arrays[0])
        out = np.zeros(count, out_dtype)
        ptx = elementwise_ptx(body, [a.itemsize for a in arrays], out.itemsize)
        launch(ptx, "elementwise", 1, count, [*arrays, out])
        return out

    return run
