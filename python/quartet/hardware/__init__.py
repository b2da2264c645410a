"""Hardware descriptions as data: the GPUs Quartet targets and the host CPU.

``spec_for("sm_90")`` gives the H100 SXM, ``"sm_80"`` the A100, ``"sm_70"`` the V100 and
``"cpu"`` the machine Quartet runs on (read from sysfs and /proc/cpuinfo).
"""

from __future__ import annotations

from quartet.hardware.cpu import CpuSpec, host_cpu
from quartet.hardware.specs import A100_SXM4, GPUS, H100_SXM, V100_SXM2, GpuSpec

__all__ = [
    "A100_SXM4",
    "GPUS",
    "H100_SXM",
    "V100_SXM2",
    "CpuSpec",
    "GpuSpec",
    "host_cpu",
    "spec_for",
]


def spec_for(arch: str) -> GpuSpec | CpuSpec:
    """The spec of ``arch`` (``sm_90``, ``sm_80``, ``sm_70`` or ``cpu``); ValueError otherwise."""
    if arch == "cpu":
        return host_cpu()
    if arch in GPUS:
        return GPUS[arch]
    raise ValueError(f"unknown arch '{arch}' (expected one of: {', '.join([*GPUS, 'cpu'])})")
