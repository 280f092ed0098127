"""Tests of the training animation: it reads a fit History or plain snapshots, shows each epoch's numbers,
leaves the model alone, refuses what it cannot draw, and writes a small self-contained page and a GIF.
(tests/test_viz_browser.py drives the page in a real browser.)"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_w import viz
from tinygrad_w.errors import ArgumentError
from tinygrad_w.nn.layers import MLP
from tinygrad_w.train import data
from tinygrad_w.train.fit import fit
from tinygrad_w.viz.gif import chosen_frames
from tinygrad_w.viz.page import TOKENS, encode_changes
from tinygrad_w.viz.text import format_number


def page_data(index: Path) -> dict[str, object]:
    page = index.read_text(encoding="utf-8")
    found = re.search(r'<script type="application/json" id="frame-data">(.*?)</script>', page, re.S)
    assert found is not None
    loaded: dict[str, object] = json.loads(found[1].replace("<\\/", "</"))
    return loaded


def replay(loaded: dict[str, object], frame: int) -> dict[str, str]:
    """The pieces that changed by ``frame``, rebuilt from the page's data as its script does."""
    pieces = dict(loaded["base"])  # type: ignore[call-overload]
    for changes in loaded["changes"][1 : frame + 1]:  # type: ignore[index]
        for piece, change in changes:
            if isinstance(change, str):
                pieces[piece] = change
            else:
                parts = TOKENS.split(pieces[piece])
                for position, text in change:
                    parts[position] = text
                pieces[piece] = "".join(parts)
    return pieces


def trained(epochs: int = 5) -> tuple[MLP, object]:
    X, y = data.moons(24, noise=0.1, seed=1)
    model = MLP(2, [3, 1], activation="tanh", seed=2)
    history = fit(model, X, y, loss="mse", lr=0.2, epochs=epochs, record_weights=True, progress=False)
    return model, history


def snapshots_with_gradients(model: MLP, epochs: int) -> list[viz.Snapshot]:
    """Made-up states of training, with gradients, as a user without fit would record them."""
    params = model.parameters()
    return [
        viz.Snapshot(
            k,
            {p.label: p.data * (1.0 - 0.1 * k) for p in params},
            None if k == 0 else 1.0 / (k + 1),
            {p.label: 0.01 * (i + 1) * (-1) ** i for i, p in enumerate(params)},
        )
        for k in range(epochs + 1)
    ]


def test_a_fit_history_becomes_one_frame_per_epoch_plus_the_start(dot_binary: str, tmp_path: Path) -> None:
    model, history = trained(5)
    before = [p.data for p in model.parameters()]
    index = viz.animate_training(model, history, tmp_path / "run")  # type: ignore[arg-type]
    assert [p.data for p in model.parameters()] == before  # the model is only read
    loaded = page_data(index)
    captions = loaded["captions"]
    assert isinstance(captions, list) and len(captions) == 6
    assert captions[0] == "Epoch 0 of 5: the weights before training."
    assert captions[5] == f"Epoch 5 of 5: loss {format_number(history.loss[-1])}."  # type: ignore[attr-defined]
    page = index.read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"https?:", page)  # nothing is loaded from the network
    assert page.count('<svg width="') == 1 and page.count('<svg class="loss-curve"') == 1
    first_weight = model.layers[0].neurons[0].w[0]
    initial = history.initial_weights[first_weight.label]  # type: ignore[attr-defined]
    assert f"w {format_number(initial)}" in page  # frame 0 shows the weights before training
    assert "∂w" not in page  # History records no gradients, so none are shown
    assert (tmp_path / "run" / "training.gif").read_bytes().startswith(b"GIF89a")


def test_snapshots_with_gradients_show_them_on_one_scale(dot_binary: str, tmp_path: Path) -> None:
    model = MLP(2, [2, 1], activation="tanh", seed=0)
    snapshots = snapshots_with_gradients(model, 4)
    index = viz.animate_training(model, snapshots, tmp_path / "run", gif=False)
    page = index.read_text(encoding="utf-8")
    w0 = model.layers[0].neurons[0].w[0]
    assert f"∂w {format_number(snapshots[0].grads[w0.label])}" in page  # type: ignore[index]
    # Weights shrink to 60% by the last epoch; on one scale for every frame, the thickest edge does too.
    last = replay(page_data(index), 4)
    widths = [
        float(w)
        for name, piece in last.items()
        if name.startswith("edge")
        for w in re.findall(r'<path [^>]*stroke-width="([\d.]+)"', piece)
    ]
    thickest = 0.3 + 3.7 * 0.6
    assert max(widths) == pytest.approx(thickest, abs=0.02)
    assert not (tmp_path / "run" / "training.gif").exists()


def test_the_gif_has_a_frame_per_epoch_with_the_picture_and_the_curve(
    dot_binary: str, tmp_path: Path
) -> None:
    from PIL import Image

    model = MLP(2, [2, 1], activation="tanh", seed=0)
    viz.animate_training(model, snapshots_with_gradients(model, 4), tmp_path / "run")
    gif = Image.open(tmp_path / "run" / "training.gif")
    assert gif.n_frames == 5 and gif.width > 600 and gif.height > 250
    gif.seek(0)
    first = gif.convert("RGB").tobytes()
    gif.seek(4)
    assert gif.convert("RGB").tobytes() != first


@given(st.integers(1, 1000), st.integers(2, 120))
def test_long_runs_show_evenly_spread_epochs_with_the_first_and_the_last(count: int, limit: int) -> None:
    frames = chosen_frames(count, limit)
    assert frames == sorted(set(frames)) and len(frames) <= limit
    assert frames[0] == 0 and frames[-1] == count - 1
    assert len(frames) == min(count, limit) or len(frames) >= limit - 1  # rounding may merge two


TAGS = st.lists(st.sampled_from(['<g id="a">', "<text>", "</text>", '<path d="M1,2"/>', "</g>"]), max_size=6)


@given(
    TAGS,
    st.lists(st.lists(st.sampled_from(['"x"', '"y"', ">7<", ">8<", "<b>", "</b>"]), max_size=4), max_size=4),
)
def test_changes_are_sent_as_patches_that_rebuild_every_version(
    tags: list[str], versions: list[list[str]]
) -> None:
    base = "".join(tags)
    markups = [base + "".join(v) for v in versions]
    encoded = encode_changes({"a": base}, [[("a", m)] for m in markups])
    latest = base
    for frame, markup in zip(encoded, markups):
        ((piece, change),) = frame
        if isinstance(change, str):
            latest = change
        else:  # what the page's script does: cut the previous version, replace the patched tokens
            parts = TOKENS.split(latest)
            for position, text in change:
                parts[position] = text
            latest = "".join(parts)
        assert piece == "a" and latest == markup


def test_what_cannot_be_drawn_is_refused_with_the_reason(tmp_path: Path) -> None:
    X, y = data.moons(10, noise=0.1, seed=1)
    model = MLP(2, [2, 1], seed=0)
    plain = fit(model, X, y, loss="mse", lr=0.1, epochs=2, progress=False)
    with pytest.raises(ArgumentError, match=re.escape("record_weights=True")):
        viz.animate_training(model, plain, tmp_path)
    snapshots = snapshots_with_gradients(model, 1)
    del snapshots[1].weights["L1.N1.b"]  # type: ignore[attr-defined]
    with pytest.raises(ArgumentError, match=r"epoch 1 has no value for .*L1\.N1\.b"):
        viz.animate_training(model, snapshots, tmp_path)
    snapshots = snapshots_with_gradients(model, 1)
    snapshots[0].weights["L1.N0.w0"] = math.nan  # type: ignore[index]
    with pytest.raises(ArgumentError, match=r"epoch 0: .*L1\.N0\.w0.* not finite"):
        viz.animate_training(model, snapshots, tmp_path)
    assert list(tmp_path.iterdir()) == []  # nothing written
