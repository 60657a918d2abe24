"""Figures without global state: a matplotlib ``Figure`` on the Agg canvas, saved as PNG atomically.

No ``pyplot``: library code never touches matplotlib's global figure manager or backend, so it
works headless and in threads, and a figure is freed as soon as it goes out of scope.
"""

from __future__ import annotations

import io
import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqlab.files import write_atomic


def new_figure(width: float = 7.0, height: float = 4.5) -> Figure:
    """A blank figure (inches) drawn by the Agg backend."""
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_png(figure: Figure, path: str | os.PathLike, dpi: int = 120) -> None:
    """Render ``figure`` to PNG and write it to ``path`` atomically."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    write_atomic(path, buffer.getvalue())
