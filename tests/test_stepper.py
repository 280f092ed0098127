"""Tests of tinygrad_w.stepper: the step-by-step replay of backward agrees with the engine, fills the
gradients in from the output to the leaves, and writes frames plus a page to step through them."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_w import Value, grad, topological_order
from tinygrad_w.errors import ArgumentError, DomainError, OperandTypeError, OperationZeroDivisionError
from tinygrad_w.nn.layers import Neuron
from tinygrad_w.viz import GraphvizMissingWarning
from tinygrad_w.viz.stepper import backprop_frames, backprop_steps
from tinygrad_w.viz.text import format_number

SVG = "{http://www.w3.org/2000/svg}"


def expression(a: float = 2.0, b: float = -3.0) -> Value:
    x, y = Value(a, "a"), Value(b, "b")
    return (x * y + x * x).tanh() * 2 + Value(0.5)


@settings(max_examples=40)
@given(
    st.floats(-3, 3, allow_nan=False),
    st.floats(-3, 3, allow_nan=False),
    st.sampled_from(["tanh", "sigmoid", "relu", "softplus", "exp"]),
)
def test_the_last_step_holds_exactly_the_engines_gradients(a: float, b: float, activation: str) -> None:
    x, y = Value(a, "a"), Value(b, "b")
    out = getattr(x * y + x * x - y / 4.0, activation)() * y
    order, steps = backprop_steps(out)
    assert order == topological_order(out)
    expected = grad(out, order)
    final = steps[-1].grads
    for i, v in enumerate(order):
        assert final[i] == expected[i] or (final[i] is None and v is not out)
    assert steps[-1].finished == frozenset(range(len(order)))
    assert x.grad == 0.0 and y.grad == 0.0  # the replay touches no .grad


def test_gradients_fill_in_from_the_output_to_the_leaves() -> None:
    out = expression()
    order, steps = backprop_steps(out)
    top = len(order) - 1
    assert steps[0].grads[top] == 1.0 and sum(g is not None for g in steps[0].grads) == 1
    known = [sum(g is not None for g in step.grads) for step in steps]
    assert known == sorted(known)  # never forgets a gradient
    finished = [len(step.finished) for step in steps]
    assert finished == sorted(finished) and finished[-1] == len(order)
    walked = [step.node for step in steps[1:-1]]
    assert walked == [i for i in range(top, -1, -1) if order[i].op is not None]  # reverse topological order
    for step in steps[1:-1]:
        assert step.node in steps[step.number - 1].finished  # a node passes back only a complete gradient
    leaves = [i for i, v in enumerate(order) if v.op is None]
    assert all(steps[-2].grads[i] is not None for i in leaves)


def test_every_share_is_local_derivative_times_the_upstream_gradient() -> None:
    out = expression()
    order, steps = backprop_steps(out)
    for step in steps[1:-1]:
        upstream = steps[step.number - 1].grads[step.node]
        assert upstream is not None
        for _, local, share in step.sent:
            assert share == local * upstream
    a_squared = next(s for s in steps if order[s.node].op is not None and order[s.node].op.name == "mul"
                     and order[s.node].children[0] is order[s.node].children[1])  # fmt: skip
    assert len(a_squared.sent) == 2  # a * a sends two shares to a, one per use
    assert "a = " not in a_squared.text and "= mul(a, a)" in a_squared.text


def test_the_step_texts_name_the_op_its_inputs_and_the_shares() -> None:
    x = Value(3.0, "x")
    out = x * 2.0
    _, steps = backprop_steps(out)
    assert steps[0].text.startswith("Start: the gradient of the output #1 with respect to itself is 1")
    assert steps[1].text.startswith("#1 = mul(x, 2.0000) has its complete gradient 1.0000")
    assert "x gets 2.0000 × 1.0000 = 2.0000" in steps[1].text
    assert steps[-1].text.startswith("Done: all 1 leaves")


def test_undefined_derivatives_raise_the_engines_typed_errors() -> None:
    with pytest.raises(OperationZeroDivisionError, match="sqrt"):
        backprop_steps(Value(0.0).sqrt())
    with pytest.raises(OperandTypeError, match="backprop_steps: expected a Value, got int 3"):
        backprop_steps(3)  # type: ignore[arg-type]
    with pytest.raises(DomainError, match="vpow"):
        backprop_steps(Value(-2.0) ** Value(2.0))  # ∂/∂b = a^b · ln a needs a > 0


def frame_svgs(folder: Path) -> list[Path]:
    return sorted(folder.glob("frame_*.svg"))


def texts_of(svg: Path) -> str:
    return "\n".join("".join(t.itertext()) for t in ET.parse(svg).getroot().iter(f"{SVG}text"))


def test_frames_and_page_are_written(dot_binary: str, tmp_path: Path) -> None:
    neuron = Neuron(2, activation="tanh", seed=3, label="L1.N0")
    out = neuron([0.5, -1.5])
    index = backprop_frames(out, tmp_path / "steps")
    _, steps = backprop_steps(out)
    frames = frame_svgs(tmp_path / "steps")
    assert index == tmp_path / "steps" / "index.html"
    assert len(frames) == len(steps)
    for k, frame in enumerate(frames):
        assert f"Step {k} of {len(steps) - 1}." in texts_of(frame)  # each frame carries its step's text
    texts = texts_of(frames[-1])
    for w in [*neuron.w, neuron.b]:
        expected = grad(out, [w])[0]
        assert f"{w.label}\ndata {format_number(w.data)}\ngrad {format_number(expected)}" in texts
    assert "grad ?" in texts_of(frames[0])
    page = index.read_text(encoding="utf-8")
    assert page.count("<svg width=") == 1  # the page holds one picture and what each step changes in it
    data = json.loads(
        re.search(r'<script type="application/json" id="frame-data">(.*?)</script>', page, re.S)[1]
    )
    assert data["captions"] == [f"Step {s.number} of {len(steps) - 1}. {s.text}" for s in steps]
    assert len(data["changes"]) == len(steps) and data["changes"][0] == []
    assert all(changes for changes in data["changes"][1:])  # every step changes something
    assert 'id="slider"' in page and "ArrowRight" in page and "ArrowLeft" in page
    assert not re.search(r"(src|href)=\"https?:", page)  # nothing is loaded from the network
    assert [p.name for p in (tmp_path / "steps").iterdir() if p.name.startswith(".")] == []  # no temp files


def test_the_first_and_last_buttons_show_text_every_font_has(dot_binary: str, tmp_path: Path) -> None:
    page = backprop_frames(expression(), tmp_path / "steps").read_text(encoding="utf-8")
    buttons = re.findall(r'<button id="(\w+)"[^>]*>([^<]*)</button>', page)
    assert [name for name, _ in buttons] == ["first", "previous", "next", "last"]
    for _, text in buttons:
        shown = html.unescape(text)
        assert any(ch.isalpha() for ch in shown) and all(ord(ch) < 0x2190 or ch in "←→" for ch in shown)


def test_every_frame_is_drawn_on_one_layout(dot_binary: str, tmp_path: Path) -> None:
    v = Value(0.1, "x")
    for _ in range(60):
        v = v.tanh() * 0.9
    backprop_frames(v, tmp_path / "chain")
    frames = frame_svgs(tmp_path / "chain")
    assert len(frames) == 60 * 2 + 2

    def geometry(svg: Path) -> tuple[str, list[str]]:
        text = svg.read_text(encoding="utf-8")
        size = re.search(r'<svg width="[^"]+" height="[^"]+"', text)
        assert size is not None
        return size[0], re.findall(
            r'<g id="(v\d+)" class="node">\n<title>v\d+</title>\n(?:<g[^>]*><a[^>]*>\n)?<(?:polygon|path) [^>]*(?:points|d)="([^"]+)"',
            text,
        )

    first = geometry(frames[0])
    assert len(first[1]) == 121  # every Value's box
    for frame in frames[1:]:
        assert geometry(frame) == first  # same size, every box at the same place
    width = float(first[0].split('"')[1].removesuffix("pt"))
    assert width < 3000  # 242 ranks wrapped into rows, not one line 30,000 points long


def test_huge_graphs_are_refused_with_the_reason() -> None:
    v = Value(0.1)
    for _ in range(600):
        v = v.tanh()
    with pytest.raises(ArgumentError, match="600 operations, more than max_steps=500"):
        backprop_frames(v, "unused")
    with pytest.raises(ArgumentError, match="max_steps must be an int from 1 to 5,000, got 10000"):
        backprop_frames(v, "unused", max_steps=10_000)


def test_without_dot_the_frames_are_dot_source(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    with pytest.warns(GraphvizMissingWarning, match="apt-get install graphviz"):
        index = backprop_frames(expression(), tmp_path / "steps")
    frames = sorted((tmp_path / "steps").glob("frame_*.dot"))
    assert len(frames) == 8
    assert all(frame.read_text(encoding="utf-8").startswith("digraph expression {") for frame in frames)
    page = index.read_text(encoding="utf-8")
    assert '<pre id="source">digraph expression {' in page and "is not installed" in page
