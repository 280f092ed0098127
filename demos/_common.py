"""What every demo shares: the command line, printing a table, and writing figures, JSON and CSV.

Each demo runs as ``python demos/NAME.py [--quick] [--out DIR]``. ``--quick`` shrinks the experiment
so it finishes in a few seconds (the tests run every demo that way); without it the demo runs the real
experiment. Figures, a ``results.json`` with the measured numbers and CSV tables go to ``--out``
(default ``out/NAME``). Files are written atomically: to a temporary file in the same folder, then
renamed over the target, so a reader never sees half a file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

try:
    from tinygrad_w.atomic import write_atomically, write_bytes_atomically
except ModuleNotFoundError as missing:  # run with a Python that has not got the package (outside .venv)
    sys.exit(
        f"demos: cannot import {missing.name!r}; run `make setup` once, then `.venv/bin/python {sys.argv[0]}`"
    )

Item = TypeVar("Item")


def parse_args(
    name: str, description: str, extra: Callable[[argparse.ArgumentParser], None] | None = None
) -> argparse.Namespace:
    """Read ``--quick`` and ``--out DIR`` (and a demo's own options, added by ``extra``); make the folder."""
    parser = argparse.ArgumentParser(prog=f"demos/{name}.py", description=description)
    parser.add_argument("--quick", action="store_true", help="a small, fast version of the experiment")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("out") / name,
        help=f"folder for figures and numbers (default out/{name})",
    )
    if extra is not None:
        extra(parser)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"{name}: {'quick' if args.quick else 'full'} run, writing to {args.out}")
    return args


def format_cell(value: object) -> str:
    """A number in a table: floats with 4 significant decimals, everything else as str."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if value != 0.0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
            return f"{value:.3e}"
        return f"{value:.4f}"
    return str(value)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str = "") -> str:
    """Print rows under headers, columns aligned; return the text (tests and README read it)."""
    cells = [[format_cell(v) for v in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    lines = []
    if title:
        lines.append(title)
    lines.append("  ".join(h.rjust(w) for h, w in zip(headers, widths)))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells)
    text = "\n".join(lines)
    print(text)
    print()
    return text


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_bytes_atomically(path, text.encode("utf-8"))
    return path


def write_json(path: Path, data: Any) -> Path:
    """Numbers the demo measured, so its claims can be checked by a program (the tests do)."""
    return write_text(path, json.dumps(data, indent=2, sort_keys=True, allow_nan=True) + "\n")


def write_csv(path: Path, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(headers)
    writer.writerows([[repr(v) if isinstance(v, float) else v for v in row] for row in rows])
    return write_text(path, buffer.getvalue())


def pyplot() -> Any:
    """matplotlib.pyplot on the Agg backend (no window: demos only write PNG files)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig: Any, path: Path, rect: tuple[float, float, float, float] = (0, 0, 1, 1)) -> Path:
    """Write a matplotlib figure as PNG (atomically) and close it. The panels fill ``rect`` (figure
    fractions left, bottom, right, top): leave room there for a legend shared by every panel."""
    plt = pyplot()
    try:
        fig.tight_layout(rect=rect)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, lambda file: fig.savefig(file, format="png", dpi=110))
    finally:
        plt.close(fig)
    print(f"wrote {path}")
    return path


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """``with stopwatch() as t: ...`` then ``t[0]`` is the elapsed wall time in seconds."""
    elapsed = [0.0]
    start = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - start


def progress(items: Iterable[Item], description: str, total: int | None = None) -> Iterable[Item]:
    """``items`` with a tqdm progress bar on stderr when it is a terminal (nothing otherwise, or without
    tqdm): the long demos would be silent for minutes."""
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return items
    return tqdm(items, desc=description, total=total, disable=None, leave=False)  # type: ignore[no-any-return]


def dead_unit_share(model: Any, rows: Sequence[Sequence[float]]) -> float:
    """Share of an MLP's hidden units whose output is 0 for every sample. For relu such a unit is dead:
    its gradient is 0 for every sample too, so gradient descent never brings it back."""
    per_layer: list[list[list[float]]] = [[] for _ in model.layers[:-1]]
    for row in rows:
        values = [float(x) for x in row]
        for outputs, layer in zip(per_layer, model.layers[:-1]):
            out = layer(values)
            values = [v.data for v in (out if isinstance(out, list) else [out])]  # one neuron: a Value
            outputs.append(values)
    units = [unit for outputs in per_layer for unit in zip(*outputs)]  # a unit's outputs over the samples
    return sum(1 for unit in units if max(unit) <= 0.0) / len(units)
