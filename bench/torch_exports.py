"""PyTorch models with loops and branches, exported as a user would, compiled by Quartet.

Two steps, because Quartet's Python (3.11 with the MLIR bindings) need not have torch:

    <python with torch> bench/torch_exports.py export DIR     # writes DIR/<name>.onnx + .npz
    python bench/torch_exports.py check DIR [--json FILE]      # compiles and runs each

``export`` writes each model of :data:`EXPORTS` with the TorchScript exporter
(``dynamo=False``) and/or the dynamo exporter (``dynamo=True``), and its inputs. ``check``
compiles every ``DIR/*.onnx`` for the CPU and for sm_90 (control flow on the device, Grinder's
default), runs it on the CPU and as PTX in the emulator with every checker, and prints per
model: the worst absolute error of each target against onnxruntime, launches per inference,
host round trips and where Grinder placed each loop and branch. A model Quartet refuses shows
its error's first line. Nothing here is timed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def export(directory: Path) -> None:
    import numpy as np
    import torch
    from torch import nn
    from torch._higher_order_ops.while_loop import while_loop

    torch.manual_seed(0)

    class Recurrent(nn.Module):
        """nn.LSTM / nn.GRU / nn.RNN and a Linear on the last step."""

        def __init__(self, cell=nn.LSTM, **options):
            super().__init__()
            self.rnn, self.fc = cell(32, 48, **options), nn.Linear(48, 10)

        def forward(self, x):
            y, _ = self.rnn(x)
            return self.fc(y[:, -1] if self.rnn.batch_first else y[-1])

    class BiLSTM(nn.Module):
        """Two bidirectional layers with initial states fed in."""

        def __init__(self):
            super().__init__()
            self.rnn, self.fc = nn.LSTM(16, 24, num_layers=2, bidirectional=True), nn.Linear(48, 4)

        def forward(self, x, h, c):
            y, (h_n, _) = self.rnn(x, (h, c))
            return self.fc(y), h_n

    class EarlyExit(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(16, 16)

        def forward(self, x):
            i = 0
            while i < 20:
                x = torch.tanh(self.linear(x))
                if x.abs().max() < 0.3:
                    break
                i += 1
            return x

    class SkipBlock(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(16, 16)

        def forward(self, x):
            if x.mean() > 0:
                x = x + torch.relu(self.linear(x))
            return x

    class Nested(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(8, 8), nn.Linear(8, 8)

        def forward(self, x):
            for _ in range(4):
                x = torch.relu(self.a(x)) if x.sum() > 0 else torch.sigmoid(self.b(x)) - 0.2
            return x

    class Cond(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(16, 16)
            self.b = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))

        def forward(self, x):
            gate = torch.sigmoid(x.mean())
            y = torch.cond(gate > 0.5, lambda x: self.b(x) + x, lambda x: self.a(x), (x,))
            return torch.layer_norm(y, (16,))

    class BlockDrop(nn.Module):
        def __init__(self):
            super().__init__()
            self.gate = nn.Linear(16, 3)
            self.blocks = nn.ModuleList([nn.Linear(16, 16) for _ in range(3)])

        def forward(self, x):
            keep = torch.sigmoid(self.gate(x.mean(0)))
            for k, block in enumerate(self.blocks):
                # torch.cond traces both branches at once: the loop variable is current
                x = torch.cond(
                    keep[k] > 0.5,
                    lambda x: x + torch.relu(block(x)),  # noqa: B023
                    lambda x: x.clone(),
                    (x,),
                )
            return x

    class While(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(16, 16)

        def forward(self, x):
            def condition(i, x):
                return (i < 10) & (x.abs().sum() > 1.0)

            def body(i, x):
                return i + 1, torch.tanh(self.linear(x)) * 0.9

            start = torch.zeros((), dtype=torch.int64)
            i, y = while_loop(condition, body, (start, x))
            return y, i

    class Decoder(nn.Module):
        """Greedy decoding, unrolled by tracing: argmax feedback through an embedding."""

        def __init__(self):
            super().__init__()
            self.embed, self.cell = nn.Embedding(12, 16), nn.GRUCell(16, 32)
            self.out = nn.Linear(32, 12)

        def forward(self, h):
            token, tokens = torch.zeros(h.size(0), dtype=torch.long), []
            for _ in range(6):
                h = self.cell(self.embed(token), h)
                token = self.out(h).argmax(-1)
                tokens.append(token)
            return torch.stack(tokens, 1), h

    class WhileDecoder(Decoder):
        """Greedy decoding in a while_loop that stops at a token sum."""

        def forward(self, h):
            def condition(i, token, h):
                return (i < 8) & (token.sum() != 3)

            def body(i, token, h):
                h = self.cell(self.embed(token), h)
                return i + 1, self.out(h).argmax(-1), h

            start = (torch.zeros((), dtype=torch.int64), torch.zeros(2, dtype=torch.long), h)
            return while_loop(condition, body, start)

    x = torch.randn(12, 2, 32)
    small = torch.randn(2, 16)
    states = (torch.randn(7, 3, 16), torch.randn(4, 3, 24), torch.randn(4, 3, 24))
    exports = [
        ("lstm", Recurrent(), (x,), (False, True)),
        ("lstm2", Recurrent(num_layers=2), (x,), (False,)),
        ("bilstm_h0", BiLSTM(), states, (False, True)),
        ("gru", Recurrent(nn.GRU), (x,), (False, True)),
        ("gru_batch_first", Recurrent(nn.GRU, batch_first=True), (x.transpose(0, 1),), (False,)),
        ("rnn", Recurrent(nn.RNN), (x,), (False,)),
        ("early_exit_script", torch.jit.script(EarlyExit()), (small,), (False,)),
        ("skip_block_script", torch.jit.script(SkipBlock()), (small,), (False,)),
        ("nested_script", torch.jit.script(Nested()), (torch.randn(2, 8),), (False,)),
        ("cond", Cond(), (torch.randn(4, 16),), (True,)),
        ("blockdrop_cond", BlockDrop(), (torch.randn(4, 16),), (True,)),
        ("while_loop", While(), (small,), (True,)),
        ("decoder_unrolled", Decoder(), (torch.randn(2, 32),), (False, True)),
        ("while_decoder", WhileDecoder(), (torch.randn(2, 32),), (True,)),
    ]
    directory.mkdir(parents=True, exist_ok=True)
    for name, model, inputs, exporters in exports:
        model.eval()
        for dynamo in exporters:
            stem = f"{name}_{'dynamo' if dynamo else 'torchscript'}"
            torch.onnx.export(model, inputs, directory / f"{stem}.onnx", dynamo=dynamo)
            np.savez(directory / f"{stem}.npz", *[t.numpy() for t in inputs])
            print("exported", stem)


def check(directory: Path, json_path: Path | None) -> int:
    import numpy as np
    import onnx
    import onnxruntime

    from quartet.errors import QuartetError
    from quartet.frontend.onnx import compile_model

    rows, failed = [], 0
    print(f"{'model':34} {'cpu err':>9} {'ptx err':>9} {'launches':>8} {'rt':>3}  placements")
    for path in sorted(directory.glob("*.onnx")):
        arrays = np.load(path.with_suffix(".npz"))
        session = onnxruntime.InferenceSession(str(path))
        feeds = {i.name: arrays[f"arr_{k}"] for k, i in enumerate(session.get_inputs())}
        expected = session.run(None, feeds)
        row = {"model": path.stem}
        try:
            model = onnx.load(path)
            for target, key in (("cpu", "cpu_error"), ("sm_90", "ptx_error")):
                compiled = compile_model(model, target=target)
                got = compiled.run(feeds) if target == "cpu" else compiled.emulate(feeds)
                row[key] = max(
                    float(np.max(np.abs(np.asarray(g, np.float64) - e), initial=0.0))
                    for g, e in zip(got.values(), expected, strict=True)
                )
            counters = compiled.compiled.counters
            row["launches"] = counters.launches
            row["round_trips"] = counters.host_round_trips
            row["placements"] = [p.placement for p in counters.placements]
            print(
                f"{path.stem:34} {row['cpu_error']:9.1e} {row['ptx_error']:9.1e} "
                f"{row['launches']:8} {row['round_trips']:3}  {' '.join(row['placements'])}"
            )
            failed += max(row["cpu_error"], row["ptx_error"]) > 1e-4
        except QuartetError as error:
            row["error"] = str(error).splitlines()[0]
            print(f"{path.stem:34} refused: {row['error']}")
            failed += 1
        rows.append(row)
    if json_path is not None:
        json_path.write_text(json.dumps(rows, indent=2) + "\n")
    print(f"{len(rows) - failed}/{len(rows)} within 1e-4 of onnxruntime on both targets")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("export", "check"))
    parser.add_argument("directory", type=Path)
    parser.add_argument("--json", type=Path, help="write the check's rows here")
    arguments = parser.parse_args()
    if arguments.step == "export":
        export(arguments.directory)
        return 0
    return check(arguments.directory, arguments.json)


if __name__ == "__main__":
    sys.exit(main())
