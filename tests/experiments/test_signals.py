"""Signals are honoured within seconds even while one C call holds the main thread (a training step
of a long sequence is one TensorFlow call of minutes): `experiments.cli.interrupt.SignalWatchdog`.
`hashlib.pbkdf2_hmac` with many iterations stands in for that call: one C call that never lets
Python run its handler until it returns."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import REPO

BLOCKING = "import hashlib; hashlib.pbkdf2_hmac('sha256', b'x', b'salt', 10**9)"  # minutes in C
WITH_WATCHDOG = f"""
from experiments.cli.interrupt import SignalWatchdog
with SignalWatchdog(["model=rnn"], grace_s=1.0):
    print("ready", flush=True)
    {BLOCKING}
"""
PLAIN_HANDLER = f"""
import signal, sys
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
print("ready", flush=True)
{BLOCKING}
"""


def _signal_while_blocked(code: str, signum: int, wait_s: float) -> tuple[int | None, str, float]:
    """Start `code`, send `signum` once it printed "ready", and return its exit status (None if
    it still ran after `wait_s` seconds: then it is killed), its stderr and the seconds it took."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline() == "ready\n"
        time.sleep(0.5)  # inside the C call
        sent = time.monotonic()
        process.send_signal(signum)
        try:
            status = process.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            status = None
        return status, process.stderr.read() if status is not None else "", time.monotonic() - sent
    finally:
        process.kill()
        process.wait()


def test_a_plain_handler_waits_for_the_c_call_to_return():
    """The control: what the watchdog is for (and what would make the next tests fail)."""
    status, _, _ = _signal_while_blocked(PLAIN_HANDLER, signal.SIGTERM, wait_s=4)
    assert status is None


@pytest.mark.parametrize(
    "signum, status", [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=["sigterm", "ctrl_c"]
)
def test_the_watchdog_ends_a_blocked_process_within_its_grace(signum, status):
    code, stderr, seconds = _signal_while_blocked(WITH_WATCHDOG, signum, wait_s=15)
    assert code == status, stderr
    assert stderr == "interrupted before any run started: nothing to resume\n"
    assert 0.9 <= seconds < 10
