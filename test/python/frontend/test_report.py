"""ONNX node names carried into the IR, and ``quartet compile --report``'s page: its operator
graph, kernel table and tiles read back from the compiled model, and the page in a browser."""

from __future__ import annotations

import base64
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest
from fusion_models import mlp, resnet18
from mlir import ir
from models import FLOAT, encoder, encoder_layer, make_model
from onnx import helper
from test_errors import assert_user_error, quartet

import quartet as quartet_api
from quartet.dialects import create_context
from quartet.frontend.onnx import compile_model, import_model
from quartet.hardware import H100_SXM
from quartet.pipeline import parse_pipeline, run_pipeline
from quartet.pipelines import pipeline_text, steps_for
from quartet.ptxas import find_ptxas

pytest.importorskip("matplotlib", reason="the report extra (pip install 'quartet[report]')")
pytest.importorskip("networkx", reason="the report extra (pip install 'quartet[report]')")

from quartet.report import render  # noqa: E402 - after the extra's check
from quartet.report.operators import operator_graph  # noqa: E402
from quartet.tools.check_report import check_page, find_browser  # noqa: E402

needs_ptxas = pytest.mark.skipif(find_ptxas() is None, reason="ptxas (CUDA) is not installed")


@pytest.fixture(scope="module")
def encoder_model():
    """One launch per kernel (schedule none): the report's kernel rows are launches."""
    return compile_model(encoder_layer(), schedule="none", cache=False)


def test_every_operator_is_located_at_its_onnx_node():
    """Each linalg op the importer writes carries loc("<node>"): its name, else its first
    output's; a graph output's copy is named after the output."""
    graph = import_model(encoder_layer())
    with create_context():
        module = ir.Module.parse(graph.text)
        names = []
        for op in module.body.operations[0].regions[0].blocks[0].operations:
            if op.operation.name in ("linalg.generic", "linalg.fill"):
                assert op.location.is_a_name(), op
                names.append(op.location.name_str)
    outputs = {output for node in encoder_layer().graph.node for output in node.output}
    assert set(names) <= outputs and {"q0", "scores", "probs", "f2", "y"} <= set(names)


def test_names_with_quotes_backslashes_and_newlines_survive_the_text():
    name = 'a "quoted"\\node\nwith a newline'
    node = helper.make_node("Relu", ["x"], ["y"], name=name)
    graph = import_model(make_model([node], [("x", FLOAT, [4])], [("y", FLOAT, [4])]))
    with create_context():
        module = ir.Module.parse(graph.text)
        located = [
            op.location.name_str
            for op in module.body.operations[0].regions[0].blocks[0].operations
            if op.location.is_a_name()
        ]
    assert located == [name]


def test_welder_names_the_onnx_nodes_of_edges_it_kept_apart(encoder_model):
    notes = encoder_model.compiled.counters.kept_apart
    assert notes, "the encoder layer keeps some edge apart"
    for note in notes:
        producer, consumer = re.match(r"(\S+) \([^)]*\) -> (\S+) \(", note).groups()
        assert not re.fullmatch(r"op\d+", producer) and not re.fullmatch(r"op\d+", consumer)
    assert any(note.startswith("f1 (elementwise 2x8x32) -> f2 ") for note in notes), notes


def test_the_operator_graph_of_an_encoder_layer(encoder_model):
    """One launch per kernel call, its operators named per launch; edges inside a kernel at
    the level Welder chose, between launches in global memory from the last writer."""
    compiled = encoder_model.compiled
    graph = operator_graph(compiled.loops_ir, compiled.entry)
    assert len(graph.launches) == compiled.launches
    by_name = {}
    for use in graph.operators:
        by_name.setdefault(use.name, []).append(use)
    level = {(c.producer, c.consumer): c.level for c in graph.connections}
    (context1,) = by_name["context1"]
    (attn0,) = [use for use in by_name["attn0"] if use.reads_tensors]
    assert context1.key[0] != attn0.key[0]
    assert level[(context1.key, attn0.key)] == "global"  # through the reshape's view
    scores0 = next(use for use in by_name["scores0"] if use.reads_tensors)
    assert level[(by_name["q"][0].key, scores0.key)] == "reg"
    fills = [use for use in graph.operators if not use.reads_tensors]
    assert fills and all(use.summary.startswith("elementwise") for use in fills)
    assert all(c.level in ("reg", "smem", "global") for c in graph.connections)
    for launch in graph.launches:
        assert launch.modelled_seconds is not None and 0 < launch.modelled_seconds < 1e-3


def test_the_operator_graph_reads_through_a_veu_program():
    """Under Rammer the host calls one vEU program whose segments call the task functions:
    the graph is the same launches, operators, names and edges as the launch list quartet-
    rammer was given (the same graph-to-loops pipeline, up to Rammer's step)."""
    built = compile_model(encoder_layer(), cache=False)
    rammer = built.compiled
    assert rammer.launches == 1
    prefix, _ = steps_for("sm_90", schedule="rammer")
    with create_context(), ir.Location.unknown():
        module = ir.Module.parse(built.graph.text)
        run_pipeline(module, parse_pipeline(pipeline_text(prefix[:-1])))
        launch_list = str(module)
    assert operator_graph(rammer.loops_ir, rammer.entry) == operator_graph(
        launch_list, rammer.entry
    )
    page = render(rammer, "encoder layer")
    (veu,) = rammer.schedules
    facts = page.split('<section id="rammer">')[1].split("</section>")[0]
    for text in (f"{veu.figures.veus} ({veu.device.sms} SMs × {veu.device.per_sm})",
                 f"{veu.figures.tasks}", f"({veu.figures.ratio:.2f}×)"):  # fmt: skip
        assert text in facts
    (png,) = re.findall(r'src="data:image/png;base64,([^"]+)"', facts)
    assert base64.b64decode(png).startswith(b"\x89PNG")


def test_launches_of_one_kernel_keep_their_own_names():
    """Two identical layers share their kernels; each launch names its own layer's nodes."""
    compiled = compile_model(encoder(2), cache=False).compiled
    graph = operator_graph(compiled.loops_ir, compiled.entry)
    uses = {
        kernel: [lc for lc in graph.launches if lc.kernel == kernel] for kernel in graph.kernels
    }
    shared = [launches for launches in uses.values() if len(launches) == 2]
    assert shared
    for first, second in shared:
        names = [{use.name for use in launch.operators} for launch in (first, second)]
        assert all(name.startswith("l0_") for name in names[0]), names
        assert all(name.startswith("l1_") for name in names[1]), names


def test_mlir_input_without_names_falls_back_to_op_numbers():
    compiled = quartet_api.compile(Path(quartet_api.__file__).parent / "examples" / "mlp.mlir")
    graph = operator_graph(compiled.loops_ir, compiled.entry)
    names = [use.name for use in graph.operators]
    assert names == [f"op{i}" for i in range(len(names))] and names


@needs_ptxas
def test_the_report_page_of_an_encoder_layer(encoder_model):
    compiled = encoder_model.compiled
    page = render(compiled, "encoder layer")
    for anchor in ("overview", "kernels", "graph", "tiles", "kept-apart"):
        assert f'<section id="{anchor}">' in page
    assert '<section id="rammer">' not in page  # one launch per kernel: nothing co-scheduled
    assert not re.search(r'(src|href)="(https?:)?//', page), "nothing external"
    kernels = _table(page, "kernels")
    assert [row[0] for row in kernels] == [kernel.name for kernel in compiled.kernels]
    for row, kernel in zip(kernels, compiled.kernels, strict=True):
        info = compiled.ptxas[kernel.name]
        occupancy = H100_SXM.occupancy(math.prod(kernel.block), info.registers, kernel.shared_bytes)
        assert row[5] == str(info.registers) and row[7] == f"{occupancy:.0%}"
        assert row[4] == f"{kernel.shared_bytes:,} B" and row[8].endswith("µs")
        traffic = compiled.counters.kernels[kernel.name]
        assert row[9] == f"{(traffic.loaded + traffic.stored) / 1e6:.3f} MB"
    tiles = _table(page, "tiles")
    graph = operator_graph(compiled.loops_ir, compiled.entry)
    first = {launch.kernel: launch for launch in reversed(graph.launches)}
    assert len(tiles) == sum(len(launch.operators) for launch in first.values())
    assert all(re.fullmatch(r"\d+(×\d+)*", row[4]) for row in tiles)
    for note in compiled.counters.kept_apart:
        assert note.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in page
    svgs = re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert len(svgs) == 2
    for data in svgs:
        root = ElementTree.fromstring(base64.b64decode(data))
        assert root.tag.endswith("svg") and len(list(root.iter())) > 50


def test_a_cpu_target_report_has_no_gpu_columns():
    compiled = compile_model(mlp(sizes=(32, 64, 8)), target="cpu", cache=False).compiled
    page = render(compiled, "mlp")
    rows = _table(page, "kernels")
    assert rows and all(row[2] == "—" and row[5] == "—" and row[7] == "—" for row in rows)


@needs_ptxas
def test_compile_report_writes_report_html(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    out = tmp_path / "out"
    result = quartet("compile", str(model), "-o", str(out), "--report", "-q")
    assert result.returncode == 0, result.stderr
    page = (out / "report.html").read_text()
    assert "<title>encoder.onnx</title>" in page and 'id="graph"' in page
    assert result.stderr == ""


def test_report_without_an_output_directory_is_refused(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    result = quartet("compile", str(model), "--report")
    assert_user_error(result, "--report", "-o DIR")


def test_report_without_the_extra_installed_says_how_to_install_it(tmp_path):
    model = tmp_path / "encoder.onnx"
    model.write_bytes(encoder_layer().SerializeToString())
    without_networkx = (
        "import sys; sys.modules['networkx'] = None; "
        "from quartet.tools.cli import main; sys.exit(main())"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            without_networkx,
            "compile",
            str(model),
            "-o",
            str(tmp_path),
            "--report",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert_user_error(result, "networkx is missing", "pip install 'quartet[report]'")
    assert not (tmp_path / "report.html").exists()


browser = find_browser()
needs_browser = pytest.mark.skipif(
    browser is None, reason="no chromium on PATH (Debian: apt-get install chromium)"
)


@needs_ptxas
@needs_browser
def test_the_report_in_a_headless_browser(tmp_path):
    """Chromium loads the page offline: the three pictures (the operator graph, the kernels'
    bars, Rammer's Gantt chart) decode, both tables have rows, and the screenshot shows
    drawings where they are."""
    compiled = compile_model(resnet18(image=32, classes=10), cache=False).compiled
    report = tmp_path / "report.html"
    report.write_text(render(compiled, "resnet18"))
    result = check_page(report, tmp_path / "report.png", browser)
    assert result.ok, result.failures
    assert result.images == 3 and result.tables == 2


@needs_browser
def test_the_browser_check_fails_on_a_broken_picture(tmp_path):
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><html><body><table><tbody></tbody></table>"
        '<img src="data:image/png;base64,AAAA"></body></html>'
    )
    result = check_page(broken, tmp_path / "broken.png", browser)
    assert not result.ok
    assert any("image 0 did not load" in failure for failure in result.failures)
    assert any("table 0 has no rows" in failure for failure in result.failures)


def _table(page: str, anchor: str, number: int = 0) -> list[list[str]]:
    """The body rows of table ``number`` in section ``anchor``, as cell texts (no total)."""
    section = page.split(f'<section id="{anchor}">', 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>")[number + 1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", body):
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row)
        text = [re.sub(r"<[^>]+>", "", cell) for cell in cells]
        rows.append(
            [t.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&") for t in text]
        )
    return rows


@pytest.mark.parametrize("control_flow", ["grid", "device"])
def test_the_report_shows_grinders_placements(control_flow):
    """A data-dependent loop: the page's Grinder section names the loop, where it runs (on
    the grid, or on one CTA where the cost model puts this small body) with the modelled time
    of an iteration in each place, and what one iteration launches, reads back and waits for
    (as report.json's counters say: no grid barrier per iteration on one CTA)."""
    from models import while_loop

    model = while_loop()
    compiled = compile_model(model, target="sm_90", control_flow=control_flow, cache=False)
    compiled = compiled.compiled
    page = render(compiled, "while")
    scope = {"grid": "grid", "device": "cta"}[control_flow]
    (placement,) = compiled.counters.placements
    (row,) = _table(page, "grinder")
    assert row[:2] == [placement.construct, scope] and placement.placement == scope
    seconds = (placement.device_seconds, placement.cta_seconds, placement.host_seconds)
    assert row[3:6] == [f"{value * 1e6:.2f} µs" for value in seconds]
    (loop,) = compiled.counters.loops
    if scope == "grid":
        assert loop.per_iteration.grid_barriers > 0  # the next condition overwrites this one
        assert loop.per_iteration.waits > 0
    else:  # on one CTA: no wait and no grid barrier inside it
        assert loop.per_iteration.grid_barriers == loop.per_iteration.waits == 0
    assert _table(page, "grinder", 1) == [
        [
            loop.loop,
            scope,
            "?",  # a data-dependent trip count
            str(loop.per_iteration.launches),
            "0",  # the condition is read on the device
            str(loop.per_iteration.grid_barriers),
            str(loop.per_iteration.waits),
        ]
    ]
