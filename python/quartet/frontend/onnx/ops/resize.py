"""Resize (opset 13-19): nearest (every rounding mode), linear and cubic, every
coordinate_transformation_mode, scales or sizes, axes, keep_aspect_ratio_policy,
exclude_outside, antialias and tf_crop_and_resize's extrapolation.

Shapes and scales are static, so where each output sample reads and with which weights is
known at compile time: the importer computes, per resized axis, a table of source positions
(edge-clamped) and weights in float64, and the IR applies it. Interpolation is separable, so
linear and cubic are one reduction kernel per resized axis over its taps:

    y[.., o, ..] = sum_t weight[o, t] * x[.., index[o, t], ..]     (extract at index[o, t])

and nearest is a single gather over all axes at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, is_float
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.registry import op

_TRANSFORMS = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
    "tf_crop_and_resize",
)


@dataclass(frozen=True)
class AxisPlan:
    """How one axis is resampled: source index and weight per (output position, tap), and
    the output positions that take the extrapolation value instead."""

    axis: int
    index: np.ndarray  # int64, (output, taps), inside [0, input)
    weight: np.ndarray  # float64, (output, taps)
    outside: np.ndarray | None  # bool, (output,)


@dataclass(frozen=True)
class Options:
    mode: str
    transform: str
    nearest: str
    cubic_a: float
    exclude_outside: bool
    antialias: bool


def source_coordinates(transform: str, size_in: int, size_out: int, scale: float, roi) -> tuple:
    """(x_original per output position, extrapolated mask or None): the ONNX formulas."""
    y = np.arange(size_out, dtype=np.float64)
    length = scale * size_in  # the real-valued output length
    if transform == "align_corners":
        x = np.zeros(size_out) if length == 1 else y * (size_in - 1) / (length - 1)
    elif transform == "asymmetric":
        x = y / scale
    elif transform == "pytorch_half_pixel":  # 0 for one output sample, as the spec says
        x = np.zeros(size_out) if size_out == 1 else (y + 0.5) / scale - 0.5
    elif transform == "half_pixel":
        x = (y + 0.5) / scale - 0.5
    elif transform == "half_pixel_symmetric":
        offset = size_in / 2 * (1 - size_out / length)
        x = offset + (y + 0.5) / scale - 0.5
    else:  # tf_crop_and_resize
        start, end = roi
        if length == 1:
            x = np.full(size_out, (end - start) * (size_in - 1) / 2)
        else:
            x = y * (end - start) * (size_in - 1) / (length - 1)
        x = x + start * (size_in - 1)
        return x, (x < 0) | (x > size_in - 1)
    return x, None


def _cubic(distance: np.ndarray, a: float) -> np.ndarray:
    """Keys' cubic convolution kernel with parameter ``a`` at |distance|."""
    d = np.abs(distance)
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return np.where(d <= 1, near, np.where(d < 2, far, 0.0))


def _taps(options: Options, ratio: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(tap offsets from the left neighbour, weights per output position) for ``ratio`` in
    (0, 1]: the distance of each sample from its left neighbour."""
    mode = options.mode
    if mode == "nearest":
        exact = ratio == 1.0
        right = {
            "round_prefer_floor": ratio > 0.5,
            "round_prefer_ceil": ratio >= 0.5,
            "floor": np.zeros_like(exact),
            "ceil": np.ones_like(exact),
        }[options.nearest] | exact
        weights = np.stack([~right, right], axis=1).astype(np.float64)
        return np.array([0, 1]), weights
    support = 1.0 if mode == "linear" else 2.0  # the kernel's half width
    shrink = min(scale, 1.0) if options.antialias else 1.0  # antialias widens it when downsampling
    first = int(math.floor(-support / shrink) + 1)
    offsets = (
        np.arange(first, 2 - first)
        if options.antialias
        else np.arange(1 - int(support), int(support) + 1)
    )
    distance = (offsets[None, :] - ratio[:, None]) * shrink
    if mode == "linear":
        weights = np.clip(1 - np.abs(distance), 0, 1)
    else:
        weights = _cubic(distance, options.cubic_a)
    if options.antialias:
        weights = weights / weights.sum(axis=1, keepdims=True)
    return offsets, weights


def plan_axis(
    options: Options, axis: int, size_in: int, size_out: int, scale: float, roi
) -> AxisPlan:
    x, outside = source_coordinates(options.transform, size_in, size_out, scale, roi)
    left = np.floor(x)
    exact = x == left
    left = np.where(exact, left - 1, left).astype(np.int64)  # an exact sample is a right neighbour
    ratio = np.where(exact, 1.0, x - np.floor(x))
    offsets, weights = _taps(options, ratio, scale)
    index = left[:, None] + offsets[None, :]
    if options.exclude_outside:
        weights = np.where((index < 0) | (index >= size_in), 0.0, weights)
        total = weights.sum(axis=1, keepdims=True)
        weights = weights / np.where(total == 0, 1.0, total)
    return AxisPlan(axis, np.clip(index, 0, size_in - 1), weights, outside)


def _output_sizes(ctx: NodeContext, x: Tensor, axes: list[int]) -> tuple[list[int], list[float]]:
    """(output size, scale factor) per dim from the scales or sizes input."""
    scales_value = ctx.const_input(2, "the scales") if ctx.input(2) is not None else None
    sizes_value = ctx.const_input(3, "the sizes") if ctx.input(3) is not None else None
    if scales_value is not None and scales_value.size == 0:
        scales_value = None
    sizes = list(x.shape)
    scales = [1.0] * x.rank
    if sizes_value is not None and sizes_value.size:
        wanted = [int(v) for v in sizes_value.reshape(-1)]
        if len(wanted) != len(axes):
            raise ctx.error(f"sizes {wanted} do not match the {len(axes)} resized axes")
        ratios = [wanted[i] / x.shape[a] for i, a in enumerate(axes)]
        policy = ctx.attr("keep_aspect_ratio_policy", "stretch")
        if policy in ("not_larger", "not_smaller"):
            common = min(ratios) if policy == "not_larger" else max(ratios)
            ratios = [common] * len(axes)
            wanted = [int(common * x.shape[a] + 0.5) for a in axes]
        elif policy != "stretch":
            raise ctx.error(f"keep_aspect_ratio_policy {policy!r} is not supported")
        for i, a in enumerate(axes):
            sizes[a], scales[a] = wanted[i], ratios[i]
        return sizes, scales
    if scales_value is None:
        raise ctx.error("one of scales and sizes must be given")
    factors = [float(v) for v in scales_value.reshape(-1)]
    if len(factors) != len(axes):
        raise ctx.error(f"scales {factors} do not match the {len(axes)} resized axes")
    for i, a in enumerate(axes):
        if factors[i] <= 0:
            raise ctx.error(f"scale {factors[i]} must be positive")
        scales[a] = factors[i]
        sizes[a] = int(factors[i] * x.shape[a])
    return sizes, scales


@op("Resize", compile_time=(1, 2, 3))
def resize(ctx: NodeContext):
    x = ctx.inputs[0]
    if not is_float(x.dtype):
        raise ctx.error(f"element type {x.dtype} is not supported (floats only)")
    options = Options(
        mode=ctx.attr("mode", "nearest"),
        transform=ctx.attr("coordinate_transformation_mode", "half_pixel"),
        nearest=ctx.attr("nearest_mode", "round_prefer_floor"),
        cubic_a=ctx.attr("cubic_coeff_a", -0.75),
        exclude_outside=bool(ctx.attr("exclude_outside", 0)),
        antialias=bool(ctx.attr("antialias", 0)),
    )
    if options.mode not in ("nearest", "linear", "cubic"):
        raise ctx.error(f"mode {options.mode!r} is not supported")
    if options.transform not in _TRANSFORMS:
        raise ctx.error(f"coordinate_transformation_mode {options.transform!r} is not supported")
    if options.mode == "nearest" and options.antialias:
        raise ctx.error("antialias applies to linear and cubic modes only")
    axes = [ctx.axis(a, x.rank) for a in (ctx.attr("axes") or range(x.rank))]
    sizes, scales = _output_sizes(ctx, x, axes)
    roi = _roi(ctx, x, axes)
    plans = []
    for a in axes:
        same = sizes[a] == x.shape[a] and math.isclose(scales[a], 1.0)
        if same and (
            roi is None or (math.isclose(roi[a][0], 0.0) and math.isclose(roi[a][1], 1.0))
        ):
            continue  # identity along this axis
        plans.append(
            plan_axis(options, a, x.shape[a], sizes[a], scales[a], None if roi is None else roi[a])
        )
    if any(size == 0 for size in sizes):
        return Tensor.constant(np.zeros(sizes, x.dtype))
    if not plans:
        return ctx.emit.copy(x)
    if options.mode == "nearest":
        return _gather(ctx, x, plans, ctx.attr("extrapolation_value", 0.0))
    for plan in plans:
        x = _interpolate(ctx, x, plan, ctx.attr("extrapolation_value", 0.0))
    return x


def _roi(ctx: NodeContext, x: Tensor, axes: list[int]):
    """Per dim (start, end) of the region of interest (tf_crop_and_resize only)."""
    if ctx.attr("coordinate_transformation_mode", "half_pixel") != "tf_crop_and_resize":
        return None
    value = ctx.const_input(1, "the roi")
    if value is None or value.size != 2 * len(axes):
        raise ctx.error("tf_crop_and_resize needs a roi of 2 values per resized axis")
    flat = [float(v) for v in value.reshape(-1)]
    roi = [(0.0, 1.0)] * x.rank
    for i, a in enumerate(axes):
        roi[a] = (flat[i], flat[len(axes) + i])
    return roi


def _gather(ctx: NodeContext, x: Tensor, plans: list[AxisPlan], extrapolation: float) -> Tensor:
    """Nearest: y[o0, o1, ..] = x[index0[o0], index1[o1], ..] in one kernel."""
    shape = list(x.shape)
    operands = []
    for plan in plans:
        chosen = np.take_along_axis(plan.index, plan.weight.argmax(axis=1)[:, None], axis=1)[:, 0]
        shape[plan.axis] = len(chosen)
        operands.append(Operand(Tensor.constant(chosen.astype(np.int64)), [f"d{plan.axis}"]))
    masks = [
        (i, plan) for i, plan in enumerate(plans) if plan.outside is not None and plan.outside.any()
    ]
    for _, plan in masks:
        operands.append(Operand(Tensor.constant(plan.outside), [f"d{plan.axis}"]))
    ctx.emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        coords = [b.index(i) for i in range(x.rank)]
        for plan, value in zip(plans, args, strict=False):
            coords[plan.axis] = b.to_index(value, np.int64)
        result = b.extract(x, coords)
        for k, _ in enumerate(masks):
            result = b.select(
                b.to_bool(args[len(plans) + k]), b.const(extrapolation, x.dtype), result, x.dtype
            )
        return result

    return ctx.emit.generic(shape, x.dtype, operands, body)


def _interpolate(ctx: NodeContext, x: Tensor, plan: AxisPlan, extrapolation: float) -> Tensor:
    """One axis resampled: a reduction over the taps of the weighted source elements."""
    dtype, axis = x.dtype, plan.axis
    shape = list(x.shape)
    shape[axis] = plan.index.shape[0]
    tap = f"d{x.rank}"
    operands = [
        Operand(Tensor.constant(plan.index), [f"d{axis}", tap]),
        Operand(Tensor.constant(plan.weight.astype(dtype)), [f"d{axis}", tap]),
    ]
    ctx.emit.ssa(x)

    def body(b: Body, args: list[str]) -> str:
        source, weight, acc = args
        coords = [b.index(i) for i in range(x.rank)]
        coords[axis] = b.to_index(source, np.int64)
        term = s.binary(b, "mul", weight, b.extract(x, coords), dtype)
        return s.binary(b, "add", acc, term, dtype)

    result = ctx.emit.generic(
        shape,
        dtype,
        operands,
        body,
        reductions=[plan.index.shape[1]],
        init=ctx.emit.fill(shape, dtype, 0),
    )
    if plan.outside is None or not plan.outside.any():
        return result
    mask = Operand(Tensor.constant(plan.outside), [f"d{axis}"])
    identity = [f"d{i}" for i in range(x.rank)]

    def extrapolate(b: Body, args: list[str]) -> str:
        return b.select(b.to_bool(args[1]), b.const(extrapolation, dtype), args[0], dtype)

    return ctx.emit.generic(shape, dtype, [Operand(result, identity), mask], extrapolate)
