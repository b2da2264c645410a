"""Operators that read through computed indices (resampling, gathers, paddings, windows, reversed
slices, scans), at shapes where those indices reach an edge: the last row and column, axes of
size 1, tiles that overhang the tensor, upsampling and downsampling. Each model is compiled for
sm_90 with Welder's fusion and with none, and checked against onnxruntime on the CPU run and in
the PTX emulator with every checker on (a read out of bounds is an error there even where the
value read is never stored, as it would be on a GPU)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from models import make_model
from onnx import TensorProto, helper, numpy_helper

from quartet.frontend.onnx import compile_model
from quartet.frontend.onnx.check import reference_outputs
from quartet.runtime.emulated import EmulatedDevice

pytest.importorskip("onnxruntime", reason="the models are checked against onnxruntime")

FLOAT = TensorProto.FLOAT
LOWEST = np.iinfo(np.int64).min  # a Slice end before the first element, for negative steps
node = helper.make_node
TRANSFORMS = (
    "half_pixel",
    "half_pixel_symmetric",
    "pytorch_half_pixel",
    "align_corners",
    "asymmetric",
)
NEAREST_MODES = ("round_prefer_floor", "round_prefer_ceil", "floor", "ceil")
# Resize's scales and regions of interest are exact in float32, and give whole output lengths
# (8 x 6 -> 16 x 9 and 6 x 3). Otherwise the references part: onnxruntime computes source
# coordinates in float32 and ONNX's reference in float64 (a position like 0.1 * 5 falls on one
# side of a rounding tie or the other), and for a fractional scale x length, align_corners
# divides by the fractional length in ONNX's reference and node tests (which Quartet follows)
# and by the whole one in onnxruntime.
RESIZED = [1, 3, 8, 6]
UP, DOWN = [1, 1, 2, 1.5], [1, 1, 0.75, 0.5]


class Graph:
    """A model under construction: input ``x`` through a Neg into the operators under test,
    each result through another Neg into an output (a producer and a consumer Welder may fuse
    with them); output shapes are left to shape inference."""

    def __init__(self, shape, opset: int = 19, seed: int = 0):
        self.rng = np.random.default_rng(seed)
        self.opset = opset
        self.nodes = [node("Neg", ["x"], ["xn"])]
        self.inputs = [("x", FLOAT, list(shape))]
        self.feeds = {"x": self.rng.normal(size=shape).astype(np.float32)}
        self.inits: list[tuple[str, np.ndarray]] = []
        self.outputs: list[str] = []

    def const(self, name: str, value, dtype=np.int64) -> str:
        self.inits.append((name, np.asarray(value, dtype)))
        return name

    def weights(self, name: str, shape) -> str:
        return self.const(name, self.rng.normal(0, 0.3, shape), np.float32)

    def feed(self, name: str, value, dtype=np.int64) -> str:
        """A graph input of integers (indices, lengths), fed at run time."""
        value = np.asarray(value, dtype)
        kind = helper.np_dtype_to_tensor_dtype(value.dtype)
        self.inputs.append((name, kind, list(value.shape)))
        self.feeds[name] = value
        return name

    def add(self, op_type: str, inputs, name: str, **attrs) -> None:
        """An operator under test whose result ``name`` becomes an output."""
        self.nodes.append(node(op_type, inputs, [name], **attrs))
        self.nodes.append(node("Neg", [name], [f"{name}_out"]))
        self.outputs.append(f"{name}_out")

    def build(self):
        """(model, feeds), the output shapes from ONNX's shape inference."""
        draft = helper.make_model(
            helper.make_graph(
                self.nodes,
                "edge_reads",
                [helper.make_tensor_value_info(n, t, s) for n, t, s in self.inputs],
                [helper.make_tensor_value_info(name, FLOAT, None) for name in self.outputs],
                [numpy_helper.from_array(value, name) for name, value in self.inits],
            ),
            opset_imports=[helper.make_opsetid("", self.opset)],
        )
        inferred = onnx.shape_inference.infer_shapes(draft, strict_mode=True).graph.output
        outputs = [
            (out.name, FLOAT, [_length(dim) for dim in out.type.tensor_type.shape.dim])
            for out in inferred
        ]
        model = make_model(self.nodes, self.inputs, outputs, self.inits, opset=self.opset)
        return model, self.feeds


def _length(dim) -> int | None:
    """An inferred dimension's length, None where inference leaves it open (Compress)."""
    return dim.dim_value if dim.HasField("dim_value") else None


# -- Resize -------------------------------------------------------------------------------


def _resize(graph: Graph, name: str, scales=None, sizes=None, roi=(), **attrs) -> None:
    inputs = ["xn", graph.const(f"{name}_roi", roi, np.float32)]
    if sizes is None:
        inputs.append(graph.const(f"{name}_scales", scales, np.float32))
    else:
        inputs += ["", graph.const(f"{name}_sizes", sizes)]
    graph.add("Resize", inputs, name, **attrs)


def resize_nearest(scales):
    """Every nearest_mode under every coordinate transform."""
    graph = Graph(RESIZED)
    for transform in TRANSFORMS:
        for rounding in NEAREST_MODES:
            _resize(
                graph,
                f"{transform}_{rounding}",
                scales,
                mode="nearest",
                coordinate_transformation_mode=transform,
                nearest_mode=rounding,
            )
    return graph.build()


def resize_interpolating(mode: str, scales):
    """``mode`` (linear or cubic) under every coordinate transform, with antialias, and
    cubic's exclude_outside and coefficient."""
    graph = Graph(RESIZED)
    for transform in TRANSFORMS:
        _resize(graph, transform, scales, mode=mode, coordinate_transformation_mode=transform)
    _resize(graph, "antialias", scales, mode=mode, antialias=1)
    if mode == "cubic":
        _resize(graph, "exclude_outside", scales, mode=mode, exclude_outside=1)
        _resize(graph, "coefficient", scales, mode=mode, cubic_coeff_a=-0.5)
    return graph.build()


def resize_crop():
    """tf_crop_and_resize in every mode: a region of interest reaching past both ends
    (extrapolated) and one inside."""
    graph = Graph(RESIZED)
    regions = {
        "outer": [0, 0, -0.25, 0.125, 1, 1, 1.25, 0.75],
        "inner": [0, 0, 0.125, 0.25, 1, 1, 0.875, 1.0],
    }
    for mode in ("nearest", "linear", "cubic"):
        for label, roi in regions.items():
            _resize(
                graph,
                f"{mode}_{label}",
                sizes=[1, 3, 6, 4],
                roi=roi,
                mode=mode,
                coordinate_transformation_mode="tf_crop_and_resize",
                extrapolation_value=2.5,
            )
    return graph.build()


def resize_unit_axes():
    """Axes of size 1 in and out, and resized axes named by ``axes``."""
    graph = Graph([1, 2, 1, 5])
    for mode in ("nearest", "linear", "cubic"):
        for transform in ("half_pixel", "pytorch_half_pixel", "align_corners"):
            _resize(
                graph,
                f"{mode}_{transform}",
                sizes=[1, 2, 3, 1],
                mode=mode,
                coordinate_transformation_mode=transform,
            )
        scales = graph.const(f"{mode}_axes_scales", [3.0, 0.4], np.float32)
        graph.add("Resize", ["xn", "", scales], f"{mode}_axes", mode=mode, axes=[2, 3])
    return graph.build()


def resize_overhanging_tiles():
    """Each mode on 7 channels of 16 x 16, where a block's tile of channels overhangs the
    last one (it computes past it, and stores only what lies inside)."""
    graph = Graph([1, 7, 16, 16])
    for mode in ("nearest", "linear", "cubic"):
        _resize(graph, mode, [1, 1, 2, 2], mode=mode)
    return graph.build()


def unet():
    """Issue 15's model: Conv (stride 2, pad 1) -> Relu -> ConvTranspose (stride 2) -> Concat
    with the input -> bilinear Resize x2 (half_pixel), opset 17. Its Resize read past the end
    of the 7-channel concatenation in blocks whose channel tile overhangs it."""
    rng = np.random.default_rng(0)
    shape = [1, 3, 16, 16]
    inits = [
        ("w1", rng.normal(0, 0.3, (8, 3, 3, 3)).astype(np.float32)),
        ("b1", rng.normal(0, 0.1, 8).astype(np.float32)),
        ("wt", rng.normal(0, 0.3, (8, 4, 2, 2)).astype(np.float32)),
        ("bt", rng.normal(0, 0.1, 4).astype(np.float32)),
        ("roi", np.zeros(0, np.float32)),
        ("scales", np.array([1, 1, 2, 2], np.float32)),
    ]
    nodes = [
        node("Conv", ["x", "w1", "b1"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
        node("Relu", ["c"], ["r"]),
        node("ConvTranspose", ["r", "wt", "bt"], ["u"], strides=[2, 2]),
        node("Concat", ["u", "x"], ["cat"], axis=1),
        node("Resize", ["cat", "roi", "scales"], ["y"], mode="linear"),
    ]
    model = make_model(nodes, [("x", FLOAT, shape)], [("y", FLOAT, [1, 7, 32, 32])], inits, 17)
    return model, {"x": rng.normal(size=shape).astype(np.float32)}


# -- Pad, Slice, Tile, Concat, Split ---------------------------------------------------------


def pads():
    """Every mode, growing by more than one element and cropping, next to an axis of size 1."""
    graph = Graph([1, 3, 5, 1])
    amounts = {
        "grow": [0, 0, 2, 1, 0, 1, 3, 2],  # before, per dim, then after
        "crop": [0, 0, -1, 0, 0, 1, -2, 0],
    }
    value = graph.const("value", 1.5, np.float32)
    for mode in ("constant", "edge", "reflect", "wrap"):
        for label, pads_value in amounts.items():
            if mode == "reflect" and label == "grow":
                continue  # reflecting the axis of size 1: onnxruntime refuses it
            extra = [value] if mode == "constant" else []
            inputs = ["xn", graph.const(f"{mode}_{label}_pads", pads_value), *extra]
            graph.add("Pad", inputs, f"{mode}_{label}", mode=mode)
    return graph.build()


def pads_on_axes():
    """Reflect, edge and wrap as long as the axis allows, on the axes ``axes`` names."""
    graph = Graph([2, 3, 4, 5])
    amounts = graph.const("amounts", [3, 1, 2, 4])  # axes 2 and -1: before, then after
    axes = graph.const("axes", [2, -1])
    for mode in ("reflect", "edge", "wrap"):
        graph.add("Pad", ["xn", amounts, "", axes], mode, mode=mode)
    return graph.build()


def slices():
    """Negative steps from the last element, from past the end, to the first and to before
    it; a step longer than the axis; a prefix (read through computed indices)."""
    graph = Graph([2, 5, 7])
    cases = {  # starts, ends, axes, steps
        "reverse_all": ([-1, -1, -1], [LOWEST, LOWEST, LOWEST], [0, 1, 2], [-1, -1, -1]),
        "reverse_step": ([10, 6], [LOWEST, 0], [1, 2], [-2, -3]),
        "reverse_inner": ([3, -2], [0, 1], [1, 2], [-1, -2]),
        "long_step": ([6], [LOWEST], [2], [-9]),
        "prefix": ([0], [3], [2], [1]),
    }
    for name, values in cases.items():
        parts = ("starts", "ends", "axes", "steps")
        inputs = [graph.const(f"{name}_{part}", v) for part, v in zip(parts, values, strict=True)]
        graph.add("Slice", ["xn", *inputs], name)
    return graph.build()


def tile_concat_split():
    """Tile of an axis of size 1, Concat with a part of size 1, Split into unequal parts."""
    graph = Graph([1, 3, 5])
    graph.add("Tile", ["xn", graph.const("repeats", [3, 1, 2])], "tile")
    first = [
        graph.const("row_start", [0]),
        graph.const("row_end", [1]),
        graph.const("row_axis", [1]),
    ]
    graph.nodes.append(node("Slice", ["xn", *first], ["row"]))
    graph.add("Concat", ["xn", "row", "xn"], "concat", axis=1)
    graph.nodes.append(
        node("Split", ["xn", graph.const("split", [1, 3, 1])], ["p0", "p1", "p2"], axis=-1)
    )
    for i in range(3):
        graph.add("Identity", [f"p{i}"], f"split{i}")
    return graph.build()


def crops_and_selections():
    """CenterCropPad cropping one axis and padding another (odd differences), Compress along
    an axis with its first and last element kept, DepthToSpace in both modes."""
    graph = Graph([1, 4, 5, 6])
    shape = graph.const("crop_shape", [4, 9], np.int64)
    graph.add("CenterCropPad", ["xn", shape], "center_crop_pad", axes=[2, 3])
    kept = graph.const("kept", [True, False, False, True, True, False], np.bool_)
    graph.add("Compress", ["xn", kept], "compress", axis=3)
    graph.add("DepthToSpace", ["xn"], "depth_dcr", blocksize=2, mode="DCR")
    graph.add("DepthToSpace", ["xn"], "depth_crd", blocksize=2, mode="CRD")
    return graph.build()


# -- gathers -----------------------------------------------------------------------------


def gathers():
    """Gather along the first, middle and last axis at the first and last index, negative
    indices, a scalar index; GatherElements along the last and first axis; GatherND with and
    without batch dims; indices fed at run time and constant."""
    graph = Graph([3, 5, 7])
    middle = graph.feed("middle_indices", [[4, 0, -1], [-5, 2, 4]])
    graph.add("Gather", ["xn", middle], "middle", axis=1)
    graph.add("Gather", ["xn", graph.const("last_indices", [6, -1, 0, -7])], "last", axis=-1)
    graph.add("Gather", ["xn", graph.const("first_indices", [2, 0])], "first", axis=0)
    graph.add("Gather", ["xn", graph.feed("scalar_index", -1)], "scalar", axis=1)
    elements = graph.feed("element_indices", graph.rng.integers(-7, 7, (3, 5, 2)))
    graph.add("GatherElements", ["xn", elements], "elements_last", axis=2)
    rows = graph.const("row_indices", [[[2, 0, -1, 1, -3, 2, 0]]])
    graph.add("GatherElements", ["xn", rows], "elements_first", axis=0)
    graph.add("GatherND", ["xn", graph.feed("nd_indices", [[2, 4], [-1, -1], [0, -5]])], "nd")
    batched = graph.const("batched_indices", [[[4]], [[0]], [[-1]]])
    graph.add("GatherND", ["xn", batched], "nd_batch", batch_dims=1)
    return graph.build()


def scatters():
    """ScatterElements along the last axis and ScatterND of rows, at the first and last
    positions and negative ones, with the updates read at their own edges."""
    graph = Graph([3, 5, 7])
    targets = graph.feed("element_targets", [[[6, 0, -1]], [[-7, 3, 5]], [[2, 4, 0]]])
    updates = graph.weights("element_updates", (3, 1, 3))
    graph.add("ScatterElements", ["xn", targets, updates], "elements", axis=2, reduction="add")
    rows = graph.feed("row_targets", [[2, 4], [0, -5], [-1, 3]])
    graph.add("ScatterND", ["xn", rows, graph.weights("row_updates", (3, 7))], "nd")
    return graph.build()


# -- windows -------------------------------------------------------------------------------


def convolutions():
    """Conv with asymmetric pads, strides, dilations, SAME_UPPER and SAME_LOWER, depthwise; an
    odd map whose channel count no tile divides."""
    graph = Graph([1, 5, 7, 9])
    w = graph.weights("w", (3, 5, 3, 3))
    graph.add("Conv", ["xn", w], "strided", pads=[1, 2, 2, 0], strides=[2, 2])
    graph.add("Conv", ["xn", w], "dilated", pads=[2, 2, 2, 2], dilations=[2, 2])
    graph.add("Conv", ["xn", w], "same_upper", auto_pad="SAME_UPPER", strides=[2, 2])
    graph.add("Conv", ["xn", w], "same_lower", auto_pad="SAME_LOWER", strides=[2, 2])
    depthwise = graph.weights("wd", (5, 1, 3, 2))
    graph.add("Conv", ["xn", depthwise], "depthwise", pads=[1, 0, 1, 1], group=5)
    return graph.build()


def pools():
    """MaxPool and AveragePool with pads and ceil_mode (a last window partly past the input),
    count_include_pad both ways, dilations, LpPool; next to an axis of size 1."""
    graph = Graph([1, 3, 7, 1])
    window = {"kernel_shape": [3, 1], "strides": [2, 1], "pads": [1, 0, 2, 0]}
    dilated = {"kernel_shape": [2, 1], "strides": [2, 1], "pads": [1, 0, 1, 0], "dilations": [3, 1]}
    graph.add("MaxPool", ["xn"], "max", **window)
    graph.add("MaxPool", ["xn"], "max_ceil", ceil_mode=1, **window)
    graph.add("MaxPool", ["xn"], "max_dilated", **dilated)
    graph.add("AveragePool", ["xn"], "average_ceil", ceil_mode=1, **window)
    graph.add("AveragePool", ["xn"], "average_pads", ceil_mode=1, count_include_pad=1, **window)
    graph.add("LpPool", ["xn"], "lp", p=3, **window)
    return graph.build()


def conv_transposes():
    """ConvTranspose with strides, pads, output_padding, dilations, groups, output_shape."""
    graph = Graph([1, 4, 3, 5])
    w = graph.weights("w", (4, 3, 3, 2))
    strided = {"strides": [2, 2], "pads": [1, 0, 1, 1]}
    graph.add("ConvTranspose", ["xn", w], "strided", **strided)
    graph.add("ConvTranspose", ["xn", w], "output_padding", output_padding=[1, 1], **strided)
    graph.add("ConvTranspose", ["xn", w], "dilated", dilations=[2, 3])
    grouped = graph.weights("wg", (4, 1, 2, 2))
    graph.add(
        "ConvTranspose", ["xn", grouped], "grouped", group=2, strides=[3, 3], output_shape=[9, 14]
    )
    return graph.build()


# -- scans and sequences -------------------------------------------------------------------


def cumulative():
    """CumSum forward and reverse, inclusive and exclusive, along an axis of size 1 and one
    long enough to be scanned in blocks (with a partial last block)."""
    graph = Graph([1, 3, 131])
    for axis in (0, 2):
        axis_input = graph.const(f"axis{axis}", axis)
        for reverse in (0, 1):
            for exclusive in (0, 1):
                name = f"cumsum{axis}_reverse{reverse}_exclusive{exclusive}"
                graph.add("CumSum", ["xn", axis_input], name, reverse=reverse, exclusive=exclusive)
    return graph.build()


def recurrent(kind: str):
    """``kind`` (RNN, GRU or LSTM) over both directions, with sequence lengths of the whole
    sequence, 1 and in between: each direction's time index reaches both ends."""
    steps, batch, features, hidden = 5, 3, 4, 6
    graph = Graph([steps, batch, features])
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    w = graph.weights("W", (2, gates * hidden, features))
    r = graph.weights("R", (2, gates * hidden, hidden))
    b = graph.weights("B", (2, 2 * gates * hidden))
    lengths = graph.feed("lengths", [steps, 1, 3], np.int32)
    graph.add(kind, ["xn", w, r, b, lengths], "y", hidden_size=hidden, direction="bidirectional")
    return graph.build()


def reverse_sequence():
    """ReverseSequence with lengths 1 and the whole sequence, the time axis first and second."""
    graph = Graph([4, 3, 5])
    lengths = graph.feed("lengths", [4, 1, 3])
    graph.add("ReverseSequence", ["xn", lengths], "time_first", time_axis=0, batch_axis=1)
    graph.nodes.append(node("Transpose", ["xn"], ["batch_first"], perm=[1, 0, 2]))
    graph.add("ReverseSequence", ["batch_first", lengths], "time_second", time_axis=1, batch_axis=0)
    return graph.build()


MODELS = {
    "unet": unet,
    "resize_nearest_up": lambda: resize_nearest(UP),
    "resize_nearest_down": lambda: resize_nearest(DOWN),
    "resize_linear_up": lambda: resize_interpolating("linear", UP),
    "resize_linear_down": lambda: resize_interpolating("linear", DOWN),
    "resize_cubic_up": lambda: resize_interpolating("cubic", UP),
    "resize_cubic_down": lambda: resize_interpolating("cubic", DOWN),
    "resize_crop": resize_crop,
    "resize_unit_axes": resize_unit_axes,
    "resize_overhanging_tiles": resize_overhanging_tiles,
    "pads": pads,
    "pads_on_axes": pads_on_axes,
    "slices": slices,
    "tile_concat_split": tile_concat_split,
    "crops_and_selections": crops_and_selections,
    "gathers": gathers,
    "scatters": scatters,
    "convolutions": convolutions,
    "pools": pools,
    "conv_transposes": conv_transposes,
    "cumulative": cumulative,
    "reverse_sequence": reverse_sequence,
}


RECURRENT = ("RNN", "GRU", "LSTM")


def assert_close(actual: dict, expected: dict) -> None:
    for name, want in expected.items():
        scale = max(float(np.abs(want).max()), 1.0)
        np.testing.assert_allclose(actual[name], want, rtol=1e-4, atol=1e-5 * scale, err_msg=name)


@pytest.mark.parametrize("fusion", ["welder", "none"])
@pytest.mark.parametrize("name", sorted(MODELS))
def test_edge_reads_match_onnxruntime_on_the_cpu_and_in_the_emulator(name, fusion):
    model, feeds = MODELS[name]()
    compiled = compile_model(model, target="sm_90", fusion=fusion)
    engine, expected = reference_outputs(model, feeds, compiled.outputs)
    assert engine == "onnxruntime"
    assert_close(compiled.run(feeds), expected)
    assert_close(compiled.emulate(feeds, device=EmulatedDevice(checks=True)), expected)


@pytest.mark.parametrize("fusion", ["welder", "none"])
@pytest.mark.parametrize("kind", RECURRENT)
def test_recurrent_edge_reads_match_onnxruntime_on_the_cpu(kind, fusion):
    """The recurrent layers' loops run on the CPU only (GPU targets refuse control flow until
    Grinder places it on the device), so only their CPU run is checked."""
    model, feeds = recurrent(kind)
    compiled = compile_model(model, target="cpu", fusion=fusion)
    engine, expected = reference_outputs(model, feeds, compiled.outputs)
    assert engine == "onnxruntime"
    assert_close(compiled.run(feeds), expected)
