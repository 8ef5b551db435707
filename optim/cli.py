"""What the command lines (``python -m optim``, ``python -m nets.train``) share: no numpy, no
torch, so either can import it."""

from __future__ import annotations

import os
import sys


def reader_gone() -> int:
    """The reader of stdout went away (``| head -1``): stop quietly, as a Unix tool does, and
    return the exit code of a broken pipe (141). stdout is pointed at the null device, so Python's
    flush at exit raises no second BrokenPipeError."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return 141


def number(v: float) -> str:
    """A bound or a value in an error message, with every digit it was typed with: 2147483648
    and 10.0000001, where ``:g`` wrote 2.14748e+09 and 10 ("must be between 0.05 and 10, got
    10")."""
    return f"{float(v):.15g}"
