"""Advisory locks between sciml processes: an exclusive ``flock`` on a lock file.

A lock file rather than the directory it guards, because NFS (where cluster jobs keep their runs and
caches) emulates ``flock`` with byte-range locks, which need a file open for writing. The lock goes
when its process ends, however it ends, so a killed run leaves nothing to clean up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from sciml.pipelines.errors import user_path


@contextlib.contextmanager
def held(lock_file: Path, busy: Callable[[], None], what: str) -> Iterator[None]:
    """Hold ``lock_file`` (made if missing) for this process. When another process holds it, ``busy()``
    is called first: it raises to refuse, or returns to wait for the lock. ``what`` names the option
    or spec key the path comes from, for an error opening it."""
    with user_path(what):
        handle = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            busy()
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield
    finally:
        os.close(handle)
