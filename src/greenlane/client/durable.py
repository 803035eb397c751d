"""Files that survive a power cut: whole-file replacement and fsynced appends.

An offline lane's state and spool are its only record while the link is down, so a write either
happened completely or not at all: a replaced file is written beside the old one, fsynced and
renamed over it (rename is atomic on POSIX), and the directory is fsynced so the rename itself
survives. Files are created readable by their owner only: they hold travel document numbers.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from pathlib import Path

FILE_MODE = 0o600


def _sync_directory(directory: Path) -> None:
    # Some platforms cannot open a directory; there the rename's durability is the OS's.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: readers see the old bytes or the new, never a mix."""
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _sync_directory(path.parent)


def append_durably(path: Path, data: bytes) -> None:
    """Append ``data`` and return only once it is on disk."""
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    if created:
        _sync_directory(path.parent)
