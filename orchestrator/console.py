"""What commands print to people and read from them, kept light: the apply command loads this before
Terraform's plan starts, and httpx and the API clients after.

    reporter = Reporter()                  # results on stdout, steps and progress on stderr
    parse_duration("1h30m") == 5400.0      # --timeout values; UsageError (exit 2) otherwise
    format_duration(125) == "2m 05s"       # in progress lines
"""

from __future__ import annotations

import math
import re
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from orchestrator.errors import UsageError

_step: list[str | None] = [None]


def begin_step(text: str | None) -> None:
    """Record what the command is doing now, for the `step` of its error document (--json); prints nothing."""
    _step[0] = text


def current_step() -> str | None:
    """The last step begun (Console.step or begin_step): where a failure happened."""
    return _step[0]


class Reporter:
    """Where connect speaks: results to `out`, progress to `err` (one updated line on a terminal)."""

    def __init__(self, out: TextIO | None = None, err: TextIO | None = None, *, results_to_err: bool = False):
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.results_to_err = results_to_err  # --json: stdout holds the JSON document only
        self._progress_open = False

    @property
    def progress_is_tty(self) -> bool:
        return _isatty(self.err)

    @property
    def out_is_tty(self) -> bool:
        return not self.results_to_err and _isatty(self.out)

    def line(self, text: str = "") -> None:
        self.end_progress()
        stream = self.err if self.results_to_err else self.out
        stream.write(text + "\n")
        stream.flush()

    def note(self, text: str) -> None:
        """A step as it happens (stderr)."""
        self.end_progress()
        self.err.write(text + "\n")
        self.err.flush()

    def progress(self, text: str) -> None:
        """On a terminal one line rewritten in place; elsewhere (CI logs) one line each time."""
        if self.progress_is_tty:
            self.err.write("\r\x1b[2K" + text)
            self._progress_open = True
        else:
            self.err.write(text + "\n")
        self.err.flush()

    def end_progress(self) -> None:
        if self._progress_open:
            self.err.write("\n")
            self.err.flush()
            self._progress_open = False


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([smhd])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """Seconds from "90", "90s", "15m", "2h", "1d" or "1h30m"; UsageError (exit 2) otherwise."""
    value = text.strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        parts = _DURATION_PART.findall(value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise UsageError(f"{text!r} is not a duration: use e.g. 90s, 15m, 2h, 1d or 1h30m") from None
        seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    if not math.isfinite(seconds):
        # float() reads "nan" and "inf": a NaN deadline is never reached, so the wait would never end.
        raise UsageError(f"{text!r} is not a duration: use e.g. 90s, 15m, 2h, 1d or 1h30m")
    if seconds < 0:
        raise UsageError(f"{text!r}: a duration cannot be negative")
    return seconds


def format_duration(seconds: float) -> str:
    seconds = int(max(0, seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m {seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600:02d}h"


@dataclass
class Console:
    """Where a workflow speaks: steps on stderr, results on stdout (or only JSON on stdout with --json)."""

    reporter: Reporter
    terraform_lines: bool = True

    def step(self, text: str) -> None:
        begin_step(text)
        self.reporter.note(f"==> {text}")

    def note(self, text: str) -> None:
        self.reporter.note(f"    {text}")

    def result(self, text: str) -> None:
        self.reporter.line(text)

    def terraform_line(self, line: str) -> None:
        if self.terraform_lines:
            self.reporter.note(f"    | {line}")
