"""Self-contained HTML pages that step through frames: buttons, a slider and the arrow keys.

A page holds its first picture once and, for every later frame, only the pieces that change (each
piece is an element with an ``id``: a node of an SVG drawn by Graphviz, say). Nothing is loaded from
the network: the page works offline and on its own.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence

__all__ = [
    "CONTROLS",
    "CONTROLS_SCRIPT",
    "PAGE_STYLE",
    "TOKENS",
    "data_script",
    "encode_changes",
    "frames_page",
]

PAGE_STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
.controls { position: sticky; top: 0; background: white; padding: 0.5em 0; z-index: 1; }
button { font-size: 1em; padding: 0.3em 0.8em; }
#slider { width: 20em; vertical-align: middle; }
#counter { display: inline-block; min-width: 8em; text-align: center; }
.frame { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.picture { flex: 1 1 40em; min-width: 0; }
.picture svg { max-width: 100%; height: auto; }
#caption { font-size: 1.05em; max-width: 60em; min-height: 3em; }
pre { background: #f4f4f4; padding: 1em; overflow: auto; }
"""

# Text on the buttons, not symbols such as U+23EE that many fonts lack (Chromium showed empty boxes).
CONTROLS = """<div class="controls">
<button id="first" title="first frame (Home)">&laquo; first</button>
<button id="previous" title="previous frame (&larr;)">&larr; previous</button>
<span id="counter"></span>
<button id="next" title="next frame (&rarr;)">next &rarr;</button>
<button id="last" title="last frame (End)">last &raquo;</button>
<input id="slider" type="range" min="0" max="0" value="0" aria-label="frame">
</div>"""

# controls(count, show): wires the buttons, the slider and the keys to show(frame number).
CONTROLS_SCRIPT = """
function controls(count, show, label) {
  var current = 0;
  var slider = document.getElementById("slider");
  var counter = document.getElementById("counter");
  slider.max = String(count - 1);
  function go(i) {
    current = Math.max(0, Math.min(count - 1, i));
    show(current);
    slider.value = String(current);
    counter.textContent = label + " " + current + " of " + (count - 1);
    document.body.setAttribute("data-frame", String(current));
  }
  document.getElementById("first").onclick = function () { go(0); };
  document.getElementById("previous").onclick = function () { go(current - 1); };
  document.getElementById("next").onclick = function () { go(current + 1); };
  document.getElementById("last").onclick = function () { go(count - 1); };
  slider.addEventListener("input", function () { go(Number(slider.value)); });
  document.addEventListener("keydown", function (event) {
    if (event.target === slider && (event.key === "ArrowLeft" || event.key === "ArrowRight")) { return; }
    if (event.key === "ArrowRight" || event.key === "PageDown") { go(current + 1); }
    else if (event.key === "ArrowLeft" || event.key === "PageUp") { go(current - 1); }
    else if (event.key === "Home") { go(0); }
    else if (event.key === "End") { go(count - 1); }
    else { return; }
    event.preventDefault();
  });
  go(0);
}
"""

# Swaps in the pieces of each frame. data.changes[k] lists, for each piece frame k changes, [id, markup]
# or [id, patch]: a patch lists [position, text] pairs replacing tokens of the piece's previous markup,
# cut as TOKENS cuts it in Python (attribute values and texts between tags), so the page stays small.
_SWAP_SCRIPT = """
(function () {
  var data = JSON.parse(document.getElementById("frame-data").textContent);
  var captions = data.captions, versions = {}, shown = {}, tokens = /("[^"]*"|>[^<]*<)/;
  function patched(markup, patch) {
    var parts = markup.split(tokens);
    patch.forEach(function (change) { parts[change[0]] = change[1]; });
    return parts.join("");
  }
  data.changes.forEach(function (changes, k) {
    changes.forEach(function (change) {
      var id = change[0];
      if (!versions[id]) { versions[id] = [[0, document.getElementById(id), data.base[id]]]; shown[id] = 0; }
      var list = versions[id], before = list[list.length - 1][2];
      var markup = typeof change[1] === "string" ? change[1] : patched(before, change[1]);
      list.push([k, null, markup]);
    });
  });
  function element(id, v) {
    var version = versions[id][v];
    if (version[1] === null) {
      var wrapped = data.svg
        ? '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">' + version[2] + "</svg>"
        : "<div>" + version[2] + "</div>";
      var parsed = new DOMParser().parseFromString(wrapped, data.svg ? "image/svg+xml" : "text/html");
      version[1] = document.importNode(parsed.getElementById(id), true);
    }
    return version[1];
  }
  function show(k) {
    Object.keys(versions).forEach(function (id) {
      var list = versions[id], v = 0;
      while (v + 1 < list.length && list[v + 1][0] <= k) { v++; }
      if (v !== shown[id]) { element(id, shown[id]).replaceWith(element(id, v)); shown[id] = v; }
    });
    document.getElementById("caption").textContent = captions[k];
  }
  controls(captions.length, show, data.label);
})();
"""

TOKENS = re.compile(r'("[^"]*"|>[^<]*<)')  # the same cut as the page's script makes


def encode_changes(
    base: dict[str, str], changes: Sequence[Sequence[tuple[str, str]]]
) -> list[list[tuple[str, str | list[tuple[int, str]]]]]:
    """Each change as a patch of the piece's previous markup when only attribute values and texts
    differ (a weight's colour and width, a number), else as the whole markup."""
    latest = dict(base)
    encoded: list[list[tuple[str, str | list[tuple[int, str]]]]] = []
    for frame in changes:
        encoded.append([])
        for piece, markup in frame:
            before, after = TOKENS.split(latest[piece]), TOKENS.split(markup)
            if len(before) == len(after) and before[::2] == after[::2]:  # the same tags in the same order
                encoded[-1].append(
                    (piece, [(k, text) for k, text in enumerate(after) if k % 2 and text != before[k]])
                )
            else:
                encoded[-1].append((piece, markup))
            latest[piece] = markup
    return encoded


def data_script(data: object) -> str:
    """A JSON script element the page's script reads (``</`` escaped so the data cannot end the element)."""
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("</", "<\\/")
    return f'<script type="application/json" id="frame-data">{text}</script>'


def frames_page(
    title: str,
    intro: str,
    picture: str,
    captions: Sequence[str],
    changes: Sequence[Sequence[tuple[str, str]]],
    base: dict[str, str],
    *,
    svg: bool = True,
    label: str = "frame",
    aside: str = "",
) -> str:
    """A page showing ``picture`` (markup of frame 0), then for frame k the pieces ``changes[k]`` as
    (element id, markup) pairs, with ``captions[k]`` above; ``base`` holds the frame-0 markup of every
    piece that changes. ``svg``: the pieces are SVG (else HTML).
    ``aside`` (markup, a plot say) goes between the caption and the picture; its pieces may change too."""
    data = {
        "captions": list(captions),
        "changes": encode_changes(base, changes),
        "base": base,
        "svg": svg,
        "label": label,
    }
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<style>{PAGE_STYLE}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
<p>{intro}</p>
{CONTROLS}
<p id="caption"></p>
<div class="frame">
{aside}
<div class="picture">
{picture}
</div>
</div>
{data_script(data)}
<script>{CONTROLS_SCRIPT}{_SWAP_SCRIPT}</script>
</body>
</html>
"""
