"""Domain exceptions, caught once at the CLI edge and turned into exit codes.

- :class:`SpecError` (exit 2): bad input - a spec, an override, a path. The message is one line that
  says where (file and YAML path), what was wrong and what would be accepted.
- :class:`DivergedError` (exit 1): a run that failed numerically (NaN or infinite loss).
- :class:`Interrupted` (exit 128 + the signal's number: 130 for Ctrl+C, 143 for SIGTERM): a training
  run stopped by a signal; the message says how to continue it.
"""


class SpecError(ValueError):
    """Bad user input: the message names the file or YAML path and what is allowed."""


class DivergedError(RuntimeError):
    """Training produced a non-finite loss; the message names the step."""


class Interrupted(RuntimeError):
    """Training stopped by a signal (``signal_number``); the run directory is marked interrupted."""

    def __init__(self, message: str, signal_number: int):
        super().__init__(message)
        self.signal_number = signal_number
