"""Tests of tinygrad_w.viz: golden DOT for small graphs, what the SVG shows, determinism across processes,
collapsing big graphs, escaping, network diagrams and the fallback when Graphviz's `dot` is missing.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change to the drawings.
"""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tinygrad_w import Value, linear, topological_order, viz
from tinygrad_w.errors import ArgumentError, OperandTypeError
from tinygrad_w.nn.layers import MLP
from tinygrad_w.train.losses import mse
from tinygrad_w.viz.colours import BLUES, ORANGES, grad_colours
from tinygrad_w.viz.dot import svg_text
from tinygrad_w.viz.text import format_number, markup, printable, shorten

GOLDEN = Path(__file__).resolve().parent / "golden"
SVG = "{http://www.w3.org/2000/svg}"
XLINK_TITLE = "{http://www.w3.org/1999/xlink}title"


# ----------------------------------------------------------------------------------------------------
# Helpers


def small_expression() -> Value:
    """a·b + a·a, through tanh, times a constant, plus an unlabelled input; backward done."""
    a = Value(2.0, "a")
    b = Value(-3.0, "b")
    c = a * b + a * a
    out = c.tanh() * 2 + Value(0.5)
    out.backward()
    return out


def fixed_mlp(fused: bool = False) -> MLP:
    """MLP(2, [2, 1]) with hand-set parameters, so golden files do not depend on the initializer."""
    model = MLP(2, [2, 1], activation="tanh", seed=0, fused=fused)
    values = [0.5, -0.25, 0.1, -0.75, 0.125, 0.0, 1.5, -2.0, 0.3]
    for parameter, value in zip(model.parameters(), values, strict=True):
        parameter.data = value
    return model


def mlp_loss(model: MLP, samples: int, seed: int = 0) -> Value:
    """Mean squared error of the model on ``samples`` fixed points (backward done)."""
    xs = [[math.sin(1.3 * i + seed), math.cos(0.7 * i)] for i in range(samples)]
    ys = [1.0 if i % 2 else -1.0 for i in range(samples)]
    outputs = [model(x) for x in xs]
    loss = mse(outputs, ys)  # type: ignore[arg-type]
    loss.backward()
    return loss


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.read_text(encoding="utf-8") == text, f"{name} changed; rerun with UPDATE_GOLDEN=1 if intended"


def svg_of(drawing: object, tmp_path: Path, name: str = "drawing.svg") -> ET.Element:
    path = viz.render(drawing, tmp_path / name)  # type: ignore[arg-type]
    assert path.suffix == ".svg"
    return ET.parse(path).getroot()


def svg_texts(root: ET.Element) -> str:
    """All the text the SVG shows, one piece per line."""
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG}text"))


def svg_tooltips(root: ET.Element) -> list[str]:
    return [a.attrib[XLINK_TITLE] for a in root.iter(f"{SVG}a") if XLINK_TITLE in a.attrib]


def as_tooltip(text: str) -> str:
    """What a tooltip shows for ``text``: backslashes become the look-alike ⧵ (see text.printable)."""
    return printable(text)


def no_space(text: str) -> str:
    """Graphviz writes runs of spaces as no-break spaces; compare text without any whitespace."""
    return "".join(text.split())


def value_nodes(source: str) -> list[str]:
    """Names of the Value boxes in a DOT source (v0, v1, ...)."""
    return re.findall(r"^\t(v\d+) \[", source, flags=re.MULTILINE)


def caption(source: str) -> str:
    """The drawing's caption (the graph label), its wrapped lines joined with spaces."""
    line = next(line for line in source.splitlines() if line.startswith("\tlabel=<"))
    return line.removeprefix("\tlabel=<").removesuffix(">").replace('<br align="left"/>', " ")


def hidden_counts(source: str) -> list[int]:
    return [int(n.replace(",", "")) for n in re.findall(r"<td>([\d,]+) values hidden</td>", source)]


# ----------------------------------------------------------------------------------------------------
# Golden files: the exact DOT of small drawings


def test_small_expression_matches_its_golden_dot() -> None:
    check_golden("expression.dot", viz.draw_graph(small_expression()).source)


def test_network_diagram_matches_its_golden_dot() -> None:
    model = fixed_mlp()
    mlp_loss(model, 3)
    check_golden("network.dot", viz.draw_network(model).source)


def test_neuron_boxes_match_their_golden_dot() -> None:
    model = fixed_mlp()
    out = model([0.5, -1.0])
    assert isinstance(out, Value)
    out.backward()
    check_golden("neurons.dot", viz.draw_graph(out, collapse="neurons", network=model).source)


# ----------------------------------------------------------------------------------------------------
# What a drawing contains


def test_one_box_per_value_one_op_per_computed_value_and_one_edge_per_use() -> None:
    a = Value(3.0, "a")
    square = a * a
    out = square + 2.0
    source = viz.draw_graph(out).source
    assert value_nodes(source) == ["v0", "v1", "v2"]
    assert re.findall(r"^\t(o\d+) \[", source, flags=re.MULTILINE) == ["o1", "o2"]
    assert source.count("\tv0 -> o1\n") == 2  # a * a: two uses, two edges
    assert "\tc2_1 [label=<2.0000>" in source  # the constant 2 is its own node
    assert 'style="dashed"' in source


def test_parameters_inputs_and_computed_values_are_told_apart() -> None:
    parameter = Value(1.0, "w")
    unlabelled_input = Value(2.0)
    out = parameter * unlabelled_input
    out.backward()
    lines = {
        m.group(1): m.group(0) for m in re.finditer(r"^\t(v\d+) \[.*$", viz.draw_graph(out).source, re.M)
    }
    assert 'peripheries="2"' in lines["v0"] and "rounded" in lines["v0"]
    assert 'peripheries="2"' not in lines["v1"] and "rounded" in lines["v1"]
    assert "rounded" not in lines["v2"] and "peripheries" not in lines["v2"]


def test_gradient_colours_show_sign_and_size() -> None:
    assert grad_colours(0.0, 1.0) == ("white", "black")
    assert grad_colours(1.0, 1.0)[0] == BLUES[4]
    assert grad_colours(-1.0, 1.0)[0] == ORANGES[4]
    shades = [BLUES.index(grad_colours(g, 1.0)[0]) for g in (1e-4, 0.02, 0.1, 0.3, 0.9)]
    assert shades == [0, 1, 2, 3, 4]


def test_numbers_use_the_requested_decimals_and_tooltips_keep_full_precision() -> None:
    x = Value(1 / 3, "x")
    out = x * 1.0
    out.backward()
    source = viz.draw_graph(out, decimals=2).source
    assert "data 0.33" in source and "data 0.333" not in source
    assert repr(1 / 3) in source
    assert format_number(1e-9, 4) == "1.0000e-09"  # a tiny gradient is not shown as 0
    assert format_number(-0.0, 4) == "0.0000"


@given(st.floats(-1e12, 1e12, allow_nan=False), st.integers(0, 8))
def test_every_number_is_written_one_way_with_two_significant_digits_at_least(
    x: float, decimals: int
) -> None:
    text = format_number(x, decimals)
    if x != 0.0 and not 1e-8 <= abs(x) < 1e9:
        assert "e" in text  # only the extremes are scientific
        return
    assert "e" not in text
    shown = len(text.split(".")[1]) if "." in text else 0
    assert shown >= decimals
    assert abs(float(text) - x) <= 0.5 * 10.0**-shown * (1 + 1e-9) + abs(x) * 1e-15  # correctly rounded
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    assert x == 0.0 or abs(x) >= 1.0 or len(digits) >= 2  # below 1: at least two significant digits


def test_small_and_tiny_gradients_side_by_side_use_the_same_notation() -> None:
    a, b = Value(1.0, "a"), Value(1.0, "b")
    out = a * -0.00010234 + b * -4.3067e-05
    out.backward()
    source = viz.draw_graph(out).source
    assert "grad -0.00010<" in source and "grad -0.000043<" in source
    picture = re.sub(r'tooltip="(?:[^"\\]|\\.)*"', "", source)  # tooltips keep repr's full precision
    assert "e-05" in source and "e-0" not in picture


def test_svg_shows_every_parameter_label_value_and_gradient(dot_binary: str, tmp_path: Path) -> None:
    model = MLP(2, [3, 1], seed=1)
    loss = mlp_loss(model, 2)
    root = svg_of(viz.draw_graph(loss, collapse="none"), tmp_path)
    texts, tooltips = svg_texts(root), "\n".join(svg_tooltips(root))
    for parameter in model.parameters():
        row = re.search(rf"^{re.escape(parameter.label)}\ndata (\S+)\ngrad (\S+)$", texts, re.MULTILINE)
        assert row is not None, parameter.label
        assert row.group(1) == format_number(parameter.data)
        assert row.group(2) == format_number(parameter.grad)
        assert repr(parameter) in tooltips  # full precision on hover


# ----------------------------------------------------------------------------------------------------
# Determinism


DETERMINISM_SCRIPT = """
import hashlib, math
from tinygrad_w import Value, viz
from tinygrad_w.train.losses import mse
from tinygrad_w.nn import MLP
model = MLP(2, [4, 3, 1], seed=5)
xs = [[math.sin(i), math.cos(i)] for i in range(4)]
loss = mse([model(x) for x in xs], [1.0, -1.0, 1.0, -1.0])
loss.backward()
names = {"a", "b", "c", "d"}  # set order changes with PYTHONHASHSEED; the drawing must not
leaves = [Value(float(len(n)), n) for n in names]
expr = sum(sorted(leaves, key=lambda v: v.label), Value(0.0)) * loss
expr.backward()
chain = Value(0.1, "x")
for _ in range(3000):
    chain = chain.tanh() + 0.01
sources = [viz.draw_graph(expr).source, viz.draw_graph(loss, collapse="neurons", network=model).source,
           viz.draw_graph(loss, max_nodes=60).source, viz.draw_graph(chain).source, viz.draw_network(model).source]
print(hashlib.sha256("\\x00".join(sources).encode()).hexdigest())
"""


def test_dot_source_is_identical_in_every_process_whatever_the_hash_seed() -> None:
    digests = set()
    for seed in ("0", "1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [sys.executable, "-c", DETERMINISM_SCRIPT], env=env, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        digests.add(result.stdout.strip())
    assert len(digests) == 1


def test_node_names_come_from_the_topological_order() -> None:
    out = small_expression()
    names = value_nodes(viz.draw_graph(out).source)
    assert names == [f"v{i}" for i in range(len(topological_order(out)))]


# ----------------------------------------------------------------------------------------------------
# Big graphs collapse, and say so


def test_a_million_node_chain_draws_collapsed_without_recursion(dot_binary: str, tmp_path: Path) -> None:
    x = Value(0.5, "x")
    v = x
    for _ in range(1_000_000):
        v = v.tanh()
    drawing = viz.draw_graph(v)
    source = drawing.source
    assert len(value_nodes(source)) + sum(hidden_counts(source)) == 1_000_001
    assert "1,000,001 values need more than max_nodes=400 boxes" in caption(source)
    assert source.count(" -> ") < 200
    texts = svg_texts(svg_of(drawing, tmp_path))
    assert "values hidden" in texts and "depths" in texts


def test_a_large_mlp_loss_graph_collapses_layer_by_layer(dot_binary: str, tmp_path: Path) -> None:
    model = MLP(2, [16, 16, 1], seed=0)
    loss = mlp_loss(model, 20)
    order = topological_order(loss)
    assert "each pass through a layer" not in caption(viz.draw_graph(loss).source)  # needs the network
    drawing = viz.draw_graph(loss, network=model)
    source = drawing.source
    assert "each pass through a layer is one box" in caption(source)
    boxes = re.findall(r"^\t(\w+) \[", source, re.MULTILINE)
    assert len(boxes) <= viz.DEFAULT_MAX_NODES
    # every Value is drawn, hidden in a box, or a parameter listed inside boxes
    assert len(value_nodes(source)) + sum(hidden_counts(source)) + len(model.parameters()) == len(order)
    assert source.count("<b>layer 2 (16 neurons)</b>") == 20  # one box per sample and layer
    svg_of(drawing, tmp_path)


def test_a_loss_over_many_samples_draws_two_samples_and_folds_the_rest(
    dot_binary: str, tmp_path: Path
) -> None:
    model = MLP(2, [16, 16, 1], seed=0, fused=True)
    loss = mlp_loss(model, 200)
    drawing = viz.draw_graph(loss, network=model)
    source = drawing.source
    assert "the first 2 of the 200 terms of a sum are drawn" in caption(source)
    assert "<b>198 more terms of the sum of 200 terms, like the first 2</b>" in source
    assert source.count("<b>layer 1 (16 neurons)</b>") == 2
    order = topological_order(loss)
    assert len(value_nodes(source)) + sum(hidden_counts(source)) + len(model.parameters()) == len(order)
    svg_of(drawing, tmp_path)


def test_a_long_sum_of_leaves_shows_two_terms_and_one_box_for_the_rest() -> None:
    leaves = [Value(float(i % 7)) for i in range(20_000)]
    total = sum(leaves, Value(0.0, "start"))
    source = viz.draw_graph(total).source
    assert "the first 2 of the 20,001 terms" in caption(source)
    assert sum(hidden_counts(source)) + len(value_nodes(source)) == len(topological_order(total))


def test_too_many_edges_collapse_further_than_too_many_boxes() -> None:
    model = MLP(2, [40, 40, 1], seed=0)
    out = model([0.1, 0.2])
    assert isinstance(out, Value)
    # 81 boxes and 1,680 edges fit in 400 nodes; with 100 nodes, 10 edges per node are too few
    assert "each pass through a neuron" in caption(viz.draw_graph(out, network=model).source)
    assert "each pass through a layer" in caption(viz.draw_graph(out, max_nodes=100, network=model).source)


def test_huge_tooltips_are_cut_so_dot_accepts_them(dot_binary: str, tmp_path: Path) -> None:
    weights = [Value(0.1 * (k % 10), f"w{k}") for k in range(3000)]
    out = linear(weights, [1.0] * 3000, 0.0)
    source = viz.draw_graph(out, collapse="none").source
    assert "more characters)" in source
    svg_of(viz.draw_graph(out), tmp_path)


def test_the_demo_writes_every_drawing(dot_binary: str, tmp_path: Path) -> None:
    demo = Path(__file__).resolve().parent.parent / "demos" / "draw_graphs.py"
    result = subprocess.run(
        [sys.executable, str(demo), "--out", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    expected = [
        "expression.svg",
        "neuron.svg",
        "mlp_loss_collapsed.svg",
        "mlp_loss_folded.svg",
        "mlp_one_sample_neurons.svg",
        "network.svg",
        "network.png",
        "network_small.svg",
        "deep_chain_collapsed.svg",
        "backprop_steps/index.html",
        "backprop_neuron/index.html",
        "training/index.html",
        "training/training.gif",
    ]
    for name in expected:
        assert f"wrote {tmp_path / name}" in result.stdout
        if name.endswith(".svg"):
            ET.parse(tmp_path / name)
    collapsed = (tmp_path / "mlp_loss_collapsed.svg").read_text(encoding="utf-8")
    assert "each pass through a layer is one box" in collapsed
    expression_texts = svg_texts(ET.parse(tmp_path / "expression.svg").getroot())
    assert {"x0", "x1", "w0", "w1"} <= set(expression_texts.split()) and "x2" not in expression_texts
    # The 50,000-node chain is wrapped into rows: once 9,622 pixels wide, now under 4,000 points.
    chain = ET.parse(tmp_path / "deep_chain_collapsed.svg").getroot()
    assert float(chain.attrib["width"].removesuffix("pt")) < 4000


def test_neuron_boxes_hide_their_parameters_and_count_everything() -> None:
    for fused in (False, True):
        model = fixed_mlp(fused=fused)
        loss = mlp_loss(model, 3)
        source = viz.draw_graph(loss, collapse="neurons", network=model).source
        titles = re.findall(r"<b>(neuron L\d\.N\d)</b>", source)
        assert sorted(set(titles)) == ["neuron L1.N0", "neuron L1.N1", "neuron L2.N0"]
        assert len(titles) == 9  # three samples through three neurons
        assert "L1.N0.w0</b>" not in source  # parameters are inside the boxes, not drawn
        assert source.count("<td>3 parameters inside</td>") == 9
        # every Value is drawn, hidden in a box, or one of the 9 parameters listed inside boxes
        assert len(value_nodes(source)) + sum(hidden_counts(source)) + 9 == len(topological_order(loss))


def test_collapsed_boxes_report_what_they_hide() -> None:
    v = Value(1.0)
    for _ in range(5000):
        v = v * 0.5 + 1.0
    source = viz.draw_graph(v, max_nodes=100).source
    assert re.search(r"ops: (\* ×[\d,]+, \+ ×[\d,]+|\+ ×[\d,]+, \* ×[\d,]+)", source)
    assert "summarised by depth" in caption(source)


def test_collapse_modes_are_checked() -> None:
    with pytest.raises(ArgumentError, match="collapse"):
        viz.draw_graph(Value(1.0) * 2, collapse="sideways")
    with pytest.raises(ArgumentError, match=re.escape("collapse='neurons' needs network=")):
        viz.draw_graph(Value(1.0) * 2, collapse="neurons")


# ----------------------------------------------------------------------------------------------------
# Escaping

NASTY = ['say "hi"', "{braces}", "<b>not bold</b>", "a|b", "back\\slash", "two\nlines", "&amp;", "tab\there"]


@pytest.mark.parametrize("label", NASTY)
def test_labels_are_escaped_in_the_dot_source(label: str) -> None:
    x = Value(1.0, label)
    source = viz.draw_graph(x * 2).source
    line = next(line for line in source.splitlines() if line.startswith("\tv0 "))
    label_markup, rest = line.split("label=<", 1)[1].split("> shape=", 1)
    assert markup(label) in label_markup
    if any(ch in label for ch in '<>"\n'):
        assert label not in label_markup
    tooltip = rest.split("tooltip=", 1)[1]
    assert tooltip.startswith('"') and tooltip.endswith('"]')
    # inside the quoted tooltip, every quote is escaped and no raw newline is left
    inner = tooltip[1:-2].replace("\\\\", "")
    assert re.search(r'(?<!\\)"', inner) is None and "\n" not in inner


@settings(
    max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture]
)  # dot_binary is a path
@given(label=st.text(min_size=1, max_size=30))
def test_any_label_renders_and_shows_literally(dot_binary: str, label: str) -> None:
    x = Value(-1.5, label)
    out = x * x
    out.backward()
    svg = svg_text(viz.draw_graph(out), "test")
    assert svg is not None
    root = ET.fromstring(svg)
    assert no_space(shorten(printable(label))) in no_space(svg_texts(root))
    assert any(as_tooltip(repr(x)) in tip for tip in svg_tooltips(root))


def test_every_nasty_label_survives_dot(dot_binary: str, tmp_path: Path) -> None:
    leaves = [Value(float(i), label) for i, label in enumerate(NASTY)]
    out = sum(leaves, Value(0.0, "zero"))
    out.backward()
    root = svg_of(viz.draw_graph(out), tmp_path)
    texts = no_space(svg_texts(root))
    tooltips = svg_tooltips(root)
    for leaf in leaves:
        assert no_space(printable(leaf.label)) in texts
        assert any(as_tooltip(repr(leaf)) in tip for tip in tooltips)


# ----------------------------------------------------------------------------------------------------
# Files, and the fallback without dot


def test_render_picks_the_format_from_the_suffix(dot_binary: str, tmp_path: Path) -> None:
    drawing = viz.draw_graph(small_expression())
    magic = {".svg": b"<?xml", ".png": b"\x89PNG", ".pdf": b"%PDF", ".dot": b"digraph"}
    for suffix, start in magic.items():
        path = viz.render(drawing, tmp_path / f"picture{suffix}")
        assert path == tmp_path / f"picture{suffix}"
        assert path.read_bytes().startswith(start)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        f"picture{s}" for s in sorted(magic)
    ]  # no temp files
    with pytest.raises(ArgumentError, match=re.escape("picture.jpeg")):
        viz.render(drawing, tmp_path / "picture.jpeg")
    with pytest.raises(OperandTypeError):
        viz.render(42, tmp_path / "x.svg")  # type: ignore[arg-type]


def test_without_dot_render_writes_the_dot_source_and_warns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    drawing = viz.draw_graph(small_expression())
    with pytest.warns(viz.GraphvizMissingWarning, match="apt-get install graphviz"):
        path = viz.render(drawing, tmp_path / "out" / "picture.svg")
    assert path == tmp_path / "out" / "picture.dot"
    assert path.read_text(encoding="utf-8") == drawing.source
    assert not (tmp_path / "out" / "picture.svg").exists()


def test_in_jupyter_a_drawing_shows_svg_or_its_source_never_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    drawing = viz.draw_graph(small_expression())
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    bundle = drawing._repr_mimebundle_()
    assert drawing.source in bundle["text/plain"]
    assert "apt-get install graphviz" in bundle["text/html"]


def test_in_jupyter_a_drawing_displays_as_svg(dot_binary: str) -> None:
    import graphviz

    drawing = viz.draw_graph(small_expression())
    assert isinstance(drawing, graphviz.Digraph)
    assert drawing._repr_mimebundle_()["image/svg+xml"].lstrip().startswith("<?xml")


def test_import_does_not_need_graphviz() -> None:
    script = "import sys; sys.modules['graphviz'] = None; import tinygrad_w; print(tinygrad_w.viz.__name__)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# ----------------------------------------------------------------------------------------------------
# Bad input


def test_bad_arguments_raise_typed_errors_naming_the_value() -> None:
    with pytest.raises(OperandTypeError, match=re.escape("draw_graph: expected a Value, got float 3.0")):
        viz.draw_graph(3.0)  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match=r"decimals .* got -1"):
        viz.draw_graph(Value(1.0), decimals=-1)
    with pytest.raises(ArgumentError, match=r"rankdir .* got 'up'"):
        viz.draw_graph(Value(1.0), rankdir="up")
    with pytest.raises(ArgumentError, match=r"max_nodes .* got 3"):
        viz.draw_graph(Value(1.0), max_nodes=3)
    with pytest.raises(OperandTypeError, match="draw_network"):
        viz.draw_network(Value(1.0))  # type: ignore[arg-type]

    class Odd:
        nin = 2
        layers = (object(),)

    with pytest.raises(OperandTypeError, match=r"layer 1 \(object\) is not a layer of neurons"):
        viz.draw_network(Odd())  # type: ignore[arg-type]
    with pytest.raises(ArgumentError, match="3 input_names for a model with 2 inputs"):
        viz.draw_network(fixed_mlp(), input_names=["a", "b", "c"])


def test_drawing_changes_no_value() -> None:
    out = small_expression()
    before = [(v.data, v.grad, v.label) for v in topological_order(out)]
    viz.draw_graph(out, max_nodes=20)
    viz.draw_graph(out)
    assert [(v.data, v.grad, v.label) for v in topological_order(out)] == before
