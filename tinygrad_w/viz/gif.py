"""An animated GIF of training: each frame the network picture beside the loss curve (matplotlib draws
the curve, Pillow puts the frames together; both are imported only here)."""

from __future__ import annotations

import io
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinygrad_w.errors import RenderError
from tinygrad_w.viz.colours import HIGHLIGHT, POSITIVE
from tinygrad_w.viz.dot import write_file

__all__ = ["GIF_SIZE", "MAX_GIF_FRAMES", "chosen_frames", "write_gif"]

# Longer runs show evenly spread epochs (and the last): each frame costs ~0.15 s to draw for a 2-16-16-1
# network with heat maps, and the file grows with the frames.
MAX_GIF_FRAMES = 60
GIF_SIZE = (960, 720)  # pixels: the network picture is drawn (or shrunk) to fit in this size


def _libraries(where: str) -> tuple[Any, Any, Any]:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from PIL import Image
    except ImportError:
        raise RenderError(
            f"{where}: writing the GIF needs matplotlib and Pillow (pip install 'tinygrad-w[plot]'); "
            "pass gif=False to write only the page"
        ) from None
    return Figure, FigureCanvasAgg, Image


def chosen_frames(count: int, limit: int = MAX_GIF_FRAMES) -> list[int]:
    """At most ``limit`` frame numbers, evenly spread, always with the first and the last."""
    if count <= limit:
        return list(range(count))
    return sorted({round(k * (count - 1) / (limit - 1)) for k in range(limit)})


def write_gif(
    path: Path,
    shown: Sequence[tuple[int, bytes]],
    epochs: Sequence[int],
    losses: Sequence[float | None],
    captions: Sequence[str],
    seconds: float,
) -> None:
    """Write the GIF: for each (k, PNG) in ``shown``, the PNG beside the loss curve (loss against epoch)
    with frame k marked and captioned."""
    figure_class, canvas_class, image = _libraries("animate_training")
    panel = _LossPanel(figure_class, canvas_class, epochs, losses)
    frames = []
    for k, png in shown:
        picture = image.open(io.BytesIO(png)).convert("RGB")
        picture.thumbnail(GIF_SIZE)
        curve = image.frombuffer("RGBA", *panel.draw(k, captions[k])).convert("RGB")
        frame = image.new("RGB", (picture.width + curve.width, max(picture.height, curve.height)), "white")
        frame.paste(curve, (0, 0))
        frame.paste(picture, (curve.width, 0))
        frames.append(frame)
    # One palette for every frame, from the last (it has every colour the run uses): faster than a
    # palette per frame, and colours do not flicker.
    palette = frames[-1].quantize(colors=255, method=image.Quantize.FASTOCTREE)
    indexed = [frame.quantize(palette=palette, dither=image.Dither.NONE) for frame in frames]
    buffer = io.BytesIO()
    duration = max(20, round(1000 * seconds))
    indexed[0].save(buffer, format="GIF", save_all=True, append_images=indexed[1:], duration=duration, loop=0)
    write_file(path, buffer.getvalue())


class _LossPanel:
    """The loss curve (epochs on x, loss on y), drawn once; each frame moves the marker and the title."""

    def __init__(
        self, figure_class: Any, canvas_class: Any, epochs: Sequence[int], losses: Sequence[float | None]
    ) -> None:
        self.epochs, self.losses = epochs, losses
        self.figure = figure_class(figsize=(4.2, 3.0), dpi=100)
        self.canvas = canvas_class(self.figure)
        axes = self.figure.add_subplot(1, 1, 1)
        known = [(epoch, loss) for epoch, loss in zip(epochs, losses) if loss is not None]
        if known:
            axes.plot([e for e, _ in known], [loss for _, loss in known], color=POSITIVE, linewidth=1.5)
        axes.set(xlabel="epoch", ylabel="loss", xlim=(epochs[0], max(epochs[-1], epochs[0] + 1)))
        self.line = axes.axvline(epochs[0], color="#999999", linestyle="--", linewidth=1, animated=True)
        (self.dot,) = axes.plot(
            [epochs[0]], [known[0][1] if known else 0.0], "o", color=HIGHLIGHT, animated=True
        )
        self.title = axes.set_title("\n\n", fontsize=9, loc="left", animated=True)
        self.axes = axes
        self.figure.tight_layout()  # once, with room for a three-line title
        self.canvas.draw()  # everything but the animated marker and title, kept to be copied each frame
        self.background = self.canvas.copy_from_bbox(self.figure.bbox)

    def draw(self, k: int, caption: str) -> tuple[tuple[int, int], Any]:
        """The panel for frame ``k``: (size, RGBA buffer). Speed: only the marker and the title are
        drawn again (about 10× faster than drawing the whole figure each frame)."""
        self.canvas.restore_region(self.background)
        loss = self.losses[k]
        if loss is not None:
            self.line.set_xdata([self.epochs[k], self.epochs[k]])
            self.dot.set_data([self.epochs[k]], [loss])
            self.axes.draw_artist(self.line)
            self.axes.draw_artist(self.dot)
        self.title.set_text("\n".join(textwrap.wrap(caption, 44)))
        self.axes.draw_artist(self.title)
        return self.canvas.get_width_height(), self.canvas.buffer_rgba()
