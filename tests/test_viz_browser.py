"""The step-through and training pages in a real browser (headless Chromium): they load without console
errors, and the slider, the arrow keys, Home/End and the buttons change the frame, showing exactly the
pictures Python drew.

The test copies a page, adds a script at the start (it records errors) and one at the end (after load it
presses keys, moves the slider, clicks buttons, and writes what the page showed into the DOM), and reads
that back from ``chromium --headless --dump-dom``. Chromium's console output goes to stderr; any line
from the console fails the test, since the pages themselves print nothing.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from tinygrad_w import Value, viz
from tinygrad_w.nn.layers import MLP, Neuron
from tinygrad_w.train import data
from tinygrad_w.train.fit import fit
from tinygrad_w.viz.text import format_number

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
SVG = "{http://www.w3.org/2000/svg}"

RECORD_ERRORS = """<script>
window.__errors = [];
window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });
console.error = function () { window.__errors.push(Array.prototype.join.call(arguments, " ")); };
</script>"""

DRIVE = """<script>
window.addEventListener("load", function () { setTimeout(function () {
  var slider = document.getElementById("slider"), seen = [];
  function texts() {
    var svg = document.querySelector(".picture svg");
    return svg ? Array.prototype.map.call(svg.querySelectorAll("text"), function (t) { return t.textContent; }) : [];
  }
  function note(how) {
    seen.push({how: how, frame: Number(document.body.getAttribute("data-frame")), slider: Number(slider.value),
               caption: document.getElementById("caption").textContent,
               picture: document.querySelector(".picture").innerHTML, texts: texts()});
  }
  function key(name) { document.dispatchEvent(new KeyboardEvent("keydown", {key: name, bubbles: true})); note(name); }
  note("load");
  key("ArrowRight"); key("ArrowRight"); key("ArrowLeft"); key("End"); key("Home");
  slider.value = "2"; slider.dispatchEvent(new Event("input", {bubbles: true})); note("slider");
  document.getElementById("last").click(); note("last");
  document.getElementById("previous").click(); note("previous");
  document.getElementById("first").click(); note("first");
  document.getElementById("next").click(); note("next");
  var out = document.createElement("pre");
  out.id = "harness-result";
  out.textContent = JSON.stringify({errors: window.__errors, seen: seen, frames: Number(slider.max) + 1});
  document.body.appendChild(out);
}, 0); });
</script>"""


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's chromium (scripts/setup.sh installs it in CI); skip locally without it, fail in CI."""
    found = next(
        (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None
    )
    if found is None:
        if IN_CI:
            pytest.fail("chromium is not installed; CI must run the browser tests (see scripts/setup.sh)")
        pytest.skip("chromium is not installed (Debian: apt-get install chromium)")
    return found


def drive(chromium: str, page: Path) -> dict[str, Any]:
    """Open a copy of ``page`` with the two scripts added; what the page showed at each action."""
    text = page.read_text(encoding="utf-8")
    driven = page.with_name("driven.html")
    driven.write_text(text.replace("<head>", "<head>\n" + RECORD_ERRORS, 1).replace("</body>", DRIVE + "</body>"),
                      encoding="utf-8")  # fmt: skip
    profile = page.parent / "chromium-profile"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={profile}", "--virtual-time-budget=20000", "--dump-dom", driven.as_uri()],
        capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert console == [], console  # no error, warning or message from the page
    found = re.search(r'<pre id="harness-result">(.*?)</pre>', result.stdout, re.S)
    assert found is not None, result.stdout[-2000:]
    report: dict[str, Any] = json.loads(html.unescape(found[1]))
    assert report["errors"] == []
    return report


def check_navigation(report: dict[str, Any], captions: list[str]) -> None:
    """Each action shows the frame it should, with its caption, and a frame looks the same however it
    was reached."""
    last = report["frames"] - 1
    assert last == len(captions) - 1 >= 2
    expected = [
        ("load", 0), ("ArrowRight", 1), ("ArrowRight", 2), ("ArrowLeft", 1), ("End", last), ("Home", 0),
        ("slider", 2), ("last", last), ("previous", last - 1), ("first", 0), ("next", 1),
    ]  # fmt: skip
    assert [(s["how"], s["frame"]) for s in report["seen"]] == expected
    pictures: dict[int, str] = {}
    for seen in report["seen"]:
        assert seen["slider"] == seen["frame"]
        assert seen["caption"] == captions[seen["frame"]]
        assert pictures.setdefault(seen["frame"], seen["picture"]) == seen["picture"]
    assert len(set(pictures.values())) == len(pictures)  # every frame looks different


def svg_texts(path: Path, leave_out: str = "") -> list[str]:
    root = ET.parse(path).getroot()
    texts = []
    for group in root.iter(f"{SVG}g"):
        if group.get("class") == "node" and group.get("id") != leave_out:
            texts += ["".join(t.itertext()) for t in group.iter(f"{SVG}text")]
    return texts


def test_the_step_through_page_works_in_a_browser(chromium: str, dot_binary: str, tmp_path: Path) -> None:
    neuron = Neuron(3, activation="tanh", seed=1, label="L1.N0")
    out = neuron([Value(0.5, "x0"), Value(-1.0, "x1"), Value(2.0, "x2")])
    index = viz.backprop_frames(out, tmp_path / "steps")
    _, steps = viz.backprop_steps(out)
    report = drive(chromium, index)
    check_navigation(report, [f"Step {s.number} of {len(steps) - 1}. {s.text}" for s in steps])
    for seen in report["seen"]:  # the page's picture is the frame Python drew, caption aside
        frame = tmp_path / "steps" / f"frame_{seen['frame']:03d}.svg"
        assert [t.replace("\xa0", " ") for t in seen["texts"]] == svg_texts(frame, leave_out="caption")


def test_the_training_animation_works_in_a_browser(chromium: str, dot_binary: str, tmp_path: Path) -> None:
    X, y = data.moons(30, noise=0.1, seed=0)
    model = MLP(2, [3, 1], activation="tanh", seed=0)
    history = fit(model, X, y, loss="mse", lr=0.2, epochs=6, record_weights=True, progress=False)
    index = viz.animate_training(model, history, tmp_path / "training")
    report = drive(chromium, index)
    captions = ["Epoch 0 of 6: the weights before training."]
    captions += [
        f"Epoch {k} of 6: loss {format_number(loss)}." for k, loss in enumerate(history.loss, start=1)
    ]
    check_navigation(report, captions)
    for seen in report["seen"]:  # every edge shows that epoch's weight
        k = seen["frame"]
        for label, values in history.weights.items():
            if ".w" in label:
                weight = history.initial_weights[label] if k == 0 else values[k - 1]
                assert f"w {format_number(weight)}" in seen["texts"], (k, label)


def test_heat_maps_follow_the_epochs_in_a_browser(chromium: str, dot_binary: str, tmp_path: Path) -> None:
    X, y = data.moons(20, noise=0.1, seed=0)
    model = MLP(2, [8, 8, 1], activation="tanh", seed=0)  # 88 weights: heat maps instead of edge labels
    history = fit(model, X, y, loss="mse", lr=0.5, epochs=4, record_weights=True, progress=False)
    report = drive(chromium, viz.animate_training(model, history, tmp_path / "training", gif=False))
    for seen in report["seen"]:  # each layer's colour bar ends at that epoch's largest |w|
        k = seen["frame"]
        for layer in model.layers:
            labels = [w.label for w in layer.weights()]
            values = [history.initial_weights[x] if k == 0 else history.weights[x][k - 1] for x in labels]
            assert format_number(max(map(abs, values))) in seen["texts"], (k, labels[0])
