"""Recurrent layers: RNN, GRU and LSTM (forward, reverse, bidirectional; layout 0 and 1;
sequence_lens; clip; every ONNX activation; initial states; peepholes; input_forget;
linear_before_reset), as loops in the controlflow form.

The input projection of every step is one contraction before the loop; the loop carries the
states of all directions together (D x B x H) and the stacked output:

    xw[t, d, b, j] = sum_k x[t, b, k] * W[d, j, k] + Wb[d, j] (+ Rb[d, j])
    scf.for %t = 0 to T iter_args(h, c, y) {         {controlflow.placement = grid}
      hr[d, b, j] = sum_k h[d, b, k] * R[d, j, k]
      c' = f(xw[tau] + hr + P c) * c + ...;  h' = o * h(c')      (pointwise, per gate)
      y[tau, d, b] = h'                                          (the row update)
    }

where tau = t forward and T - 1 - t reverse, or len[b] - 1 - t with sequence_lens; a batch
element past its length keeps its state and writes zeros, as onnxruntime does. Loops run on
the CPU target until Grinder places them on the device.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from quartet.frontend.onnx.context import NodeContext
from quartet.frontend.onnx.ir import Body, Operand, Tensor, is_float, scalar_type
from quartet.frontend.onnx.ops import scalar as s
from quartet.frontend.onnx.ops.activation import stable_softplus
from quartet.frontend.onnx.ops.layout import permuted
from quartet.frontend.onnx.ops.loops import insert_rows, static_for
from quartet.frontend.onnx.registry import op

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_DEFAULTS = {"RNN": ["Tanh"], "GRU": ["Sigmoid", "Tanh"], "LSTM": ["Sigmoid", "Tanh", "Tanh"]}
# activation -> (uses alpha, uses beta, default alpha, default beta): ONNX's operator defaults
_PARAMETERS = {
    "Relu": (False, False, None, None),
    "Tanh": (False, False, None, None),
    "Sigmoid": (False, False, None, None),
    "Softsign": (False, False, None, None),
    "Softplus": (False, False, None, None),
    "Affine": (True, True, 1.0, 0.0),
    "LeakyRelu": (True, False, 0.01, None),
    "ThresholdedRelu": (True, False, 1.0, None),
    "ScaledTanh": (True, True, 1.0, 1.0),
    "HardSigmoid": (True, True, 0.2, 0.5),
    "Elu": (True, False, 1.0, None),
}


@dataclass(frozen=True)
class Activation:
    name: str
    alpha: float | None
    beta: float | None

    def apply(self, b: Body, x: str, dtype) -> str:
        one, zero = b.const(1.0, dtype), b.const(0.0, dtype)
        alpha = b.const(self.alpha, dtype) if self.alpha is not None else None
        beta = b.const(self.beta, dtype) if self.beta is not None else None
        name = self.name
        if name == "Sigmoid":
            return s.binary(
                b,
                "div",
                one,
                s.binary(b, "add", one, s.exp(b, s.neg(b, x, dtype), dtype), dtype),
                dtype,
            )
        if name == "Tanh":
            return s.unary_math(b, "tanh", x, dtype)
        if name == "Relu":
            return s.binary(b, "max", x, zero, dtype)
        if name == "Softsign":
            magnitude = b.op(f"math.absf {x} : {scalar_type(dtype)}")
            return s.binary(b, "div", x, s.binary(b, "add", one, magnitude, dtype), dtype)
        if name == "Softplus":
            return stable_softplus(b, x, dtype)
        if name == "Affine":
            return s.binary(b, "add", s.binary(b, "mul", alpha, x, dtype), beta, dtype)
        if name == "LeakyRelu":
            negative = s.compare(b, "lt", x, zero, dtype)
            return b.select(negative, s.binary(b, "mul", alpha, x, dtype), x, dtype)
        if name == "ThresholdedRelu":
            return b.select(s.compare(b, "gt", x, alpha, dtype), x, zero, dtype)
        if name == "ScaledTanh":
            return s.binary(
                b,
                "mul",
                alpha,
                s.unary_math(b, "tanh", s.binary(b, "mul", beta, x, dtype), dtype),
                dtype,
            )
        if name == "HardSigmoid":
            y = s.binary(b, "add", s.binary(b, "mul", alpha, x, dtype), beta, dtype)
            return s.binary(b, "min", s.binary(b, "max", y, zero, dtype), one, dtype)
        # Elu
        expm1 = s.unary_math(b, "expm1", x, dtype)
        negative = s.compare(b, "lt", x, zero, dtype)
        return b.select(negative, s.binary(b, "mul", alpha, expm1, dtype), x, dtype)


def _activations(ctx: NodeContext, kind: str, directions: int) -> list[list[Activation]]:
    """Per direction, the activations (f, g[, h]) with their alpha/beta, consumed in order
    by the activations that take them."""
    names = ctx.attr("activations") or _DEFAULTS[kind] * directions
    per = len(_DEFAULTS[kind])
    if len(names) != per * directions:
        raise ctx.error(f"{kind} takes {per} activations per direction, got {names}")
    alphas = list(ctx.attr("activation_alpha") or [])
    betas = list(ctx.attr("activation_beta") or [])
    result = []
    for name in names:
        match = next((known for known in _PARAMETERS if known.lower() == name.lower()), None)
        if match is None:
            raise ctx.error(f"activation {name!r} is not supported")
        uses_alpha, uses_beta, alpha, beta = _PARAMETERS[match]
        if uses_alpha and alphas:
            alpha = alphas.pop(0)
        if uses_beta and betas:
            beta = betas.pop(0)
        result.append(Activation(match, alpha, beta))
    return [result[d * per : (d + 1) * per] for d in range(directions)]


@dataclass
class _Layer:
    """What every kernel of one recurrent node needs."""

    kind: str
    steps: int
    batch: int
    hidden: int
    directions: list[bool]  # reversed, per direction
    activations: list[list[Activation]]
    clip: float | None
    lengths: Tensor | None  # int, (batch,), None when every sequence is full
    dtype: np.dtype

    @property
    def gates(self) -> int:
        return _GATES[self.kind]


def _layer(ctx: NodeContext, x: Tensor, r: Tensor) -> _Layer:
    kind = ctx.node.op_type
    layout = ctx.attr("layout", 0)
    steps, batch = (x.shape[1], x.shape[0]) if layout else (x.shape[0], x.shape[1])
    hidden = ctx.attr("hidden_size") or r.shape[-1]
    direction = ctx.attr("direction", "forward")
    directions = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}.get(
        direction
    )
    if directions is None:
        raise ctx.error(f"direction {direction!r} is not forward, reverse or bidirectional")
    if r.shape != (len(directions), _GATES[kind] * hidden, hidden):
        raise ctx.error(
            f"R has shape {r.shape}, expected {(len(directions), _GATES[kind] * hidden, hidden)}"
        )
    lengths = ctx.input(4)
    if lengths is not None and lengths.const is not None and np.all(lengths.const == steps):
        lengths = None  # every sequence is full: nothing to mask
    return _Layer(
        kind,
        steps,
        batch,
        hidden,
        directions,
        _activations(ctx, kind, len(directions)),
        ctx.attr("clip"),
        lengths,
        x.dtype,
    )


def _input_projection(
    ctx: NodeContext, layer: _Layer, x: Tensor, w: Tensor, bias: Tensor | None
) -> Tensor:
    """xw[t, d, b, j] = sum_k x[t, b, k] W[d, j, k] + Wb[d, j] + Rb[d, j] (Rb of GRU's
    candidate gate stays out when linear_before_reset: it is multiplied by r)."""
    emit, dtype = ctx.emit, layer.dtype
    width = layer.gates * layer.hidden
    shape = [layer.steps, len(layer.directions), layer.batch, width]
    x_read = ["d2", "d0", "d4"] if ctx.attr("layout", 0) else ["d0", "d2", "d4"]
    if bias is None:
        init = emit.fill(shape, dtype, 0)
    else:
        keep_out = layer.kind == "GRU" and ctx.attr("linear_before_reset", 0)

        def total(b: Body, args: list[str]) -> str:
            if not keep_out:
                return s.binary(b, "add", args[0], args[1], dtype)
            candidate = b.op(
                f"arith.cmpi sge, {b.index(3)}, {b.const_index(2 * layer.hidden)} : index"
            )
            return b.select(candidate, args[0], s.binary(b, "add", args[0], args[1], dtype), dtype)

        halves = emit.reshape(bias, [len(layer.directions), 2, width])  # (Wb, Rb)
        operands = [Operand(halves, ["d1", "0", "d3"]), Operand(halves, ["d1", "1", "d3"])]
        init = emit.generic(shape, dtype, operands, total).ssa
    return emit.generic(
        shape,
        dtype,
        [Operand(x, x_read), Operand(w, ["d1", "d3", "d4"])],
        lambda b, a: s.binary(b, "add", a[2], s.binary(b, "mul", a[0], a[1], dtype), dtype),
        reductions=[x.shape[-1]],
        init=init,
    )


def _state(ctx: NodeContext, layer: _Layer, initial: Tensor | None) -> Tensor:
    """An initial state as D x B x H (zeros when omitted; layout 1 gives B x D x H)."""
    shape = (len(layer.directions), layer.batch, layer.hidden)
    if initial is None:
        return Tensor.constant(np.zeros(shape, layer.dtype))
    if ctx.attr("layout", 0):
        initial = permuted(ctx, initial, [1, 0, 2])
    if initial.shape != shape:
        raise ctx.error(f"an initial state has shape {initial.shape}, expected {shape}")
    return initial


class _Step:
    """The scalar code of one step at element (d, b, h) of a gate kernel: the time index of
    direction d, whether batch element b is still running, the gate pre-activations."""

    def __init__(
        self,
        b: Body,
        layer: _Layer,
        index: str,
        xw: Tensor,
        length: str | None,
        first_loop: int = 0,
    ):
        self.b, self.layer, self.xw = b, layer, xw
        d, batch = b.index(first_loop), b.index(first_loop + 1)
        self.direction, self.batch, self.h = d, batch, b.index(first_loop + 2)
        last = b.const_index(layer.steps - 1)
        self.active = None
        if length is not None:
            count = b.clamp_index(b.to_index(length, layer.lengths.dtype), layer.steps + 1)
            self.active = b.op(f"arith.cmpi slt, {index}, {count} : index")
            last = b.op(f"arith.subi {count}, {b.const_index(1)} : index")
        backward = b.clamp_index(b.op(f"arith.subi {last}, {index} : index"), layer.steps)
        time = index
        if any(layer.directions):
            reverse = backward if all(layer.directions) else None
            if reverse is None:  # bidirectional: direction 1 runs backward
                second = b.op(f"arith.cmpi ne, {d}, {b.const_index(0)} : index")
                reverse = b.select_index(second, backward, index)
            time = reverse
        self.time = time

    def projected(self, gate: int) -> str:
        """xw at this step's time for ``gate``."""
        b, hidden = self.b, self.layer.hidden
        column = b.op(f"arith.addi {self.h}, {b.const_index(gate * hidden)} : index")
        return b.extract(self.xw, [self.time, self.direction, self.batch, column])

    def clipped(self, value: str) -> str:
        clip, dtype = self.layer.clip, self.layer.dtype
        if clip is None:
            return value
        value = s.binary(self.b, "max", value, self.b.const(-clip, dtype), dtype)
        return s.binary(self.b, "min", value, self.b.const(clip, dtype), dtype)

    def activate(self, which: int, value: str, clip: bool = True) -> str:
        """Activation ``which`` (0 = f, 1 = g, 2 = h) of the direction, on the clipped value
        (a gate's pre-activation; LSTM's cell state is not clipped, as onnxruntime does)."""
        b, dtype = self.b, self.layer.dtype
        if clip:
            value = self.clipped(value)
        per_direction = [acts[which] for acts in self.layer.activations]
        results = [a.apply(b, value, dtype) for a in dict.fromkeys(per_direction)]
        if len(results) == 1:
            return results[0]
        second = b.op(f"arith.cmpi ne, {self.direction}, {b.const_index(0)} : index")
        return b.select(second, results[1], results[0], dtype)

    def hold(self, new: str, old: str) -> str:
        """The new state while the batch element runs, the old one after its end."""
        if self.active is None:
            return new
        return self.b.select(self.active, new, old, self.layer.dtype)


def _recurrence(
    ctx: NodeContext, layer: _Layer, h: Tensor, r: Tensor, gate: int | None = None
) -> Tensor:
    """hr[d, b, g, j] = sum_k h[d, b, k] R[d, g * H + j, k] for every gate (D x B x G x H),
    or for one ``gate`` (D x B x H). R is read as its D x G x H x H view: linalg infers a
    loop's extent from the operands, so a gate is a constant index, not an offset."""
    dtype, hidden = layer.dtype, layer.hidden
    directions = len(layer.directions)
    gates = ctx.emit.reshape(r, [directions, layer.gates, hidden, hidden])
    if gate is None:
        shape = [directions, layer.batch, layer.gates, hidden]
        reads = [Operand(h, ["d0", "d1", "d4"]), Operand(gates, ["d0", "d2", "d3", "d4"])]
    else:
        shape = [directions, layer.batch, hidden]
        reads = [Operand(h, ["d0", "d1", "d3"]), Operand(gates, ["d0", str(gate), "d2", "d3"])]
    return ctx.emit.generic(
        shape,
        dtype,
        reads,
        lambda b, a: s.binary(b, "add", a[2], s.binary(b, "mul", a[0], a[1], dtype), dtype),
        reductions=[hidden],
        init=ctx.emit.fill(shape, dtype, 0),
    )


def _gate_kernel(
    ctx, layer: _Layer, index: str, xw: Tensor, operands: list[Operand], compute
) -> Tensor:
    """A D x B x H kernel; ``compute(step, args)`` gets the step helper and the operands'
    scalars (sequence lengths are appended when masking)."""
    shape = [len(layer.directions), layer.batch, layer.hidden]
    ctx.emit.ssa(xw)
    extra = [] if layer.lengths is None else [Operand(layer.lengths, ["d1"])]
    count = len(operands)

    def body(b: Body, args: list[str]) -> str:
        length = args[count] if layer.lengths is not None else None
        return compute(_Step(b, layer, index, xw, length), args[:count])

    return ctx.emit.generic(shape, layer.dtype, [*operands, *extra], body)


def _gate(hr: Tensor, gate: int, hidden: int) -> Operand:
    """One gate of a D x B x G x H recurrence, read at the (d, b, h) loops."""
    return Operand(hr, ["d0", "d1", str(gate), "d2"])


def _identity(t: Tensor) -> Operand:
    return Operand(t, ["d0", "d1", "d2"])


def _lstm_step(ctx, layer: _Layer, index, xw, r, peepholes, h, c):
    """(h', c'): gates i, o, f, c in ONNX's order; peepholes P = (Pi, Po, Pf)."""
    hidden, dtype = layer.hidden, layer.dtype
    hr = _recurrence(ctx, layer, h, r)
    coupled = bool(ctx.attr("input_forget", 0))
    peep = []
    if peepholes is not None:  # (Pi, Po, Pf) viewed D x 3 x H
        rows = ctx.emit.reshape(peepholes, [len(layer.directions), 3, hidden])
        peep = [Operand(rows, ["d0", str(k), "d2"]) for k in range(3)]

    def pre(step: _Step, gate: int, recurrent: str, peep_value: str | None, state: str) -> str:
        value = s.binary(step.b, "add", step.projected(gate), recurrent, dtype)
        if peep_value is not None:
            value = s.binary(
                step.b, "add", value, s.binary(step.b, "mul", peep_value, state, dtype), dtype
            )
        return value

    def cell(step: _Step, args: list[str]) -> str:
        hr_i, hr_f, hr_c, c_old = args[:4]
        p_i, _, p_f = args[4:7] if peepholes is not None else (None, None, None)
        b = step.b
        i = step.activate(0, pre(step, 0, hr_i, p_i, c_old))
        if coupled:
            f = s.binary(b, "sub", b.const(1.0, dtype), i, dtype)
        else:
            f = step.activate(0, pre(step, 2, hr_f, p_f, c_old))
        candidate = step.activate(1, pre(step, 3, hr_c, None, c_old))
        new = s.binary(
            b,
            "add",
            s.binary(b, "mul", f, c_old, dtype),
            s.binary(b, "mul", i, candidate, dtype),
            dtype,
        )
        return step.hold(new, c_old)

    c_new = _gate_kernel(
        ctx,
        layer,
        index,
        xw,
        [_gate(hr, 0, hidden), _gate(hr, 2, hidden), _gate(hr, 3, hidden), _identity(c), *peep],
        cell,
    )

    def output(step: _Step, args: list[str]) -> str:
        hr_o, c_next, h_old = args[:3]
        p_o = args[4] if peepholes is not None else None
        o = step.activate(0, pre(step, 1, hr_o, p_o, c_next))
        new = s.binary(step.b, "mul", o, step.activate(2, c_next, clip=False), dtype)
        return step.hold(new, h_old)

    h_new = _gate_kernel(
        ctx, layer, index, xw, [_gate(hr, 1, hidden), _identity(c_new), _identity(h), *peep], output
    )
    return h_new, c_new


def _gru_step(ctx, layer: _Layer, index, xw, r, bias, h):
    """h': gates z, r, h in ONNX's order; linear_before_reset moves r past R_h h + Rb_h."""
    hidden, dtype = layer.hidden, layer.dtype
    linear = bool(ctx.attr("linear_before_reset", 0))
    hr = _recurrence(ctx, layer, h, r)
    if linear:
        gates = [_gate(hr, 0, hidden), _gate(hr, 1, hidden), _gate(hr, 2, hidden), _identity(h)]
        h_at = 3
        if bias is not None:  # Rb_h: the candidate gate of R's bias, (Wb, Rb) x (z, r, h)
            parts = ctx.emit.reshape(bias, [len(layer.directions), 2, 3, hidden])
            gates.append(Operand(parts, ["d0", "1", "2", "d2"]))

        def candidate_input(step, args):
            reset = step.activate(0, s.binary(step.b, "add", step.projected(1), args[1], dtype))
            recurrent = (
                args[2] if bias is None else s.binary(step.b, "add", args[2], args[4], dtype)
            )
            return s.binary(step.b, "mul", reset, recurrent, dtype)
    else:

        def reset_state(step, args):
            reset = step.activate(0, s.binary(step.b, "add", step.projected(1), args[0], dtype))
            return s.binary(step.b, "mul", reset, args[1], dtype)

        rh = _gate_kernel(ctx, layer, index, xw, [_gate(hr, 1, hidden), _identity(h)], reset_state)
        candidate = _recurrence(ctx, layer, rh, r, gate=2)
        gates = [_gate(hr, 0, hidden), _identity(candidate), _identity(h)]
        h_at = 2

        def candidate_input(step, args):
            return args[1]

    def update(step: _Step, args: list[str]) -> str:
        b = step.b
        z = step.activate(0, s.binary(b, "add", step.projected(0), args[0], dtype))
        proposal = step.activate(
            1, s.binary(b, "add", step.projected(2), candidate_input(step, args), dtype)
        )
        h_old = args[h_at]
        keep = s.binary(b, "mul", z, h_old, dtype)
        new = s.binary(
            b,
            "add",
            s.binary(b, "mul", s.binary(b, "sub", b.const(1.0, dtype), z, dtype), proposal, dtype),
            keep,
            dtype,
        )
        return step.hold(new, h_old)

    return _gate_kernel(ctx, layer, index, xw, gates, update)


def _rnn_step(ctx, layer: _Layer, index, xw, r, h):
    hr = _recurrence(ctx, layer, h, r)

    def update(step: _Step, args: list[str]) -> str:
        value = step.activate(0, s.binary(step.b, "add", step.projected(0), args[0], layer.dtype))
        return step.hold(value, args[1])

    return _gate_kernel(ctx, layer, index, xw, [_gate(hr, 0, layer.hidden), _identity(h)], update)


def _write_outputs(ctx, layer: _Layer, index: str, y: Tensor, h_new: Tensor, xw: Tensor) -> Tensor:
    """y with row tau of every (direction, batch element) set to h'. Without sequence
    lengths, the row of direction d is one contiguous slab y[tau_d, d] (a copy, O(T) bytes over
    the loop); with them, rows end at each batch element's length and zeros stay past it: a
    kernel that rewrites y."""
    if layer.lengths is None:
        return _insert_rows(ctx, layer, index, y, h_new)
    ctx.emit.ssa(xw)
    extra = [Operand(layer.lengths, ["d2"])]

    def body(b: Body, args: list[str]) -> str:
        old, new, length = args[0], args[1], args[2]
        time = b.index(0)  # y's loops are (t, d, b, h)
        probe = _Step(b, layer, index, xw, length, first_loop=1)
        here = b.op(f"arith.cmpi eq, {time}, {probe.time} : index")
        here = b.op(f"arith.andi {here}, {probe.active} : i1")
        return b.select(here, new, old, layer.dtype)

    operands = [Operand(y, ["d0", "d1", "d2", "d3"]), Operand(h_new, ["d1", "d2", "d3"]), *extra]
    return ctx.emit.generic(y.shape, layer.dtype, operands, body, init=y.ssa)


def _insert_rows(ctx, layer: _Layer, index: str, y: Tensor, h_new: Tensor) -> Tensor:
    """h'[d] into y[tau_d, d] for each direction d (tau_d = t forward, T - 1 - t reverse)."""
    w = ctx.emit.w
    backward = None
    if any(layer.directions):
        last = w.assign(f"arith.constant {layer.steps - 1} : index")
        backward = w.assign(f"arith.subi {last}, {index} : index")
    rows = (layer.batch, layer.hidden)
    directions = len(layer.directions)
    for d, reverse in enumerate(layer.directions):
        row = h_new
        if directions > 1:
            row = Tensor((1, *rows), layer.dtype, w.fresh("row"), view=True)
            w.line(
                f"{row.ssa} = tensor.extract_slice {ctx.emit.ssa(h_new)}[{d}, 0, 0] "
                f"[1, {rows[0]}, {rows[1]}] [1, 1, 1] : {h_new.type} to {row.type}"
            )
        time = backward if reverse else index
        position = w.assign(f"arith.constant {d} : index")
        y = insert_rows(ctx, y, row, [time, position], [1, 1, *rows])
    return y


@op("RNN", "GRU", "LSTM")
def recurrent(ctx: NodeContext):
    x, w, r, bias = ctx.inputs[0], ctx.inputs[1], ctx.inputs[2], ctx.input(3)
    if not is_float(x.dtype) or x.rank != 3:
        raise ctx.error(f"X must be a 3-D float tensor, got {x.shape} {x.dtype}")
    layer = _layer(ctx, x, r)
    kind = layer.kind
    xw = _input_projection(ctx, layer, x, w, bias)
    h0 = _state(ctx, layer, ctx.input(5))
    states = [h0] + ([_state(ctx, layer, ctx.input(6))] if kind == "LSTM" else [])
    wants_y = bool(ctx.node.output) and bool(ctx.node.output[0])
    directions = len(layer.directions)
    y_shape = (layer.steps, directions, layer.batch, layer.hidden)

    def step(index: str, arguments: list[Tensor], scan_names: list[str]):
        if kind == "LSTM":
            h_new, c_new = _lstm_step(
                ctx, layer, index, xw, r, ctx.input(7), arguments[0], arguments[1]
            )
            values = [h_new, c_new]
        elif kind == "GRU":
            h_new = _gru_step(ctx, layer, index, xw, r, bias, arguments[0])
            values = [h_new]
        else:
            h_new = _rnn_step(ctx, layer, index, xw, r, arguments[0])
            values = [h_new]
        if not wants_y:
            return values, []
        y = Tensor(y_shape, layer.dtype, scan_names[0], view=True)
        return values, [(y, _write_outputs(ctx, layer, index, y, h_new, xw))]

    ctx.importer.control_flow.append(f"node '{ctx.name}' ({kind})")
    results = static_for(ctx, layer.steps, states, step, scans=int(wants_y))
    y = results[-1] if wants_y else None
    outputs = [y, results[0]] + ([results[1]] if kind == "LSTM" else [])
    if ctx.attr("layout", 0):  # batch first: Y is B x T x D x H, the states B x D x H
        outputs = [
            None if t is None else permuted(ctx, t, [2, 0, 1, 3] if t.rank == 4 else [1, 0, 2])
            for t in outputs
        ]
    return [t if t is not None else Tensor.constant(np.zeros((0,), layer.dtype)) for t in outputs]
