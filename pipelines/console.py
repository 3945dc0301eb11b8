"""Rich output shared by the stages: messages, a generation progress bar and the final metrics table.

Everything goes to stderr, so ``sciml show`` and ``sciml schema`` can be piped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

console = Console(stderr=True)


def say(message: str) -> None:
    """One status line (rich markup allowed)."""
    console.print(message, highlight=False)


@contextmanager
def progress_bar(description: str) -> Iterator:
    """A progress bar, shown from the first ``update(label, done, total)`` it yields (so that an error
    before any progress is the only line on stderr)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    progress, tasks = Progress(*columns, console=console, transient=False), {}

    def update(label: str, done: int, total: int) -> None:
        if not tasks:
            progress.start()
        if label not in tasks:
            tasks[label] = progress.add_task(f"{description} {label}", total=total)
        progress.update(tasks[label], completed=done)

    try:
        yield update
    finally:
        if tasks:
            progress.stop()


def flatten(data: Mapping, prefix: str = "", sep: str = "/") -> dict[str, Any]:
    """``{"a": {"b": 1}, "c": [{"d": 2}]}`` -> ``{"a/b": 1, "c/0/d": 2}``; lists of scalars stay whole."""
    flat: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, list) and any(isinstance(item, (Mapping, list)) for item in value):
            value = {str(i): item for i, item in enumerate(value)}
        if isinstance(value, Mapping):
            flat.update(flatten(value, name, sep))
        else:
            flat[name] = value
    return flat


def metrics_table(metrics: Mapping, title: str) -> None:
    """Print nested metrics as a two-column table."""
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in flatten(metrics).items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    console.print(table)
