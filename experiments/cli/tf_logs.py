"""TensorFlow's start-up lines, kept off the terminal unless `GATELAB_TF_LOGS=1`.

TensorFlow 2.21's C++ code writes lines such as `WARNING: All log messages before
absl::InitializeLog() is called are written to STDERR`, `oneDNN custom operations are on`, `Could
not find cuda drivers` and `failed call to cuInit` straight to file descriptor 2, while it loads
and before `TF_CPP_MIN_LOG_LEVEL` takes effect. `filter_startup_lines` routes the process's
stderr through `grep -v` of exactly these known lines; everything else (tracebacks, TensorFlow's
real errors, our own messages) passes unchanged. Child processes inherit the filtered stderr.
The filter runs in its own process and session, so it outlives a crash or Ctrl-C of ours and
still forwards the last lines.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys

SWITCH = "GATELAB_TF_LOGS"  # =1: TensorFlow's start-up and info lines as TensorFlow prints them
_ACTIVE = "_GATELAB_STDERR_FILTERED"  # set once an ancestor filters the inherited stderr
STARTUP_LINES = "|".join(
    [
        r"All log messages before absl::InitializeLog\(\) is called",
        r"oneDNN custom operations are on",
        r"Could not find cuda drivers on your machine",
        r"failed call to cuInit",
        r"This TensorFlow binary is optimized to use available CPU instructions",
        r"To enable the following instructions: .* rebuild TensorFlow",
        r"Unable to register cu(DNN|FFT|BLAS) factory",
        r"TF-TRT Warning: Could not find TensorRT",
        r"oneDNN supports DT_[A-Z0-9]+ only on platforms with",
        r"NodeDef mentions attribute use_unbounded_threadpool which is not in the op definition",
    ]
)


def quiet() -> bool:
    """False when the user asked for TensorFlow's own log lines (`GATELAB_TF_LOGS=1`)."""
    return os.environ.get(SWITCH) != "1"


def filter_startup_lines() -> None:
    """Filter this process's stderr (see the module docstring); call before TensorFlow loads.

    Does nothing with `GATELAB_TF_LOGS=1`, when an ancestor process already filters it, or
    where `grep` is missing.
    """
    if not quiet() or os.environ.get(_ACTIVE) or shutil.which("grep") is None:
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    grep = subprocess.Popen(
        ["grep", "--line-buffered", "-v", "-E", STARTUP_LINES],
        stdin=subprocess.PIPE,
        stdout=terminal,
        start_new_session=True,  # Ctrl-C reaches us, not the filter that prints our last words
    )
    os.dup2(grep.stdin.fileno(), 2)
    os.environ[_ACTIVE] = "1"

    def close() -> None:
        """Give the terminal back; let the filter print what is left (it ends once every
        process that inherited the filtered stderr has)."""
        sys.stderr.flush()
        os.dup2(terminal, 2)
        grep.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            grep.wait(timeout=2)

    atexit.register(close)
