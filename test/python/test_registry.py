"""The pass registry: one name per pass, module and class agree, every option documented."""

from __future__ import annotations

import inspect
import typing
from importlib import import_module
from pathlib import Path

import pytest

import quartet.passes
from quartet.passes.base import ModulePass
from quartet.passes.registry import PASSES, lookup, module_name
from quartet.pipeline import parse_pipeline

OPTION_TYPES = (bool, int, float, str)


@pytest.fixture(params=sorted(PASSES))
def pass_class(request) -> type[ModulePass]:
    return lookup(request.param)


def test_name_matches_key(pass_class):
    assert pass_class.name in PASSES
    assert lookup(pass_class.name) is pass_class


def test_module_is_named_after_the_pass(pass_class):
    expected = module_name(pass_class.name)
    assert pass_class.__module__ == f"quartet.passes.{expected}"
    path = Path(inspect.getfile(pass_class))
    assert expected in (path.stem, path.parent.name)  # passes/foo.py or passes/foo/__init__.py


def test_is_a_module_pass_with_a_summary(pass_class):
    assert issubclass(pass_class, ModulePass)
    summary = pass_class.summary()
    # dataclass() writes "Name(field: type, ...)" as the docstring of a class without one.
    assert summary and not summary.startswith(f"{pass_class.__name__}(")


def test_every_option_is_typed_and_documented(pass_class):
    hints = typing.get_type_hints(pass_class)
    for field in pass_class.option_fields():
        kind = hints[field.name]
        assert kind in OPTION_TYPES or typing.get_origin(kind) is tuple, field.name
        assert field.metadata.get("help"), f"option '{field.name}' has no help"


def test_default_pipeline_element_parses_back(pass_class):
    element = pass_class().pipeline_element()
    assert parse_pipeline(element) == [pass_class()]


def test_every_pass_in_the_package_is_registered():
    package = Path(quartet.passes.__file__).parent
    for path in sorted(package.glob("*.py")):
        module = import_module(f"quartet.passes.{path.stem}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, ModulePass) and cls.__module__ == module.__name__ and cls.name:
                assert PASSES.get(cls.name) == cls.__name__, f"{cls.__name__} is not in PASSES"
