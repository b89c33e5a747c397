"""One Terraform process supervised: both pipes drained, lines streamed, SIGINT then SIGKILL on time."""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from orchestrator.terraform.diagnostics import printable

_PIPE_LINGER = 2.0  # after exit, how long to wait for a grandchild still holding our pipes

# Set when the whole process stops (Ctrl-C during `status --all`, whose environments run in worker threads that
# never see KeyboardInterrupt): every Terraform supervised then gets SIGINT, as on its own `cancel`.
STOP_EVERY_PROCESS = threading.Event()


@dataclass
class Stopping:
    """Whether and why a supervised process is being stopped: SIGINT at its deadline (`timed_out`) or on
    request (`cancelled`), then SIGKILL (`killed`) at `kill_at` if it is still there."""

    deadline: float
    grace_period: float  # from SIGINT to SIGKILL
    kill_at: float | None = None
    timed_out: bool = False
    cancelled: bool = False
    killed: bool = False

    def kill_within(self, seconds: float) -> None:
        kill_at = time.monotonic() + seconds
        self.kill_at = kill_at if self.kill_at is None else min(self.kill_at, kill_at)


class Supervisor:
    """Drains a Terraform process's two pipes concurrently, streams lines, stops it on time."""

    def __init__(
        self,
        process: subprocess.Popen[bytes],
        *,
        on_line: Callable[[str], None] | None,
        deadline: float,
        grace_period: float,
        redact: Callable[[str], str],
        redact_stdout: bool,
        cancel: threading.Event | None = None,
    ):
        self.process = process
        self.stopping = Stopping(deadline, grace_period)
        self.cancel = cancel
        self.on_line = on_line
        self.redact = redact
        # stdout of show/output -json is parsed, never shown: it must stay intact to be JSON
        self.redact_stdout = redact_stdout
        self.lines: dict[str, list[str]] = {"stdout": [], "stderr": []}
        self.events: queue.Queue[tuple[str, str | None]] = queue.Queue()
        self.open_streams = 2
        for name, pipe in (("stdout", process.stdout), ("stderr", process.stderr)):
            threading.Thread(
                target=self._drain, args=(name, pipe), daemon=True, name=f"terraform-{name}"
            ).start()

    def _drain(self, name: str, pipe: Any) -> None:
        try:
            for raw in iter(pipe.readline, b""):
                self.events.put((name, raw.decode("utf-8", "replace").rstrip("\r\n")))
        except (OSError, ValueError):
            pass
        finally:
            self.events.put((name, None))

    def text(self, name: str) -> str:
        lines = self.lines[name]
        return "\n".join(lines) + "\n" if lines else ""

    def signal(self, signum: int) -> None:
        try:
            os.killpg(self.process.pid, signum)
        except (ProcessLookupError, PermissionError):
            pass

    def interrupt(self, *, within: float) -> None:
        """SIGINT to Terraform's group (what a terminal's Ctrl-C does); SIGKILL if still there later."""
        self.signal(signal.SIGINT)
        self.stopping.kill_within(within)

    def pump(self) -> None:
        exited_at: float | None = None
        stopping = self.stopping
        while True:
            now = time.monotonic()
            if self.process.poll() is not None:
                if self.open_streams == 0:
                    return
                exited_at = exited_at or now
                if now - exited_at > _PIPE_LINGER:
                    return  # a grandchild keeps the pipes open; Terraform itself is done
            elif stopping.kill_at is not None and now >= stopping.kill_at:
                self.signal(signal.SIGKILL)
                stopping.killed = True
                stopping.kill_at = now + 3600  # once
            elif not stopping.timed_out and now >= stopping.deadline:
                stopping.timed_out = True
                self.interrupt(within=stopping.grace_period)
            elif not stopping.cancelled and (STOP_EVERY_PROCESS.is_set()
                                             or (self.cancel is not None and self.cancel.is_set())):
                stopping.cancelled = True
                self.interrupt(within=stopping.grace_period)
            if self.open_streams == 0:
                # Both pipes are closed, so Terraform is exiting: wait for that, not for events that will not come.
                try:
                    self.process.wait(timeout=0.05)
                except subprocess.TimeoutExpired:
                    pass
                continue
            try:
                name, line = self.events.get(timeout=0.05)
            except queue.Empty:
                continue
            if line is None:
                self.open_streams -= 1
                continue
            if name == "stderr" or self.redact_stdout:
                line = self.redact(line)
            if name == "stderr":
                line = printable(line)  # what Terraform says is untrusted: it reaches the terminal in messages
            self.lines[name].append(line)
            if self.on_line is not None:
                self.on_line(printable(line))

    def stop(self, reason: BaseException) -> None:
        """Forward the interruption to Terraform and wait until it has exited (lock released)."""
        if not isinstance(reason, KeyboardInterrupt):
            self.on_line = None  # the callback failed: do not call it again
        self.interrupt(within=self.stopping.grace_period)
        while True:
            try:
                self.pump()
                self.process.wait()
                return
            except KeyboardInterrupt:
                # A second Ctrl-C: Terraform's own answer is to exit at once; make sure it does.
                self.interrupt(within=5.0)
            except BaseException:
                self.on_line = None
