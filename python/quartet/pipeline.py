"""Textual pass pipelines that mix Quartet's Python passes with upstream MLIR passes.

MLIR's pipeline parser cannot name a Python pass (PLATFORM.md), so Quartet parses the top level
itself: each element is either a registered Quartet pass with ``{key=value}`` options, or upstream
text (``canonicalize``, ``func.func(cse)``, ``gpu.module(convert-gpu-to-nvvm{...})``) handed to
MLIR as is. The same parser serves ``quartet-opt --pass-pipeline`` and ``quartet.compile``, so a
pipeline printed by one replays in the other.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Iterator
from dataclasses import dataclass

from mlir import ir, passmanager

from quartet import isolation
from quartet.dialects.verify import verify
from quartet.errors import QuartetError
from quartet.passes.base import ModulePass, PassError, PassOptionError
from quartet.passes.registry import lookup


@dataclass(frozen=True)
class Upstream:
    """An upstream pipeline element, kept as text."""

    text: str

    def pipeline_element(self) -> str:
        return self.text


Element = ModulePass | Upstream

# Set (as the test suites do) to run the dialect verifier after every Quartet pass, so a pass
# that writes attributes its dialect rejects fails where it does so.
VERIFY_EACH_PASS = "QUARTET_VERIFY_EACH_PASS"

# The buffer name in pipeline error messages: ``<pass-pipeline>:1:COLUMN: error: ...``.
PIPELINE_SOURCE = "<pass-pipeline>"


def parse_pipeline(text: str) -> list[Element]:
    """Parse ``builtin.module(a, b{x=1}, func.func(c))`` (the wrapper is optional)."""
    body = _strip_module_wrapper(text.strip())
    elements: list[Element] = []
    for element in _split_top_level(body):
        try:
            elements.append(_parse_element(element))
        except QuartetError as error:
            raise QuartetError(f"{PIPELINE_SOURCE}:1:{text.find(element) + 1}: {error}") from None
    return elements


def _parse_element(element: str) -> Element:
    name, options = _split_element(element)
    pass_class = lookup(name)
    if pass_class is None:
        _reject_nested_quartet_passes(element)
        _check_upstream(element)
        return Upstream(element)
    try:
        return pass_class.from_options(options)
    except PassOptionError as error:
        raise QuartetError(f"error: in pipeline element '{element}': {error}") from None


def format_pipeline(elements: list[Element]) -> str:
    """The canonical text of a pipeline: what ``quartet-opt --pass-pipeline`` accepts back."""
    return "builtin.module(" + ",".join(e.pipeline_element() for e in elements) + ")"


def run_pipeline(
    module: ir.Module,
    elements: list[Element],
    *,
    filename: str = "-",
    print_ir_after_all: bool = False,
) -> None:
    """Run ``elements`` on ``module`` in its Context; raise QuartetError on any failure.

    In an isolated child (quartet.isolation) the elements run one at a time, each announced to
    the parent first, so that a crash report can name the pass that crashed.
    """
    if isolation.active() and len(elements) > 1:
        for element in elements:
            isolation.report(pass_name=element.pipeline_element())
            run_pipeline(
                module, [element], filename=filename, print_ir_after_all=print_ir_after_all
            )
        return
    manager = passmanager.PassManager("builtin.module")
    for element in elements:
        if isinstance(element, Upstream):
            manager.add(element.text)
        else:
            manager.add(_as_mlir_pass(element), name=type(element).__name__, argument=element.name)
    if print_ir_after_all:
        # IR printing on a multi-threaded Context aborts the process.
        module.context.enable_multithreading(False)
        manager.enable_ir_printing(print_after_all=True, print_module_scope=True)
    try:
        manager.run(module.operation)
    except ir.MLIRError as error:
        from quartet.errors import from_mlir_error

        raise from_mlir_error(error, filename, "running the pass pipeline") from None


def _as_mlir_pass(quartet_pass: ModulePass):
    """Adapt a ModulePass to ``PassManager.add``: exceptions become located errors.

    An exception escaping a Python pass leaves the Context unusable (PLATFORM.md), so none may.
    """

    def run(op: ir.Operation, pass_) -> None:
        try:
            quartet_pass.apply(op)
            if VERIFY_EACH_PASS in os.environ and not verify(op):
                op.location.emit_error(f"{quartet_pass.name} left IR its dialects reject")
                pass_.signal_pass_failure()
        except PassError as error:
            where = error.op.location if error.op is not None else op.location
            where.emit_error(f"{quartet_pass.name}: {error}")
            pass_.signal_pass_failure()
        except Exception:  # noqa: BLE001 - turned into a diagnostic naming the pass
            op.location.emit_error(
                f"internal error in {quartet_pass.name} (please report a bug):\n"
                + traceback.format_exc()
            )
            pass_.signal_pass_failure()

    return run


def _strip_module_wrapper(text: str) -> str:
    if text.startswith("builtin.module(") and text.endswith(")"):
        return text[len("builtin.module(") : -1]
    return text


def _split_top_level(text: str) -> Iterator[str]:
    """Split at commas outside (), {} and quotes."""
    depth, start, quote = 0, 0, False
    for index, char in enumerate(text):
        if char == '"':
            quote = not quote
        elif quote:
            continue
        elif char in "({":
            depth += 1
        elif char in ")}":
            depth -= 1
        elif char == "," and depth == 0:
            yield _nonempty(text[start:index], text)
            start = index + 1
    if depth != 0 or quote:
        raise QuartetError(f"error: unbalanced brackets or quotes in pipeline '{text}'")
    if text[start:].strip():
        yield text[start:].strip()


def _nonempty(element: str, text: str) -> str:
    if not element.strip():
        raise QuartetError(f"error: empty element in pipeline '{text}'")
    return element.strip()


def _split_element(element: str) -> tuple[str, dict[str, str]]:
    """``name{a=1 b=x}`` -> (name, {a: 1, b: x}); nested ``op(...)`` elements have no options."""
    if "(" in element and ("{" not in element or element.index("(") < element.index("{")):
        return element.split("(", 1)[0].strip(), {}
    name, brace, rest = element.partition("{")
    if not brace:
        return element.strip(), {}
    if not rest.endswith("}"):
        raise QuartetError(f"error: malformed options in pipeline element '{element}'")
    options = {}
    for item in rest[:-1].split():
        key, equals, value = item.partition("=")
        if not equals:
            raise QuartetError(f"error: option '{item}' of '{name}' is not in key=value form")
        options[key] = value
    return name.strip(), options


def _reject_nested_quartet_passes(element: str) -> None:
    if "(" not in element:
        return
    inner = element[element.index("(") + 1 : element.rindex(")")]
    for nested in _split_top_level(inner):
        if lookup(_split_element(nested)[0]) is not None:
            raise QuartetError(
                f"error: Quartet pass '{nested}' must run on the module, not nested in '{element}'"
            )


def _check_upstream(element: str) -> None:
    """Reject unknown upstream passes and options now, with MLIR's own message."""
    try:
        passmanager.PassManager.parse(f"builtin.module({element})")
    except ValueError as error:
        message = _mlir_pipeline_message(str(error))
        raise QuartetError(f"error: bad pipeline element '{element}': {message}") from None


def _mlir_pipeline_message(text: str) -> str:
    """MLIR's pipeline-parser message on one line, without its own position and caret lines."""
    lines = [line.removeprefix("<Pass-Options-Parser>: ") for line in text.splitlines()]
    lines = [line for line in lines if line.strip()]
    if lines and " error: " in lines[0]:  # "MLIR Textual PassPipeline Parser:1:N: error: ..."
        return lines[0].partition(" error: ")[2]
    return "; ".join(lines)
