"""Text in drawings: the one number format, and escaping for Graphviz labels and quoted DOT strings."""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable

__all__ = [
    "LEFT_BREAK",
    "MAX_LABEL_CHARS",
    "dot_string",
    "format_number",
    "markup",
    "plural",
    "printable",
    "shorten",
    "table",
    "visible_length",
]

LEFT_BREAK = '<br align="left"/>'  # ends a left-aligned line of an HTML-like label
MAX_LABEL_CHARS = 40  # longer labels are shortened on the picture; the tooltip keeps them whole
_BACKSLASH = "\u29f5"  # ⧵, shown in place of a backslash
_MAX_QUOTED_CHARS = 2000  # longer quoted strings are cut (escaping may grow them up to 5×)
_SMALLEST_FIXED, _LARGEST_FIXED = 1e-8, 1e9  # outside this range of |x|, scientific notation


def format_number(x: float, decimals: int = 4) -> str:
    """The one way every drawing writes a number: fixed-point with ``decimals`` digits after the point,
    and more digits for numbers below 1 so that two significant digits always show (``0.000043`` beside
    ``-0.00010``, never ``0.0000``); scientific notation only outside 1e-8 ≤ |x| < 1e9.

    >>> [format_number(x) for x in (2.0, -1.5, 0.00010234, -4.3067e-05, 0.0, -0.0, 1e-9)]
    ['2.0000', '-1.5000', '0.00010', '-0.000043', '0.0000', '0.0000', '1.0000e-09']
    """
    x = x + 0.0  # -0.0 -> 0.0
    magnitude = abs(x)
    if not math.isfinite(x) or (x != 0.0 and not _SMALLEST_FIXED <= magnitude < _LARGEST_FIXED):
        return f"{x:.{max(decimals, 1)}e}"
    if x != 0.0 and magnitude < 1.0:
        # the first significant digit is digit -floor(log10|x|) after the point; show one more
        decimals = max(decimals, 1 - math.floor(math.log10(magnitude)))
    return f"{x:.{decimals}f}"


def visible_length(label: str | None) -> int:
    """Characters an HTML-like label shows (tags and entities aside): how wide its node must be."""
    return len(html.unescape(re.sub(r"<[^>]*>", "", label or "")))


def plural(count: int, noun: str) -> str:
    """``1 neuron``, ``2 neurons``, ``1,000 values``."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def printable(text: str) -> str:
    """Text as drawings show it: control characters (other than newline) as visible escapes, since SVG
    cannot hold them, and backslashes as the look-alike ⧵ (U+29F5), since Graphviz reads backslashes
    as escapes even in HTML-like labels (``\\N`` would become the node's name)."""
    if not text.isprintable():
        text = "".join(
            ch if ch.isprintable() or ch == "\n" else ch.encode("unicode_escape").decode("ascii")
            for ch in text
        )
    return text.replace("\\", _BACKSLASH)


def markup(text: str) -> str:
    """Text for an HTML-like Graphviz label: entities for & < > " ', <br/> for newlines."""
    return html.escape(printable(text), quote=True).replace("\n", "<br/>")


def dot_string(text: str) -> str:
    """A double-quoted DOT string that shows ``text`` literally (tooltips, plain labels).

    Graphviz reads such strings as escStrings and, in SVG tooltips, decodes ``&...;`` entities too. So
    backslashes are shown as ⧵ (see :func:`printable`), ``&`` is written ``&amp;``, quotes are escaped
    and newlines become ``\\n``. Graphviz refuses quoted strings longer than 16,384 characters, so long
    texts are cut and say how much is missing.
    """
    if len(text) > _MAX_QUOTED_CHARS:
        text = text[:_MAX_QUOTED_CHARS] + f"… ({len(text) - _MAX_QUOTED_CHARS:,} more characters)"
    escaped = printable(text).replace("&", "&amp;").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n") + '"'


def shorten(text: str) -> str:
    """At most MAX_LABEL_CHARS characters, ending with … when cut."""
    return text if len(text) <= MAX_LABEL_CHARS else text[: MAX_LABEL_CHARS - 1] + "…"


def table(rows: Iterable[Iterable[str]], **table_attributes: str) -> str:
    """An HTML-like table from rows of cells (cells are markup already)."""
    attributes = {
        "border": "0",
        "cellborder": "0",
        "cellspacing": "0",
        "cellpadding": "2",
        **table_attributes,
    }
    head = " ".join(f'{key}="{value}"' for key, value in attributes.items())
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table {head}>{body}</table>"
