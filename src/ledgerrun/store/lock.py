"""The run lock of a job on a file store: ``flock`` on a sidecar file, one per job name.

The lock file (``<journal>.<job>.lock``) is kept open for the run's life; the kernel releases the
lock when the process dies, however it dies, so no stale lock outlives a crash. The holder writes
who it is (host, pid, since) into the file, so a second run can say who holds it.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
from pathlib import Path
from typing import Any

from ledgerrun.errors import JournalError, LockHeldError


def lock_path(journal: Path, job: str) -> Path:
    return journal.with_name(f"{journal.name}.{job}.lock")


def read_holder(path: Path) -> dict[str, Any] | None:
    """Who holds (or last held) the lock, as the holder wrote it; None if unknown."""
    try:
        data = json.loads(path.read_bytes() or b"{}")
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data else None


def is_held(path: Path) -> bool:
    """True when some process holds the lock at this moment (the file is probed, not taken)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        os.close(fd)
    return False


class FileLock:
    def __init__(self, journal: Path, job: str) -> None:
        self.path = lock_path(journal, job)
        self.job = job
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise LockHeldError naming the holder."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise JournalError(f"cannot open the lock file {self.path}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if not isinstance(exc, BlockingIOError):
                raise JournalError(f"cannot lock {self.path}: {exc.strerror}") from None
            raise held_error(self.job, read_holder(self.path), str(self.path)) from None
        me = {
            "job": self.job,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None


def held_error(job: str, holder: dict[str, Any] | None, where: str) -> LockHeldError:
    h = holder or {}
    return LockHeldError(
        f"another run of job {job} holds its lock (pid {h.get('pid', '?')} on host "
        f"{h.get('host', '?')} since {h.get('since', '?')}; {where}). Wait for it to finish"
    )
