"""Forms of the newer operators that ONNX's node tests leave out (they feed every input at run
time, use the defaults, or are checked against a reference that ignores the attribute), each
against onnxruntime or numpy: integer Mod at its trapping points, long CumSum/TopK axes,
Einsum spellings, ConvTranspose and Resize against onnxruntime, the recurrent layers'
sequence_lens/activations/clip, per-column QLinearMatMul, and the clear refusals."""

from __future__ import annotations

import numpy as np
import pytest
from models import make_model
from onnx import TensorProto, helper
from onnx.reference import ReferenceEvaluator

from quartet import QuartetError
from quartet.frontend.onnx import compile_model

ort = pytest.importorskip("onnxruntime", reason="onnxruntime is the reference for these forms")

FLOAT, INT32, INT64, INT8, UINT8 = (
    TensorProto.FLOAT,
    TensorProto.INT32,
    TensorProto.INT64,
    TensorProto.INT8,
    TensorProto.UINT8,
)
RNG = np.random.default_rng(11)


def single_node(
    op, inputs, output_shapes, attrs=None, initializers=(), opset=18, output_type=FLOAT
):
    """One node over graph inputs ``{name: (elem_type, shape)}`` and initializers; outputs
    ``{name: shape}`` (all of ``output_type``)."""
    names = [*inputs, *(name for name, _ in initializers)]
    node = helper.make_node(op, names, list(output_shapes), **(attrs or {}))
    return make_model(
        [node],
        [(name, kind, list(shape)) for name, (kind, shape) in inputs.items()],
        [(name, output_type, list(shape)) for name, shape in output_shapes.items()],
        list(initializers),
        opset=opset,
    )


def onnxruntime_outputs(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    names = [value.name for value in model.graph.output]
    return dict(zip(names, session.run(names, feeds), strict=True))


def assert_matches(model, feeds, expected, rtol=1e-4, atol=1e-5, emulate=False):
    compiled = compile_model(model, target="sm_90" if emulate else "cpu")
    results = [compiled.run(feeds)] + ([compiled.emulate(feeds)] if emulate else [])
    for actual in results:
        for name, want in expected.items():
            assert actual[name].shape == np.asarray(want).shape, name
            np.testing.assert_allclose(actual[name], want, rtol=rtol, atol=atol, err_msg=name)


@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.uint8])
@pytest.mark.parametrize("fmod", [0, 1])
def test_integer_mod_never_traps(dtype, fmod):
    """A zero divisor gives 0 (numpy's answer) and INT_MIN mod -1 gives 0, on the CPU and in
    the PTX (where remsi by zero would be undefined)."""
    info = np.iinfo(dtype)
    x = np.array([7, -7, 7, -7, info.min, info.min, 5, info.max, 0, -1, 3, 9], np.int64)
    y = np.array([3, 3, -3, -3, -1, 0, 0, -1, 5, 2, 1, 0], np.int64)
    if info.min == 0:
        x, y = np.abs(x) % (info.max + 1), np.abs(y)
    x, y = x.astype(dtype), y.astype(dtype)
    kind = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    model = single_node(
        "Mod",
        {"x": (kind, x.shape), "y": (kind, y.shape)},
        {"z": x.shape},
        {"fmod": fmod},
        output_type=kind,
    )
    with np.errstate(divide="ignore"):
        want = np.fmod(x, y) if fmod else np.mod(x, y)
    assert_matches(
        model, {"x": x, "y": y}, {"z": np.where(y == 0, 0, want).astype(dtype)}, emulate=True
    )


@pytest.mark.parametrize(
    ("op", "reverse", "exclusive"), [("CumSum", 0, 0), ("CumSum", 1, 1), ("CumSum", 0, 1)]
)
def test_cumsum_long_axis(op, reverse, exclusive):
    """A 300-long axis takes the blocked scan (block sums and a scan of them)."""
    x = RNG.uniform(-1, 1, (2, 300)).astype(np.float32)
    axis = ("axis", np.array(1, np.int64))
    model = single_node(
        op,
        {"x": (FLOAT, x.shape)},
        {"y": x.shape},
        {"reverse": reverse, "exclusive": exclusive},
        [axis],
    )
    values = x[:, ::-1] if reverse else x
    want = np.cumsum(values, axis=1) - (values if exclusive else 0)
    assert_matches(model, {"x": x}, {"y": want[:, ::-1] if reverse else want}, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("largest", [1, 0])
def test_top_k_with_ties(largest):
    """Equal values come out in index order (ONNX's rule), along a 200-long axis."""
    x = RNG.integers(0, 20, (3, 200)).astype(np.float32)
    k = ("k", np.array([7], np.int64))
    model = single_node(
        "TopK", {"x": (FLOAT, x.shape)}, {"v": (3, 7), "i": (3, 7)}, {"largest": largest}, [k]
    )
    model.graph.output[1].type.tensor_type.elem_type = INT64
    order = np.argsort(-x if largest else x, axis=1, kind="stable")[:, :7]
    assert_matches(model, {"x": x}, {"v": np.take_along_axis(x, order, 1), "i": order})


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ii->i", [(4, 4)]),
        ("...ij,...jk->...ik", [(2, 1, 3, 4), (1, 5, 4, 2)]),
        ("ij->", [(3, 5)]),
        ("i,j->ij", [(3,), (4,)]),
        ("ij,jk", [(3, 4), (4, 2)]),
        ("bij,bkj->bik", [(2, 3, 4), (2, 5, 4)]),
    ],
)
def test_einsum_spellings(equation, shapes):
    arrays = [RNG.normal(size=s).astype(np.float32) for s in shapes]
    names = [f"x{i}" for i in range(len(arrays))]
    want = np.einsum(equation, *arrays)
    model = single_node(
        "Einsum",
        {n: (FLOAT, a.shape) for n, a in zip(names, arrays, strict=True)},
        {"y": want.shape},
        {"equation": equation},
    )
    assert_matches(model, dict(zip(names, arrays, strict=True)), {"y": want})


def test_conv_transpose_constant_weights_against_onnxruntime():
    """Groups, strides, dilations, output_padding and a constant kernel (flipped at compile
    time)."""
    x = RNG.normal(size=(1, 4, 5, 6)).astype(np.float32)
    w = RNG.normal(size=(4, 3, 3, 2)).astype(np.float32)
    attrs = {
        "group": 2,
        "strides": [2, 3],
        "dilations": [2, 1],
        "output_padding": [1, 2],
        "pads": [1, 0, 2, 1],
    }
    model = single_node(
        "ConvTranspose", {"x": (FLOAT, x.shape)}, {"y": (1, 6, 11, 18)}, attrs, [("w", w)]
    )
    assert_matches(model, {"x": x}, onnxruntime_outputs(model, {"x": x}))


@pytest.mark.parametrize(
    "attrs",
    [
        {"mode": "linear"},
        {"mode": "linear", "coordinate_transformation_mode": "align_corners"},
        {"mode": "cubic", "coordinate_transformation_mode": "pytorch_half_pixel"},
        {
            "mode": "nearest",
            "nearest_mode": "floor",
            "coordinate_transformation_mode": "asymmetric",
        },
        {"mode": "nearest", "nearest_mode": "round_prefer_ceil"},
        {"mode": "linear", "antialias": 1},
    ],
)
@pytest.mark.parametrize("scales", [(1.0, 1.0, 2.0, 1.5), (1.0, 1.0, 0.5, 0.75)])
def test_resize_against_onnxruntime(attrs, scales):
    x = RNG.normal(size=(1, 2, 8, 8)).astype(np.float32)
    shape = [int(s * d) for s, d in zip(scales, x.shape, strict=True)]
    inits = [("roi", np.zeros(0, np.float32)), ("scales", np.array(scales, np.float32))]
    model = single_node("Resize", {"x": (FLOAT, x.shape)}, {"y": shape}, attrs, inits, opset=19)
    assert_matches(model, {"x": x}, onnxruntime_outputs(model, {"x": x}), atol=1e-5)


def recurrent_model(
    kind, direction="forward", lengths=None, attrs=None, peepholes=False, initial=True
):
    steps, batch, features, hidden = 5, 3, 4, 6
    directions = 2 if direction == "bidirectional" else 1
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[kind]
    inits = [
        ("W", RNG.normal(0, 0.5, (directions, gates * hidden, features)).astype(np.float32)),
        ("R", RNG.normal(0, 0.5, (directions, gates * hidden, hidden)).astype(np.float32)),
        ("B", RNG.normal(0, 0.5, (directions, 2 * gates * hidden)).astype(np.float32)),
    ]
    names = ["x", "W", "R", "B", ""]
    if lengths is not None:
        inits.append(("lengths", np.array(lengths, np.int32)))
        names[-1] = "lengths"
    state = (directions, batch, hidden)
    states = ["h0", "c0"] if kind == "LSTM" else ["h0"]
    if initial:
        inits += [(name, RNG.normal(0, 0.5, state).astype(np.float32)) for name in states]
    names += states if initial else [""] * len(states)
    if peepholes:
        inits.append(("P", RNG.normal(0, 0.5, (directions, 3 * hidden)).astype(np.float32)))
        names.append("P")
    outputs = ["y", "y_h"] + (["y_c"] if kind == "LSTM" else [])
    node = helper.make_node(
        kind, names, outputs, hidden_size=hidden, direction=direction, **(attrs or {})
    )
    shapes = [[steps, directions, batch, hidden]] + [list(state)] * (len(outputs) - 1)
    model = make_model(
        [node],
        [("x", FLOAT, [steps, batch, features])],
        [(name, FLOAT, shape) for name, shape in zip(outputs, shapes, strict=True)],
        inits,
        opset=14,
    )
    return model, {"x": RNG.normal(size=(steps, batch, features)).astype(np.float32)}


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("LSTM", {"direction": "bidirectional", "lengths": [5, 2, 3]}),
        ("LSTM", {"direction": "reverse", "lengths": [1, 4, 5], "peepholes": True}),
        ("LSTM", {"attrs": {"clip": 0.5, "input_forget": 1}, "peepholes": True}),
        (
            "LSTM",
            {
                "attrs": {
                    "activations": ["HardSigmoid", "LeakyRelu", "Softsign"],
                    "activation_alpha": [0.3, 0.1],
                    "activation_beta": [0.4],
                }
            },
        ),
        (
            "GRU",
            {
                "direction": "bidirectional",
                "lengths": [2, 5, 1],
                "attrs": {"linear_before_reset": 1},
            },
        ),
        (
            "GRU",
            {
                "direction": "reverse",
                "lengths": [3, 3, 5],
                "attrs": {"clip": 1.0},
                "initial": False,
            },
        ),
        (
            "GRU",
            {
                "direction": "bidirectional",
                "attrs": {
                    "activations": ["Sigmoid", "Relu", "Tanh", "Elu"],
                    "activation_alpha": [0.7],
                },
            },
        ),
        ("RNN", {"direction": "bidirectional", "lengths": [4, 1, 5]}),
        ("RNN", {"attrs": {"activations": ["Relu"]}, "initial": False}),
    ],
)
def test_recurrent_against_onnxruntime(kind, options):
    """What ONNX's reference ignores (sequence_lens, activations, clip), checked against
    onnxruntime."""
    model, feeds = recurrent_model(kind, **options)
    assert_matches(model, feeds, onnxruntime_outputs(model, feeds), rtol=1e-4, atol=1e-5)


def test_a_recurrent_layer_runs_on_the_device_for_gpu_targets():
    model, feeds = recurrent_model("GRU")
    assert_matches(model, feeds, onnxruntime_outputs(model, feeds), emulate=True)


def test_qlinear_matmul_per_column_scale_against_onnxruntime():
    a = RNG.integers(-128, 127, (4, 16)).astype(np.int8)
    b = RNG.integers(-128, 127, (16, 8)).astype(np.int8)
    inits = [
        ("a_scale", np.array(0.02, np.float32)),
        ("a_zero", np.array(3, np.int8)),
        ("b", b),
        ("b_scale", RNG.uniform(0.01, 0.03, 8).astype(np.float32)),
        ("b_zero", np.zeros(8, np.int8)),
        ("y_scale", np.array(0.5, np.float32)),
        ("y_zero", np.array(-4, np.int8)),
    ]
    names = ["a", "a_scale", "a_zero", "b", "b_scale", "b_zero", "y_scale", "y_zero"]
    node = helper.make_node("QLinearMatMul", names, ["y"])
    model = make_model([node], [("a", INT8, [4, 16])], [("y", INT8, [4, 8])], inits, opset=21)
    assert_matches(model, {"a": a}, onnxruntime_outputs(model, {"a": a}), atol=0)


def test_qdq_check_runs_onnxruntime_unoptimized():
    """``--check``'s onnxruntime session runs a QDQ model as written (graph optimizations
    off, which fuse the pairs into integer kernels): its answer is ONNX's reference's."""
    from quartet.frontend.onnx.check import reference_outputs
    from quartet.frontend.onnx.importer import Spec

    a = RNG.normal(size=(8, 64)).astype(np.float32)
    w = RNG.normal(size=(64, 32)).astype(np.float32)
    scale = np.float32(np.abs(w).max() / 127)
    nodes = [
        helper.make_node("QuantizeLinear", ["a", "a_scale", "zero"], ["a_q"]),
        helper.make_node("DequantizeLinear", ["a_q", "a_scale", "zero"], ["a_dq"]),
        helper.make_node("QuantizeLinear", ["w", "w_scale", "zero"], ["w_q"]),
        helper.make_node("DequantizeLinear", ["w_q", "w_scale", "zero"], ["w_dq"]),
        helper.make_node("MatMul", ["a_dq", "w_dq"], ["y"]),
    ]
    inits = [("a_scale", np.float32(0.02)), ("w_scale", scale), ("zero", np.int8(0)), ("w", w)]
    model = make_model(nodes, [("a", FLOAT, [8, 64])], [("y", FLOAT, [8, 32])], inits, opset=21)
    (exact,) = ReferenceEvaluator(model).run(None, {"a": a})
    engine, outputs = reference_outputs(model, {"a": a}, [Spec("y", (8, 32), np.dtype(np.float32))])
    assert engine == "onnxruntime"
    np.testing.assert_allclose(outputs["y"], exact, rtol=1e-5, atol=1e-5)
    assert_matches(model, {"a": a}, {"y": exact}, rtol=1e-5, atol=1e-5)


def test_data_dependent_shapes_are_refused_with_the_reason():
    nodes = [
        helper.make_node("NonMaxSuppression", ["boxes", "scores"], ["kept"], name="nms"),
        helper.make_node("Unique", ["scores"], ["distinct"], name="unique"),
    ]
    model = make_model(
        nodes,
        [("boxes", FLOAT, [1, 4, 4]), ("scores", FLOAT, [1, 1, 4])],
        [("kept", INT64, ["kept", 3]), ("distinct", FLOAT, ["distinct"])],
    )
    with pytest.raises(QuartetError) as error:
        compile_model(model, target="cpu")
    message = str(error.value)
    assert "NonMaxSuppression (node 'nms'): its output shape depends on the input values" in message
    assert "the number of boxes kept" in message
    assert "Unique (node 'unique'): its output shape depends on the input values" in message


def test_top_k_needs_a_compile_time_k():
    node = helper.make_node("TopK", ["x", "k"], ["v", "i"], name="top")
    model = make_model(
        [node], [("x", FLOAT, [8]), ("k", INT64, [1])], [("v", FLOAT, ["k"]), ("i", INT64, ["k"])]
    )
    with pytest.raises(
        QuartetError, match=r"node 'top' \(TopK\): K \(input 'k'\) must be known at compile time"
    ):
        compile_model(model, target="cpu")
