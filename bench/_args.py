"""Command-line plumbing shared by the bench scripts: a bad argument is one line on stderr and exit
code 2 (no usage dump, no traceback), checked before any benchmark work starts. No torch here: the
browser benchmarks import it too."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlparse


class UsageError(Exception):
    """A bad command-line argument: the script prints it as one line and exits with code 2."""


class Parser(argparse.ArgumentParser):
    """argparse that raises :class:`UsageError` with its one-line message ("argument --runs:
    invalid int value: 'abc'") instead of printing the usage; --help still exits 0."""

    def error(self, message):
        raise UsageError(message)


def usage_error(prog: str, message) -> int:
    """Print ``prog: error: message`` as one line on stderr; return exit code 2."""
    print(f"{prog}: error: {' '.join(str(message).split())}", file=sys.stderr)
    return 2


def whole(raw: str, flag: str, lo: int, hi: int) -> int:
    """A whole-number argument from lo to hi: ``--sessions must be a whole number, got 'x'``."""
    try:
        value = int(raw)
    except ValueError:
        raise UsageError(f"{flag} must be a whole number, got '{raw}'") from None
    if not lo <= value <= hi:
        raise UsageError(f"{flag} must be from {lo} to {hi}, got {value}")
    return value


def local_url(raw: str) -> str:
    """``--url``: http://127.0.0.1:PORT or http://localhost:PORT (a port from 1 to 65535)."""
    u = urlparse(raw)
    try:
        port = u.port  # ValueError for a port out of range or not a number
    except ValueError:
        port = None
    if u.scheme != "http" or u.hostname not in ("127.0.0.1", "localhost") or not port:
        raise UsageError(f"--url must be http://127.0.0.1:PORT or http://localhost:PORT "
                         f"(PORT 1..65535), got '{raw}'")
    return f"http://{u.hostname}:{port}"


def out_file(raw: str | None, flag: str = "--out") -> Path | None:
    """``--out FILE``, checked before the benchmark runs: a file name (not a folder) in a folder
    that exists and can be written in (a file is created and removed there: os.access says yes to
    root on a read-only mount)."""
    if raw is None:
        return None
    if not raw.strip():
        raise UsageError(f"{flag} needs a file name")
    path = Path(raw)
    if path.is_dir() or raw.endswith(("/", os.sep)):
        raise UsageError(f"{flag}: '{raw}' is a directory; give a file name in it")
    folder = path.parent
    if not folder.is_dir():
        raise UsageError(f"{flag}: folder '{folder}' does not exist")
    try:
        fd, probe = tempfile.mkstemp(prefix=".out-probe-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise UsageError(f"{flag}: cannot write in folder '{folder}': {e.strerror or e}") from None
    return path


def write_out(prog: str, path: Path | None, result: dict, write, json_printed: bool) -> int:
    """``--out``, written after the results are printed (``write(path, bytes)``, atomic), so that
    a failed write loses nothing: one line on stderr and exit code 1, with the JSON printed too
    where only a summary line was. 0 when written or not asked for."""
    if path is None:
        return 0
    import json

    try:
        write(path, (json.dumps(result, indent=2) + "\n").encode())
    except OSError as e:
        if not json_printed:
            print(json.dumps(result), flush=True)
        print(f"{prog}: error: could not write --out '{path}': {e.strerror or e} (the results "
              f"are printed above)", file=sys.stderr)
        return 1
    return 0


def measured_main(prog: str, argv, parse, measure, summary, *, browser_missing, write) -> int:
    """A browser benchmark's main() around its own ``parse``, ``measure`` and ``summary``: a bad
    argument or a missing browser is one line and exit 2, a failed measurement (RuntimeError) one
    line and exit 1; the result is printed (its JSON with --json, else ``summary(result)``) before
    --out is written (:func:`write_out`)."""
    import json

    try:
        args = parse(argv)
    except UsageError as exc:
        return usage_error(prog, exc)
    why = browser_missing()
    if why:
        return usage_error(prog, why)
    try:
        result = measure(args)
    except RuntimeError as exc:
        print(f"{prog}: error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    print(json.dumps(result) if args.json else summary(result), flush=True)
    return write_out(prog, args.out, result, write, args.json)
