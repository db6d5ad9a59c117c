"""The spool: texts held on this host's disk while the database cannot take them.

Not the main database and not Redis (either may be what is down): JSON lines in files under
`INSTANCE_PATH/spool`, written with `O_APPEND` and on disk (fdatasync) before `append`
returns, so a text answered "we'll text you back" survives SIGKILL and a power cut.

- Each process appends to a file of its own (`active-<host>-<pid>-<nonce>.jsonl`), created
  under a temporary name, locked with flock(2) for the process's life, then renamed into
  place: a file whose lock is free belongs to nobody (its process died, or handed it over).
- fsyncs are grouped: a writer that finds another's fsync under way waits for it and, if its
  line was written before that fsync began, is done; the first in line lets the texts already
  in flight append first, so one fsync covers a burst. Under gevent the fsync runs in the
  hub's thread pool, so the worker keeps answering (and appending) meanwhile (bench/spool.py:
  done on the event loop, each ~1 ms fsync held the whole worker: 570 texts/s, p99 1.4 s).
- Draining: `rotate()` hands the process's own file over (renamed `ready-…`, unlocked);
  `take()`, under the host-wide `drain.lock`, locks every file nobody holds and returns their
  records oldest first; `Taken.finish(remaining)` writes what is left into one new file and
  removes the taken ones. A drainer killed half-way leaves the files for the next one:
  feeding a record twice is harmless because its MessageSid is claimed in the message log.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selfserve.ops.resilience import gevent_patched

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
DRAIN_LOCK = "drain.lock"


class Spool:
    """Appends records durably to this process's spool file; hands files to drainers."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self._host = socket.gethostname().replace("/", "_")[:40] or "host"
        self._lock = threading.Lock()  # the file and the write counters
        self._sync_lock = threading.Lock()  # one fsync at a time
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._fd: int | None = None
        self._path: Path | None = None
        self._appended = 0
        self._synced = 0

    def append(self, record: dict[str, Any]) -> None:
        """Write one record and return once it is on disk."""
        line = (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        with self._lock:
            if self._pid != os.getpid():  # forked: the parent's file and lock are not ours
                self._reset()
            fd = self._fd if self._fd is not None else self._open()
            os.write(fd, line)
            self._appended += 1
            ticket = self._appended
        self._sync(ticket)

    def _sync(self, ticket: int) -> None:
        with self._sync_lock:
            if self._synced >= ticket:  # an fsync that began after our write covered it
                return
            time.sleep(0)  # let texts already in flight append first: one fsync for all
            with self._lock:
                target, fd = self._appended, self._fd
            if fd is not None:
                _fdatasync(fd)
            self._synced = max(self._synced, target)

    def _open(self) -> int:
        """Create this process's file: locked before it gets the name drainers look for."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"{self._host}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
        temporary = self.folder / f".new-{name}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        self._path = self.folder / f"active-{name}"
        os.rename(temporary, self._path)
        _sync_folder(self.folder)
        self._fd = fd
        return fd

    def rotate(self) -> None:
        """Hand this process's file (if any) over to the drainers."""
        with self._sync_lock, self._lock:
            if self._pid != os.getpid():
                self._reset()
            fd, path = self._fd, self._path
            if fd is None or path is None:
                return
            os.fdatasync(fd)
            self._synced = self._appended
            os.rename(path, path.with_name("ready-" + path.name.removeprefix("active-")))
            _sync_folder(self.folder)
            os.close(fd)  # releases the lock
            self._fd = self._path = None

    def take(self) -> Taken | None:
        """Every record of every file nobody holds, oldest first; None while another process
        of this host drains (its `Taken` holds the host's drain lock)."""
        if not self.folder.is_dir():
            return None
        drain_fd = os.open(self.folder / DRAIN_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(drain_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(drain_fd)
            return None
        taken = Taken(self.folder, drain_fd)
        for path in sorted(_files(self.folder)):
            if not taken.add(path):
                taken.held_since(path)
        taken.records.sort(key=lambda record: float(record.get("at", 0)))
        return taken

    def depth(self) -> tuple[int, float | None]:
        """Records waiting on this host, and the `at` of the oldest (None when empty)."""
        count, oldest = 0, None
        for path in _files(self.folder):
            with contextlib.suppress(OSError):
                data = path.read_bytes()
                count += data.count(b"\n")
                first = _first_at(data)
                if first is not None and (oldest is None or first < oldest):
                    oldest = first
        return count, oldest

    def is_empty(self) -> bool:
        """True when no file on this host holds a record (one directory scan)."""
        for path in _files(self.folder):
            with contextlib.suppress(OSError):
                if path.stat().st_size > 0:
                    return False
        return True

    def close(self) -> None:
        """Put what is written on disk and release this process's file (kept for drainers)."""
        with contextlib.suppress(OSError):
            self.rotate()


@dataclass
class Taken:
    """Spool files locked by one drainer, and their records (oldest first)."""

    folder: Path
    drain_fd: int
    records: list[dict[str, Any]] = field(default_factory=list)
    # The oldest record in a file a live process still holds: records from then on must
    # wait for it (a STOP in that file may precede a SPRING here).
    held_oldest: float | None = None
    _files: list[tuple[Path, int]] = field(default_factory=list)

    def ready(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(records to answer now, records to keep until the held files are handed over)."""
        if self.held_oldest is None:
            return self.records, []
        cut = self.held_oldest
        return (
            [record for record in self.records if float(record.get("at", 0)) < cut],
            [record for record in self.records if float(record.get("at", 0)) >= cut],
        )

    def held_since(self, path: Path) -> None:
        """Note the oldest record of a file a live process holds."""
        with contextlib.suppress(OSError):
            first = _first_at(path.read_bytes())
            if first is not None and (self.held_oldest is None or first < self.held_oldest):
                self.held_oldest = first

    def add(self, path: Path) -> bool:
        """Lock `path` and read its records; False when a live process holds it."""
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_ino != path.stat().st_ino:  # removed and replaced meanwhile
                raise FileNotFoundError
        except BlockingIOError:
            os.close(fd)
            return False
        except FileNotFoundError:
            os.close(fd)
            return True
        with os.fdopen(os.dup(fd), "rb") as handle:
            for line in handle:
                try:
                    self.records.append(json.loads(line))
                except ValueError:  # a line torn by a crash mid-write was never answered 200
                    log.warning("spool_line_unreadable", extra={"file": path.name})
        self._files.append((path, fd))
        return True

    def finish(self, remaining: list[dict[str, Any]]) -> None:
        """Keep `remaining` in one new file, then remove the taken files and unlock."""
        try:
            if remaining:
                name = f"ready-{uuid.uuid4().hex}{SUFFIX}"
                temporary = self.folder / f".new-{name}"
                with temporary.open("wb") as handle:
                    for record in remaining:
                        handle.write((json.dumps(record, ensure_ascii=False) + "\n").encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                os.rename(temporary, self.folder / name)
            for path, _fd in self._files:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            _sync_folder(self.folder)
        finally:
            self.release()

    def release(self) -> None:
        """Unlock everything without changing a file (the records stay for the next drain)."""
        for _path, fd in self._files:
            os.close(fd)
        self._files = []
        if self.drain_fd >= 0:
            os.close(self.drain_fd)
            self.drain_fd = -1


def _fdatasync(fd: int) -> None:
    """fdatasync, off the event loop under gevent: the worker keeps serving texts meanwhile,
    and those append and wait for the next fsync, which covers them all (group commit).
    Threads need nothing: the call releases the GIL."""
    if gevent_patched():
        import gevent

        gevent.get_hub().threadpool.apply(os.fdatasync, (fd,))
    else:
        os.fdatasync(fd)


def _files(folder: Path) -> list[Path]:
    try:
        return [
            Path(entry.path)
            for entry in os.scandir(folder)
            if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")  # .new-: unnamed
        ]
    except FileNotFoundError:
        return []


def _first_at(data: bytes) -> float | None:
    line = data.split(b"\n", 1)[0]
    try:
        return float(json.loads(line)["at"])
    except (ValueError, KeyError, TypeError):
        return None


def _sync_folder(folder: Path) -> None:
    """Make a file's creation, rename or removal durable (fsync of its directory)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
