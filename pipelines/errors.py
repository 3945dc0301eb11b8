"""Domain exceptions, caught once at the CLI edge and turned into exit codes.

- :class:`SpecError` (exit 2): bad input - a spec, an override, a path. The message is one line that
  says where (file and YAML path), what was wrong and what would be accepted.
- :class:`DivergedError` (exit 1): a run that failed numerically (NaN or infinite loss).
"""


class SpecError(ValueError):
    """Bad user input: the message names the file or YAML path and what is allowed."""


class DivergedError(RuntimeError):
    """Training produced a non-finite loss; the message names the step."""
