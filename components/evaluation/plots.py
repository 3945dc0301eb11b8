"""Files every evaluator writes: PNG figures (matplotlib, no display needed) and CSV tables for ``dvc plots``."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path


def figure(rows: int, cols: int, size: float = 3.0):
    """A matplotlib figure and axes grid on the Agg backend (works on machines with no screen)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(rows, cols, figsize=(size * cols, size * rows), squeeze=False)


def save(fig, path: Path) -> Path:
    """Save and close ``fig``."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence]) -> Path:
    """A CSV table with a header row."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
