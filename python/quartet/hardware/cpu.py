"""The host CPU as a spec: cores, caches and SIMD width, read from Linux's sysfs and procfs.

Roller targets the CPU with the same construction as a GPU: the per-"thread" register tile sized
to the vector registers, the staged (shared-memory) tile to a data cache. Every field falls back
to a conservative default (noted beside it) when the host does not expose it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CACHE_DIR = Path("/sys/devices/system/cpu/cpu0/cache")
CPUINFO = Path("/proc/cpuinfo")

# Widest SIMD extension named in /proc/cpuinfo flags -> (vector bytes, architectural vector
# registers): Intel SDM vol. 1 ch. 15 (AVX-512: 32 zmm), ch. 14 (AVX: 16 ymm); Arm ARM (NEON:
# 32 128-bit registers).
SIMD_FLAGS = (("avx512f", 64, 32), ("avx2", 32, 16), ("avx", 32, 16), ("asimd", 16, 32))


@dataclass(frozen=True)
class CpuSpec:
    name: str
    arch: str
    cores: int
    l1d_bytes: int
    l2_bytes: int
    l3_bytes: int
    cache_line_bytes: int
    simd_bytes: int
    vector_registers: int
    clock_hz: float

    def simd_lanes(self, element_bytes: int) -> int:
        return max(1, self.simd_bytes // element_bytes)


@cache
def host_cpu() -> CpuSpec:
    """This machine's CPU (cached: the host does not change under a running process)."""
    caches = _read_caches()
    flags, model, mhz = _read_cpuinfo()
    simd_bytes, vector_registers = next(
        ((size, regs) for flag, size, regs in SIMD_FLAGS if flag in flags), (16, 16)
    )  # fallback: SSE2, the x86-64 baseline (16 xmm registers)
    return CpuSpec(
        name=model or "unknown CPU",
        arch="cpu",
        cores=os.cpu_count() or 1,
        l1d_bytes=caches.get((1, "Data"), 32 * 1024),  # fallback: 32 KiB, common L1d
        l2_bytes=caches.get((2, "Unified"), 1024 * 1024),  # fallback: 1 MiB
        l3_bytes=caches.get((3, "Unified"), 8 * 1024 * 1024),  # fallback: 8 MiB
        cache_line_bytes=caches.get("line", 64),  # fallback: 64 B, x86 and most Arm cores
        simd_bytes=simd_bytes,
        vector_registers=vector_registers,
        clock_hz=(mhz or 2000.0) * 1e6,  # fallback: 2 GHz
    )


def _read_caches() -> dict:
    found: dict = {}
    for index in sorted(CACHE_DIR.glob("index*")):
        try:
            level = int((index / "level").read_text())
            kind = (index / "type").read_text().strip()
            size = _parse_size((index / "size").read_text().strip())
            found.setdefault("line", int((index / "coherency_line_size").read_text()))
        except (OSError, ValueError):
            continue
        found[(level, kind)] = size
    return found


def _parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+)([KMG]?)", text)
    if match is None:
        raise ValueError(text)
    return int(match[1]) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match[2]]


def _read_cpuinfo() -> tuple[set[str], str, float | None]:
    try:
        text = CPUINFO.read_text()
    except OSError:
        return set(), "", None
    flags = re.search(r"^(?:flags|Features)\s*:(.*)$", text, re.M)
    model = re.search(r"^model name\s*:(.*)$", text, re.M)
    mhz = re.search(r"^cpu MHz\s*:\s*([\d.]+)", text, re.M)
    return (
        set(flags[1].split()) if flags else set(),
        model[1].strip() if model else "",
        float(mhz[1]) if mhz else None,
    )
