"""The one table from pipeline name to Quartet pass, imported lazily.

A pass named ``quartet-foo-bar`` lives in ``passes/foo_bar.py`` as the class given here;
``test/python/test_registry.py`` checks both the module and the class's own ``name``.
"""

from __future__ import annotations

from importlib import import_module

from quartet.passes.base import ModulePass

PASSES: dict[str, str] = {
    "quartet-fixed-tiling": "FixedTiling",
    "quartet-host-control-flow": "HostControlFlow",
    "quartet-grinder": "Grinder",
    "quartet-hoist-invariants": "HoistInvariants",
    "quartet-speculate-branches": "SpeculateBranches",
    "quartet-readonly-arguments": "ReadonlyArguments",
    "quartet-error-word": "ErrorWord",
    "quartet-outline-kernels": "OutlineKernels",
    "quartet-lower-tiles": "LowerTiles",
    "quartet-rammer": "Rammer",
    "quartet-map-to-gpu": "MapToGpu",
    "quartet-map-to-cpu": "MapToCpu",
    "quartet-roller": "Roller",
    "quartet-welder": "Welder",
    "quartet-widen-bool-buffers": "WidenBoolBuffers",
    "quartet-poison-buffers": "PoisonBuffers",
    "quartet-launch-bounds": "LaunchBounds",
    "quartet-dynamic-shared": "DynamicShared",
    "test-roller-align": "TestRollerAlign",
    "test-roller-reuse": "TestRollerReuse",
    "test-roller-candidates": "TestRollerCandidates",
    "test-welder-propagate": "TestWelderPropagate",
    "test-welder-schedule": "TestWelderSchedule",
    "test-rammer-wavefront": "TestRammerWavefront",
    "test-lower-tiles-plan": "TestLowerTilesPlan",
    "test-lower-tiles-staging": "TestLowerTilesStaging",
}


def module_name(pass_name: str) -> str:
    """The module under ``quartet.passes`` that defines ``pass_name``."""
    return pass_name.removeprefix("quartet-").replace("-", "_")


def lookup(pass_name: str) -> type[ModulePass] | None:
    """The pass class registered as ``pass_name``, or None for a name Quartet does not own."""
    class_name = PASSES.get(pass_name)
    if class_name is None:
        return None
    return getattr(import_module(f"quartet.passes.{module_name(pass_name)}"), class_name)
