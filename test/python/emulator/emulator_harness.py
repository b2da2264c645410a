"""Helpers of the emulator tests: real PTX from MLIR GPU kernels, ptxas, and a template kernel
for one-instruction tests. (A module of its own, imported by conftest and tests alike, so its
name cannot clash with other test directories' conftest modules.)

The emulator itself must not depend on MLIR; the tests may, to get the PTX LLVM's NVPTX backend
really emits (the same pipeline shape Quartet uses: bare-pointer kernel ABI, sm_90).
"""

from __future__ import annotations

import functools
import pathlib
import subprocess

PTX_DIR = pathlib.Path(__file__).parent / "ptx"
KERNELS_DIR = pathlib.Path(__file__).parent / "kernels"

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
        "  .reg .b32 %thread;",
        "  .reg .b64 %offset, %address;",
    ]
    for name, size in zip(names, input_sizes, strict=False):
        lines.append(f"  .reg .{_WIDTH_SUFFIX[max(size, 2)]} %{name};")
    lines.append(f"  .reg .{_WIDTH_SUFFIX[max(output_size, 2)]} %d;")
    lines.append("  mov.u32 %thread, %tid.x;")
    for name, size in zip(names, input_sizes, strict=False):
        load_type = {1: "u8", 2: "b16", 4: "b32", 8: "b64"}[size]
        lines += [
            f"  mul.wide.u32 %offset, %thread, {size};",
            f"  ld.param.u64 %address, [in_{name}];",
            "  add.s64 %address, %address, %offset;",
            f"  ld.global.{load_type} %{name}, [%address];",
        ]
    lines += [body]
    store_type = {1: "u8", 2: "b16", 4: "b32", 8: "b64"}[output_size]
    lines += [
        f"  mul.wide.u32 %offset, %thread, {output_size};",
        "  ld.param.u64 %address, [out];",
        "  add.s64 %address, %address, %offset;",
        f"  st.global.{store_type} [%address], %d;",
        "  ret;",
        "}",
    ]
    return "\n".join(lines) + "\n"
