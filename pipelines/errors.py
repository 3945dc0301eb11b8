"""Domain exceptions, caught once at the CLI edge and turned into exit codes.

- :class:`SpecError` (exit 2): bad input - a spec, an override, a path. The message is one line that
  says where (file and YAML path), what was wrong and what would be accepted.
- :class:`DivergedError` (exit 1): a run that failed numerically (NaN or infinite loss).
- :class:`Interrupted` (exit 128 + the signal's number: 130 for Ctrl+C, 143 for SIGTERM): a run
  stopped by a signal; where a run directory exists, the message says how to continue it.
"""

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class SpecError(ValueError):
    """Bad user input: the message names the file or YAML path and what is allowed."""


class DivergedError(RuntimeError):
    """Training produced a non-finite loss; the message names the step."""


class Interrupted(BaseException):
    """Training stopped by a signal (``signal_number``); the run directory is marked interrupted.

    A ``BaseException`` like ``KeyboardInterrupt``, so that ``except Exception`` in a caller's loop does
    not swallow it; not a ``KeyboardInterrupt``, which the CLI framework turns into a silent exit 130.
    """

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number

    @classmethod
    def of_run(cls, signal_number: int, run_dir: Path) -> "Interrupted":
        """The stop of the run in ``run_dir`` by ``signal_number``, with the command that continues it."""
        what = "terminated (SIGTERM)" if signal_number == signal.SIGTERM else "interrupted"
        return cls(f"{what}; continue with --resume {run_dir}", signal_number)


def raise_on_sigterm() -> None:
    """From now on SIGTERM raises :class:`Interrupted` (so ``finally`` blocks and status records run),
    instead of killing the process where it stands. While the training loops run, a SIGTERM is only
    recorded and every rank stops after the same step (``sciml.pipelines.training``)."""

    def terminated(signal_number: int, frame: object) -> None:
        raise Interrupted("terminated (SIGTERM)", signal_number)

    signal.signal(signal.SIGTERM, terminated)


@contextmanager
def user_path(what: str) -> Iterator[None]:
    """Turn an ``OSError`` on a path the user chose into a :class:`SpecError` naming ``what`` (an option or spec key)."""
    try:
        yield
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        raise SpecError(f"{what}: {where}{error.strerror or error}") from error
