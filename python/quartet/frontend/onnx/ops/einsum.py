"""Einsum as one generic contraction: each output subscript is a parallel loop, each summed
one a reduction loop, and each operand is read through the affine map its subscripts spell
(a repeated subscript reads a diagonal, ``...`` broadcasts like numpy):

    Einsum("bij,bjk->bik")  ->  loops (b, i, k | j): acc + x[b, i, j] * y[b, j, k]

Without ``->`` the output is the subscripts that appear once, in alphabetical order, after
the broadcast dims.
"""

from __future__ import annotations

import re
from collections import Counter

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Operand, is_bool
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.precision import accumulator, cast_to
from quartet.frontend.onnx.registry import op

_TERM = re.compile(r"^(?:[A-Za-z]|\.\.\.)*$")


def _parse(ctx: NodeContext, equation: str, count: int) -> tuple[list[list[str]], list[str]]:
    """(subscripts per operand, output subscripts); ``...`` is kept as one token."""
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != count or not all(_TERM.match(t) for t in [*terms, output]):
        raise ctx.error(f"equation {equation!r} does not describe {count} operands")
    tokens = [re.findall(r"\.\.\.|[A-Za-z]", t) for t in terms]
    if arrow:
        return tokens, re.findall(r"\.\.\.|[A-Za-z]", output)
    counts = Counter(letter for term in tokens for letter in term if letter != "...")
    implicit = sorted(letter for letter, n in counts.items() if n == 1)
    has_ellipsis = any("..." in term for term in tokens)
    return tokens, (["..."] if has_ellipsis else []) + implicit


@op("Einsum")
def einsum(ctx: NodeContext):
    tensors = ctx.inputs
    dtype = tensors[0].dtype
    if any(t.dtype != dtype for t in tensors) or is_bool(dtype):
        raise ctx.error("operands must share one numeric element type")
    terms, output = _parse(ctx, ctx.attr("equation", ""), len(tensors))
    sizes: dict[str, int] = {}
    broadcast = 0
    for term, t in zip(terms, tensors, strict=True):
        named = [letter for letter in term if letter != "..."]
        if len(named) > t.rank or ("..." not in term and len(named) != t.rank):
            raise ctx.error(f"subscripts {''.join(term)} do not fit an operand of rank {t.rank}")
        broadcast = max(broadcast, t.rank - len(named))
    # the broadcast dims' sizes, aligned right across operands
    spread = [1] * broadcast
    expanded = []
    for term, t in zip(terms, tensors, strict=True):
        width = t.rank - sum(letter != "..." for letter in term)
        letters = []
        for letter in term:
            if letter == "...":
                letters += [f"...{broadcast - width + i}" for i in range(width)]
            else:
                letters.append(letter)
        for letter, size in zip(letters, t.shape, strict=True):
            if letter.startswith("..."):
                position = int(letter[3:])
                spread[position] = max(spread[position], size)
                continue
            if sizes.setdefault(letter, size) != size:
                raise ctx.error(f"subscript {letter!r} has sizes {sizes[letter]} and {size}")
        expanded.append(letters)
    out_letters = []
    for letter in output:
        if letter == "...":
            out_letters += [f"...{i}" for i in range(broadcast)]
        elif letter not in sizes:
            raise ctx.error(f"output subscript {letter!r} appears in no operand")
        else:
            out_letters.append(letter)
    size_of = {**sizes, **{f"...{i}": n for i, n in enumerate(spread)}}
    summed = [
        letter
        for letter in dict.fromkeys(x for term in expanded for x in term)
        if letter not in out_letters
    ]
    loops = {letter: i for i, letter in enumerate([*out_letters, *summed])}
    if not out_letters:  # a scalar result still has one (unit) output loop
        loops = {letter: i + 1 for i, letter in enumerate(summed)}
    operands = []
    for letters, t in zip(expanded, tensors, strict=True):
        indices = [
            "0"
            if letter.startswith("...") and size == 1 and size_of[letter] != 1
            else f"d{loops[letter]}"
            for letter, size in zip(letters, t.shape, strict=True)
        ]
        operands.append(Operand(t, indices or ["0"]))
    shape = [size_of[letter] for letter in out_letters]
    wide = accumulator(dtype)

    def body(b, args):
        product = s.cast(b, args[0], dtype, wide)
        for value in args[1 : len(operands)]:
            product = s.binary(b, "mul", product, s.cast(b, value, dtype, wide), wide)
        return s.binary(b, "add", args[len(operands)], product, wide)

    total = ctx.emit.generic(
        shape,
        wide,
        operands,
        body,
        reductions=[size_of[letter] for letter in summed],
        init=ctx.emit.fill(shape, wide, 0),
    )
    return cast_to(ctx, total, dtype)
