"""One process at a time per run directory: two sweeps into the same folder never train a run twice.

The claim is an exclusive `flock` on `<run_dir>/run.lock`, whose text names the owner (pid, host,
since when) for the messages of whoever waits. The kernel drops the lock when its owner dies, even
by SIGKILL, so a lock file left behind by a dead process is simply taken over. The file stays in
place after the run (removing it would let a waiter and a newcomer lock two different files).
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import time
from pathlib import Path
from types import TracebackType

from experiments import outputs

log = logging.getLogger(__name__)


class RunLockedError(RuntimeError):
    """Another live process holds the run (raised only with `wait=False`)."""


class RunLock:
    """`with RunLock(run_dir):` holds the run directory for this process.

    Args:
        run_dir: the run's directory (created if needed).
        wait: block until the owner finishes (True) or raise `RunLockedError` at once (False).
    """

    def __init__(self, run_dir: Path, wait: bool = True) -> None:
        self.path = Path(run_dir) / outputs.LOCK
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = self.path.read_text().strip() or "another process"
            if not self.wait:
                os.close(fd)
                raise RunLockedError(f"{self.path.parent} is claimed by {owner}") from None
            log.warning("%s is claimed by %s: waiting for it", self.path.parent, owner)
            fcntl.flock(fd, fcntl.LOCK_EX)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {stamp}\n".encode(), 0)
        self._fd = fd
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
