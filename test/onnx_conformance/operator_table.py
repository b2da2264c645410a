"""The operator table of docs/frontend.md, from the importer's registry, ONNX's schemas and the
node tests: per default-domain operator its opsets, its status and how many of the node tests
that contain it pass on the CPU and through PTX in the emulator (every selected case passes
except those in expected_failures.txt, which the suite checks strictly, so the counts follow
from the selection without running anything).

    python test/onnx_conformance/operator_table.py    # prints the Markdown table
"""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path

import onnx

sys.path.insert(0, str(Path(__file__).parent))
from harness import all_cases, expected_failures, selected_cases  # noqa: E402

from quartet.frontend.onnx.importer import all_nodes  # noqa: E402
from quartet.frontend.onnx.loader import MIN_OPSET  # noqa: E402
from quartet.frontend.onnx.registry import REFUSED, supported_ops  # noqa: E402

# What a supported operator still lacks (the importer raises a located error for each).
PARTLY = {
    "BatchNormalization": "inference only (training_mode is refused)",
    "Dropout": "inference only",
    "MaxPool": "no Indices output",
    "Loop": "no scan outputs with a computed exit condition",
    "Cast": "no float8, float4, int2/uint2 or bfloat16",
    "CastLike": "no float8, float4, int2/uint2 or bfloat16",
    "QuantizeLinear": "integer targets only (no float8/float4, no int2/uint2)",
    "DequantizeLinear": "integer inputs only (no float8/float4, no int2/uint2)",
    "QLinearMatMul": "per-tensor a_scale and y_scale",
    "Attention": "no bfloat16",
    "Einsum": "no bfloat16",
    "Compress": "the condition must be known at compile time",
    "TopK": "K must be known at compile time",
}
# Deprecated operators that older models' conversion to opset 13 rewrites into supported ones.
CONVERTED = {"Upsample": "Resize"}
LATEST = onnx.defs.onnx_opset_version()


def _opsets() -> dict[str, str]:
    """op -> the opsets it exists in (deprecated ones end where their deprecation starts);
    older models are converted to opset MIN_OPSET, so importing starts there."""
    first, deprecated = {}, {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain != "":
            continue
        if schema.deprecated:
            deprecated[schema.name] = schema.since_version
        else:
            first[schema.name] = min(first.get(schema.name, LATEST), schema.since_version)
    spans = {op: f"{max(version, MIN_OPSET)}-{LATEST}" for op, version in first.items()}
    spans |= {op: f"{first[op]}-{end - 1} (converted)" for op, end in deprecated.items()}
    return spans


def _counts() -> dict[str, list[int]]:
    """op -> [cases containing it, passing on the CPU, passing through PTX]."""
    failures = expected_failures()
    selected = set(selected_cases())
    counts = defaultdict(lambda: [0, 0, 0])
    for name, case in all_cases().items():
        reason = failures.get(name, "")
        cpu = name in selected and not reason.startswith(("cpu:", "abort:"))
        ptx = cpu and not reason.startswith("ptx:")
        for op_type in {
            n.op_type for n in all_nodes(case.model.graph) if n.domain in ("", "ai.onnx")
        }:
            entry = counts[op_type]
            entry[0] += 1
            entry[1] += cpu
            entry[2] += ptx
    return counts


def rows() -> list[tuple[str, str, str, str, str]]:
    """(operator, opsets, status, node tests passing on CPU / PTX, node tests) per
    default-domain operator."""
    supported = set(supported_ops())
    counts = _counts()
    table = []
    for op_type, opsets in sorted(_opsets().items()):
        if op_type in supported:
            status = f"partly: {PARTLY[op_type]}" if op_type in PARTLY else "supported"
        elif op_type in CONVERTED:
            status = f"supported: converted to {CONVERTED[op_type]}"
        else:
            status = f"refused: {REFUSED[op_type]}" if op_type in REFUSED else "not supported"
        total, cpu, ptx = counts.get(op_type, (0, 0, 0))
        table.append((op_type, opsets, status, f"{cpu} / {ptx}" if total else "-", str(total)))
    return table


def markdown() -> str:
    lines = [
        "| operator | opsets | status | node tests passing (CPU / PTX) | node tests |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
