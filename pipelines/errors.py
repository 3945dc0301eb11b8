"""Domain exceptions, caught once at the CLI edge and turned into exit codes.

- :class:`SpecError` (exit 2): bad input - a spec, an override, a path. The message is one line that
  says where (file and YAML path), what was wrong and what would be accepted.
- :class:`DivergedError` (exit 1): a run that failed numerically (NaN or infinite loss).
- :class:`Interrupted` (exit 128 + the signal's number: 130 for Ctrl+C, 143 for SIGTERM): a run
  stopped by a signal; where a run directory exists, the message says how to continue it.
"""

import os
import signal
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SpecError(ValueError):
    """Bad user input: the message names the file or YAML path and what is allowed."""


class DivergedError(RuntimeError):
    """Training produced a non-finite loss; the message names the step."""


class Interrupted(BaseException):
    """A run stopped by a signal (``signal_number``); a run directory that exists is marked interrupted.

    A ``BaseException`` like ``KeyboardInterrupt``, so that ``except Exception`` in a caller's loop does
    not swallow it; not a ``KeyboardInterrupt``, which the CLI framework turns into a silent exit 130.
    """

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number

    @classmethod
    def after(cls, cause: BaseException | int, what_next: str) -> "Interrupted":
        """The stop by ``cause`` (an :class:`Interrupted`, a ``KeyboardInterrupt`` or a signal number),
        its message ``"terminated (SIGTERM)"`` or ``"interrupted"`` followed by ``what_next``."""
        number = cause if isinstance(cause, int) else getattr(cause, "signal_number", signal.SIGINT)
        stopped = "terminated (SIGTERM)" if number == signal.SIGTERM else "interrupted"
        return cls(f"{stopped}{what_next}", number)

    @classmethod
    def of_run(cls, cause: BaseException | int, run_dir: object) -> "Interrupted":
        """The stop by ``cause`` of the run in ``run_dir``, with the command that continues it; under
        ``dvc repro`` (which names the stage in ``DVC_STAGE``) also what a repeated ``dvc repro`` does."""
        stage = os.environ.get("DVC_STAGE")
        if not stage:
            return cls.after(cause, f"; continue with --resume {run_dir}")
        return cls.after(
            cause,
            f"; `dvc repro` would train stage {stage} again from the start (DVC removes its outputs first); "
            f"to continue it instead: sciml train --resume {Path(str(run_dir)).absolute()}, then dvc commit -f {stage}",
        )


def handle_stop_signals() -> None:
    """From now on SIGTERM raises :class:`Interrupted` (so ``finally`` blocks and status records run),
    instead of killing the process where it stands; a second SIGTERM while it stops is ignored, so the
    cleanup is not cut short. Ctrl+C raises ``KeyboardInterrupt`` as before. While the training loops
    run, a SIGTERM is only recorded and every rank stops after the same step (``sciml.pipelines.training``).

    A signal's handler runs wherever the interpreter is, and its exception can be lost there. Python
    drops one raised in a weakref callback or finalizer (it only reports it): about 1 in 60 SIGTERMs
    during generation went that way, and such a stop is delivered again, by sending the signal anew.
    C code may also clear it unreported: a Ctrl+C that arrived while numpy.random's Cython modules were
    first imported (the first generated batch) was lost in 1 of 6 to 1 of 55 tries. Every stop raised
    is therefore recorded, and :func:`raise_lost_stop` raises it again where a long loop checks.
    """
    handler = _RaiseOnce()
    signal.signal(signal.SIGTERM, handler)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:  # not where the shell made it ignored
        signal.signal(signal.SIGINT, _interrupt)
    sys.unraisablehook = _redelivering(sys.unraisablehook, handler)


_raised: list[int] = []  # the signals whose stop a handler raised; see raise_lost_stop


def raise_lost_stop() -> None:
    """Raise again a stop that a handler raised but that did not unwind to here (code that swallowed it).

    Call it only where no stop can be on its way out: between the steps of a long loop (each generated
    batch), which a stop that unwinds never reaches again.
    """
    if _raised:
        number = _raised[-1]
        _raised.clear()
        raise Interrupted("terminated (SIGTERM)", number) if number == signal.SIGTERM else KeyboardInterrupt


class _RaiseOnce:
    """SIGTERM handler: raise :class:`Interrupted` the first time, ignore the signal after that."""

    def __init__(self) -> None:
        self.raised = False

    def __call__(self, signal_number: int, frame: object) -> None:
        if not self.raised:
            self.raised = True
            _raised.append(signal_number)
            raise Interrupted("terminated (SIGTERM)", signal_number)


def _interrupt(signal_number: int, frame: object) -> None:
    """Ctrl+C handler: Python's own, recorded."""
    _raised.append(signal_number)
    raise KeyboardInterrupt


def _redelivering(hook: Callable[[Any], None], handler: _RaiseOnce) -> Callable[[Any], None]:
    """``sys.unraisablehook`` that sends a dropped Ctrl+C or SIGTERM stop to this process again, 0.1 s
    later from another thread (sent from here, the handler would run inside this hook, where Python
    drops exceptions too); it is handled where the main thread next checks, or dropped and sent again."""

    def resend(signal_number: int) -> None:
        time.sleep(0.1)
        handler.raised = False
        os.kill(os.getpid(), signal_number)

    def redeliver(unraisable: Any) -> None:
        stop = unraisable.exc_value
        if not isinstance(stop, (Interrupted, KeyboardInterrupt)):
            hook(unraisable)
            return
        number = getattr(stop, "signal_number", signal.SIGINT)
        threading.Thread(target=resend, args=(number,), daemon=True).start()

    return redeliver


@contextmanager
def user_path(what: str) -> Iterator[None]:
    """Turn an ``OSError`` on a path the user chose into a :class:`SpecError` naming ``what`` (an option or spec key)."""
    try:
        yield
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        raise SpecError(f"{what}: {where}{error.strerror or error}") from error


@contextmanager
def user_file(what: str, path: str | Path) -> Iterator[Path]:
    """Read a data file the user named: a :class:`SpecError` naming ``what`` (a spec key) and the file if it
    is missing or not a regular file, or if reading it inside the block fails (unreadable, truncated,
    not the format its suffix says). Yields the path."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"{what}: no such file {str(path)!r} (relative paths are from the working directory)")
    if not path.is_file():
        raise SpecError(f"{what}: {str(path)!r} is not a regular file")
    try:
        yield path
    except SpecError:
        raise
    except (OSError, ValueError, EOFError, TypeError, KeyError, zipfile.BadZipFile) as error:
        lines = [line.strip() for line in str(error).strip().splitlines()]
        reason = " ".join(lines[:2]) if lines else type(error).__name__  # numpy's csv reader: headline, then the line
        raise SpecError(f"{what}: cannot read {str(path)!r}: {reason}") from error
