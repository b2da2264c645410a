"""quartet-opt: mlir-opt with Quartet's dialects loaded and Quartet's passes in ``--pass-pipeline``.

    quartet-opt in.mlir --pass-pipeline='builtin.module(quartet-fixed-tiling,canonicalize)'
    quartet-opt in.mlir --split-input-file --verify-diagnostics

Every input (each ``// -----`` chunk with ``--split-input-file``) gets a fresh Context, is parsed
and verified (IRDL, then the semantic verifier) before any pass sees it, and every diagnostic is
printed ``file:line:col: severity: message``. Bad input exits 1; it never raises a traceback.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import traceback
import typing
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata

from mlir import ir

from quartet.diagnostics import capture_diagnostics, format_diagnostic
from quartet.dialects import create_context
from quartet.dialects.verify import verify as verify_semantics
from quartet.errors import QuartetError, from_mlir_error
from quartet.expected_diagnostics import check_diagnostics
from quartet.passes.base import ModulePass, format_value, option_name
from quartet.passes.registry import PASSES, lookup
from quartet.pipeline import PIPELINE_SOURCE, Element, format_pipeline, parse_pipeline, run_pipeline

SPLIT_MARKER = "// -----"
_SPLIT_LINE = re.compile(r"^\s*//\s*-----\s*$")


@dataclass(frozen=True)
class Options:
    """What to do with each input chunk, from the command line."""

    filename: str
    pipeline: list[Element]
    verify_diagnostics: bool
    print_ir_after_all: bool
    allow_unregistered_dialect: bool
    print_op_generic: bool


def main(argv: list[str] | None = None) -> int:
    args = _argument_parser().parse_args(_long_options(sys.argv[1:] if argv is None else argv))
    if args.version:
        print(_version())
        return 0
    if args.list_passes:
        print(list_passes())
        return 0
    try:
        pipeline = _parse_pipeline_option(args.pass_pipeline)
        if args.dump_pipeline:
            print(format_pipeline(pipeline))
            return 0
        source, filename = _read_input(args.input)
    except QuartetError as error:
        print(error, file=sys.stderr)
        return 1
    options = Options(
        filename=filename,
        pipeline=pipeline,
        verify_diagnostics=args.verify_diagnostics,
        print_ir_after_all=args.mlir_print_ir_after_all,
        allow_unregistered_dialect=args.allow_unregistered_dialect,
        print_op_generic=args.mlir_print_op_generic,
    )
    chunks = split_input(source) if args.split_input_file else [source]

    def process() -> int:
        return _process(chunks, options, args.output)

    return _in_child_process(process) if args.crash_isolation else process()


def split_input(source: str) -> list[str]:
    """The chunks between ``// -----`` lines, each padded with empty lines to keep line numbers."""
    lines = source.splitlines(keepends=True)
    chunks, start = [], 0
    for index, line in enumerate(lines):
        if _SPLIT_LINE.match(line):
            chunks.append("\n" * start + "".join(lines[start:index]))
            start = index + 1
    chunks.append("\n" * start + "".join(lines[start:]))
    return chunks


def list_passes() -> str:
    """Every Quartet pass with its summary and options, then a word on upstream passes."""
    lines = ["Quartet passes (usable in --pass-pipeline, mixed with upstream passes):"]
    for name in PASSES:
        try:
            pass_class = lookup(name)
        except ImportError as error:
            lines.append(f"  {name} - unavailable: {error}")
            continue
        lines.append(f"  {name} - {pass_class.summary()}")
        lines.extend(f"    {option}" for option in _describe_options(pass_class))
    lines.append(
        "Every upstream MLIR pass is available too, with its {key=value} options "
        "(e.g. canonicalize, cse, func.func(...)): `mlir-opt --help` lists them."
    )
    return "\n".join(lines)


def _describe_options(pass_class: type[ModulePass]) -> list[str]:
    hints = typing.get_type_hints(pass_class)
    return [
        f"{option_name(field.name)}=<{_type_name(hints[field.name])}>"
        f" (default {format_value(field.default)}) - {field.metadata.get('help', '')}"
        for field in pass_class.option_fields()
    ]


def _type_name(kind: typing.Any) -> str:
    if typing.get_origin(kind) is tuple:
        return "int-list"
    return {bool: "bool", int: "int", float: "float", str: "string"}.get(kind, str(kind))


def _process(chunks: list[str], options: Options, output_path: str) -> int:
    outputs, succeeded = [], True
    for chunk in chunks:
        output, chunk_succeeded = _process_chunk(chunk, options)
        outputs.append(output or "")
        succeeded = succeeded and chunk_succeeded
    sys.stderr.flush()
    if succeeded or any(outputs):
        try:
            _write_output(f"{SPLIT_MARKER}\n".join(outputs), output_path)
        except OSError as error:
            print(f"{output_path}: error: cannot write output: {error.strerror}", file=sys.stderr)
            return 1
    return 0 if succeeded else 1


def _process_chunk(chunk: str, options: Options) -> tuple[str | None, bool]:
    """(printed IR or None, whether the chunk passed): reports the chunk's diagnostics."""
    context = create_context()
    context.allow_unregistered_dialects = options.allow_unregistered_dialect
    failure = None
    with context, ir.Location.unknown(), capture_diagnostics(context) as diagnostics:
        try:
            output = _transform(chunk, options)
        except QuartetError as error:
            output, failure = None, str(error)
    if options.verify_diagnostics:
        problems = check_diagnostics(diagnostics, chunk, options.filename)
    else:
        problems = [format_diagnostic(d, options.filename, chunk) for d in diagnostics]
    has_error = any(d.severity == "error" for d in diagnostics)
    if failure is not None and not has_error:
        problems.append(failure)  # a failure that emitted no diagnostic of its own
    for problem in problems:
        print(problem, file=sys.stderr)
    if options.verify_diagnostics:
        return output, not problems
    return output, not has_error and failure is None


def _transform(chunk: str, options: Options) -> str:
    """Parse, verify, run the pipeline and print; raise QuartetError on any failure."""
    try:
        module = ir.Module.parse(chunk)
    except ir.MLIRError as error:
        raise from_mlir_error(error, options.filename, "parsing") from None
    if not verify_semantics(module.operation):
        raise QuartetError(f"{options.filename}: error: the semantic verifier rejected the input")
    sys.stderr.flush()  # IR dumps go straight to file descriptor 2
    run_pipeline(
        module,
        options.pipeline,
        filename=options.filename,
        print_ir_after_all=options.print_ir_after_all,
    )
    text = module.operation.get_asm(print_generic_op_form=options.print_op_generic)
    return text if text.endswith("\n") else text + "\n"


def _parse_pipeline_option(text: str) -> list[Element]:
    with create_context():
        try:
            return parse_pipeline(text)
        except QuartetError as error:
            message = str(error)
            if message.startswith("error: "):  # not located by the parser: the whole pipeline
                message = f"{PIPELINE_SOURCE}: {message}"
            raise QuartetError(message) from None


def _read_input(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    try:
        with open(path, encoding="utf-8") as file:
            return file.read(), path
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise QuartetError(f"{path}: error: could not open input file: {reason}") from None


def _write_output(text: str, path: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def _in_child_process(run: Callable[[], int]) -> int:
    """Run in a forked child so that an MLIR assertion (SIGABRT) or crash becomes exit 1."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = run()
        except BaseException:  # noqa: BLE001 - the child must reach os._exit
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        print(
            f"quartet-opt: error: crashed with {name} (an MLIR assertion or a bug in a pass; "
            "see the message above); please report it with the input",
            file=sys.stderr,
        )
        return 1
    return os.WEXITSTATUS(status)


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        self.exit(1, f"{self.prog}: error: {message}\n")


def _argument_parser() -> argparse.ArgumentParser:
    parser = _ArgumentParser(
        prog="quartet-opt",
        description="MLIR modular optimizer driver with Quartet's dialects and passes.",
    )
    parser.add_argument("input", nargs="?", default="-", help="input file (default: stdin)")
    parser.add_argument("-o", dest="output", default="-", help="output file (default: stdout)")
    parser.add_argument(
        "--pass-pipeline", default="", help="e.g. 'builtin.module(quartet-fixed-tiling,cse)'"
    )
    flags = {
        "--split-input-file": "process each chunk between '// -----' lines on its own",
        "--verify-diagnostics": "check diagnostics against expected-* comments in the input",
        "--list-passes": "list Quartet's passes and their options, then exit",
        "--dump-pipeline": "print the canonical --pass-pipeline text and exit",
        "--mlir-print-ir-after-all": "print the IR to stderr after every pass",
        "--mlir-print-op-generic": "print operations in generic form",
        "--allow-unregistered-dialect": "accept operations of unknown dialects",
        "--crash-isolation": "run in a child process: a crash becomes an error, exit 1",
        "--version": "print the versions of Quartet and MLIR, then exit",
    }
    for flag, help_text in flags.items():
        parser.add_argument(flag, action="store_true", help=help_text)
    return parser


def _long_options(argv: list[str]) -> list[str]:
    """Accept mlir-opt's single-dash spelling (``-split-input-file``) as well."""
    return [
        f"-{arg}" if arg.startswith("-") and not arg.startswith("--") and len(arg) > 2 else arg
        for arg in argv
    ]


def _version() -> str:
    def version_of(package: str) -> str:
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "unknown"

    return (
        f"quartet-opt (Quartet {version_of('quartet')}, "
        f"MLIR {version_of('xtc-mlir-python-bindings')})"
    )


if __name__ == "__main__":
    sys.exit(main())
