"""Checking pages of users: in this process, or in a child process on another core.

The preflight's client is bound by its CPU on a big tenant: each page of 999 users costs about
0.6 ms to fetch (httpx) and 0.8 ms to decode and check, and Python runs one thread at a time. So
when the access lists groups (whose members come in pages), `PageChecker` starts a child process
(`python -m orchestrator.entra.preflight.pagecheck`) that decodes and checks the pages while this process only
fetches them: the two halves run on two cores. Everything kept while pages stream by (the IDs
seen, the findings, the refusal candidates) then lives in the child, which answers each page with
its count and, at the end, the outcome. `LocalChecker` does the same in this process: for an
access of users alone, or when the child cannot start.

This module loads msgspec and nothing heavy (its imports: pages.py, rules.py, orchestrator.errors;
the packages above it hold docstrings only), so the child is ready within tens of milliseconds.

Protocol, over the child's stdin and stdout (lengths are 4-byte big-endian):
    request  header length, payload length, header [op, seq, via (a list for "candidates"), what] as
             JSON, payload
             ops: "setup" (payload: the domains, JSON), "users" and "candidates" (payload: a raw
             Graph page), "listed" (payload: users as JSON), "outcome" (no payload)
    answer   length, JSON: [seq, users in the page, users checked so far, the page's nextLink,
             error message or null] for a page; the Outcome for "outcome"
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from typing import IO, BinaryIO

import msgspec

from orchestrator.entra.pages import decode_page
from orchestrator.entra.preflight.rules import GraphUser, is_ready, user_problems
from orchestrator.errors import GraphError, PageCheckerError

# ------------------------------------------------------------------------------------------------
# Checking users (the rules themselves are in rules.py)


# Kept per problem user while pages stream by; strings only inside, so no cycle for the collector to find.
class FindingRow(msgspec.Struct, array_like=True, gc=False):
    id: str
    upn: str
    display_name: str | None
    mail: str | None
    problems: tuple[str, ...]
    via: list[str]


class RefusedRow(msgspec.Struct, array_like=True, gc=False):
    id: str
    upn: str
    display_name: str | None
    via: list[str]


class Outcome(msgspec.Struct):
    users_checked: int
    findings: list[FindingRow]
    refused: list[RefusedRow]  # candidates reachable only through nested groups
    traced_peak: int = 0       # the child's peak of traced memory, when its parent traces (tracemalloc)
    cpu_seconds: float = 0.0   # the child's CPU time, start-up included


class Tally:
    """Everything kept while pages stream by: seen IDs, findings, refusal candidates, counts."""

    def __init__(self, domains: Iterable[str]):
        self.domains = frozenset(d.lower() for d in domains)
        self.seen: set[str] = set()
        self.findings: dict[str, FindingRow] = {}
        self.candidates: dict[str, RefusedRow] = {}
        self.pages = 0

    def add_users(self, users: list[GraphUser], via: str) -> int:
        """Check the users not seen yet; returns how many users the page held."""
        seen, findings, domains, ready = self.seen, self.findings, self.domains, is_ready
        for user in users:
            user_id = user.id
            if user_id in seen:
                finding = findings.get(user_id)
                if finding is not None and via not in finding.via:
                    finding.via.append(via)
                continue
            seen.add(user_id)
            # On a 100,000-user tenant this loop is the hot spot: the quick test first (rules.py).
            if ready(user, domains):
                continue
            problems = user_problems(user, domains)
            if problems:
                findings[user_id] = FindingRow(user_id, user.userPrincipalName or "", user.displayName, user.mail,
                                               problems, [via])
        self.pages += 1
        return len(users)

    def add_candidates(self, users: Iterable[GraphUser], via: str) -> None:
        for user in users:
            candidate = self.candidates.get(user.id)
            if candidate is None:
                self.candidates[user.id] = RefusedRow(user.id, user.userPrincipalName or "", user.displayName, [via])
            elif via not in candidate.via:
                candidate.via.append(via)

    def outcome(self) -> Outcome:
        return Outcome(len(self.seen), list(self.findings.values()),
                       [c for user_id, c in self.candidates.items() if user_id not in self.seen])


# ------------------------------------------------------------------------------------------------
# The two checkers


Progress = Callable[[int, int], None]
"""Called with (users checked so far, pages read so far) after each page; from worker threads."""
PageCount = Callable[[int], None]
"""Called with the number of users a page held, once it is checked."""


class LocalChecker:
    """Pages checked in this process, by the thread that hands them over."""

    def __init__(self, domains: Iterable[str], progress: Progress | None):
        self.tally = Tally(domains)
        self.lock = threading.Lock()
        self.progress = progress

    def add_listed(self, users: list[GraphUser], via: str) -> None:
        with self.lock:
            self.tally.add_users(users, via)

    def add_page(self, raw: bytes, link: str | None, via: str, what: str, counted: PageCount) -> None:
        users, page_link = decode_page(raw, GraphUser, what)
        _same_link(page_link, link, what)
        with self.lock:
            count = self.tally.add_users(users, via)
            checked, pages = len(self.tally.seen), self.tally.pages
        counted(count)
        if self.progress is not None:
            self.progress(checked, pages)

    def add_candidates(self, raw: bytes, link: str | None, vias: list[str], what: str) -> None:
        users, page_link = decode_page(raw, GraphUser, what)
        _same_link(page_link, link, what)
        with self.lock:
            for via in vias:
                self.tally.add_candidates(users, via)

    def outcome(self) -> Outcome:
        with self.lock:
            return self.tally.outcome()

    def close(self) -> None:
        pass


def _same_link(page_link: str | None, link: str | None, what: str) -> None:
    if page_link != link:
        raise GraphError(f"Microsoft Graph answered a page with two different nextLinks to {what}")


_PAGE_ANSWER = msgspec.json.Decoder(tuple[int, int, int, str | None, str | None])
_OUTCOME = msgspec.json.Decoder(Outcome)
_REQUEST = struct.Struct(">II")
_ANSWER = struct.Struct(">I")
_PIPE_BYTES = 1 << 20  # a few pages in flight, so that the fetching threads rarely wait on the child


class PageChecker:
    """Pages checked in a child process (see the module's docstring); the same calls as LocalChecker.

    Errors the child meets on a page (a page that is not Graph's) are raised by the next call, so the
    preflight stops as it would in-process; the child's death is a PageCheckerError."""

    def __init__(self, process: subprocess.Popen[bytes], domains: Iterable[str], progress: Progress | None):
        if process.stdin is None or process.stdout is None or process.stderr is None:
            raise ValueError("the page checker talks over the child's stdin, stdout and stderr: all three are pipes")
        self.process = process
        self.requests, self.answers, self.said = process.stdin, process.stdout, process.stderr
        _widen_pipe(self.requests)
        self.progress = progress
        self.write_lock = threading.Lock()
        self.state_lock = threading.Lock()
        self.seq = 0
        self.pending: dict[int, tuple[str | None, str, PageCount | None]] = {}
        self.pages = 0
        self.error: BaseException | None = None
        self.outcome_ready = threading.Event()
        self._outcome: Outcome | None = None
        self._reader = threading.Thread(target=self._read_answers, name="page-checker-answers", daemon=True)
        self._reader.start()
        self._send("setup", "", "", msgspec.json.encode(sorted(domains)))

    @classmethod
    def start(cls, domains: Iterable[str], progress: Progress | None) -> PageChecker | LocalChecker:
        """A checker in a child process; a LocalChecker when no child can start."""
        import tracemalloc

        argv = [sys.executable, "-m", "orchestrator.entra.preflight.pagecheck",
                *(["--trace"] if tracemalloc.is_tracing() else [])]
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        except OSError:
            return LocalChecker(domains, progress)
        return cls(process, domains, progress)

    # -- the calls -------------------------------------------------------------------------------

    def add_listed(self, users: list[GraphUser], via: str) -> None:
        self._send("listed", via, "", msgspec.json.encode(users))

    def add_page(self, raw: bytes, link: str | None, via: str, what: str, counted: PageCount) -> None:
        self._send("users", via, what, raw, expect=(link, what, counted))

    def add_candidates(self, raw: bytes, link: str | None, vias: list[str], what: str) -> None:
        self._send("candidates", vias, what, raw, expect=(link, what, None))

    def outcome(self) -> Outcome:
        self._send("outcome", "", "", b"")
        self.outcome_ready.wait()
        self._raise_error()
        assert self._outcome is not None
        return self._outcome

    def close(self) -> None:
        """End the child: it exits at the end of its input. A thread reaps it (killed if it is still there
        after a few seconds), so the caller does not wait for a process whose work is done."""
        try:
            self.requests.close()
        except OSError:
            pass
        threading.Thread(target=_reap, args=(self.process, self._reader, (self.answers, self.said)),
                         name="page-checker-reaper", daemon=True).start()

    # -- the pipes -------------------------------------------------------------------------------

    def _send(self, op: str, via: str | list[str], what: str, payload: bytes,
              expect: tuple[str | None, str, PageCount | None] | None = None) -> None:
        self._raise_error()
        with self.write_lock:
            self.seq += 1
            if expect is not None:
                with self.state_lock:
                    self.pending[self.seq] = expect
            header = msgspec.json.encode([op, self.seq, via, what])
            try:
                self.requests.write(_REQUEST.pack(len(header), len(payload)) + header)
                if payload:
                    self.requests.write(payload)
                self.requests.flush()
            except (BrokenPipeError, ValueError):  # ValueError: the pipe was closed already
                self._fail(PageCheckerError(f"the preflight's page checker (process {self.process.pid}) stopped"))
                self._raise_error()

    def _raise_error(self) -> None:
        if self.error is not None:
            raise self.error

    def _fail(self, error: BaseException) -> None:
        with self.state_lock:
            if self.error is None:
                self.error = error
        self.outcome_ready.set()

    def _read_answers(self) -> None:
        stdout = self.answers
        try:
            while True:
                head = _read_exactly(stdout, _ANSWER.size)
                if head is None:
                    code = self.process.wait()
                    said = self.said.read().decode(errors="replace").strip().splitlines()
                    self._fail(PageCheckerError(f"the preflight's page checker (process {self.process.pid}) "
                                                f"stopped (exit code {code}){': ' + said[-1] if said else ''}"))
                    return
                body = _read_exactly(stdout, _ANSWER.unpack(head)[0])
                if body is None:
                    raise PageCheckerError("the preflight's page checker stopped in the middle of an answer")
                if self.outcome_ready.is_set():
                    return
                if body[:1] == b"{":  # the outcome, the last answer
                    self._outcome = _OUTCOME.decode(body)
                    self.outcome_ready.set()
                    return
                self._page_answered(*_PAGE_ANSWER.decode(body))
        except (ValueError, msgspec.MsgspecError) as error:
            self._fail(PageCheckerError(f"the preflight's page checker answered something unreadable "
                                        f"({type(error).__name__})"))
        except BaseException as error:  # a progress callback's too: raised by the caller's next call, not lost
            self._fail(error)

    def _page_answered(self, seq: int, count: int, checked: int, page_link: str | None, error: str | None) -> None:
        with self.state_lock:
            link, what, counted = self.pending.pop(seq)
            self.pages += counted is not None
            pages = self.pages
        if error is not None:
            self._fail(GraphError(error))
            return
        try:
            _same_link(page_link, link, what)
        except GraphError as exc:
            self._fail(exc)
            return
        if counted is not None:
            counted(count)
            if self.progress is not None:
                self.progress(checked, pages)


def _reap(process: subprocess.Popen[bytes], reader: threading.Thread, pipes: tuple[IO[bytes], ...]) -> None:
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    reader.join()
    for pipe in pipes:
        pipe.close()


def _widen_pipe(pipe: IO[bytes]) -> None:
    try:
        import fcntl

        fcntl.fcntl(pipe.fileno(), getattr(fcntl, "F_SETPIPE_SZ", 1031), _PIPE_BYTES)
    except (OSError, ImportError):
        pass  # the default pipe size only makes the fetching threads wait on the child more often


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    """`size` bytes; None at the end of the stream."""
    chunks, left = [], size
    while left:
        chunk = stream.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


# ------------------------------------------------------------------------------------------------
# The child


def serve(requests: BinaryIO, answers: BinaryIO, *, trace: bool = False) -> None:
    """The child's loop: check what `requests` brings until it ends; answer each page and the outcome."""
    if trace:
        import tracemalloc

        tracemalloc.start()
    tally = Tally(())
    encode = msgspec.json.encode
    listed = msgspec.json.Decoder(list[GraphUser])
    while True:
        head = _read_exactly(requests, _REQUEST.size)
        if head is None:
            return
        header_size, payload_size = _REQUEST.unpack(head)
        op, seq, via, what = msgspec.json.decode(_read_exactly(requests, header_size) or b"")
        payload = _read_exactly(requests, payload_size) if payload_size else b""
        if payload is None:  # the parent went away in the middle of a request
            return
        if op == "setup":
            tally = Tally(msgspec.json.decode(payload))
            continue
        if op == "listed":
            tally.add_users(listed.decode(payload), via)
            continue
        if op == "outcome":
            outcome = tally.outcome()
            if trace:
                outcome.traced_peak = tracemalloc.get_traced_memory()[1]
            outcome.cpu_seconds = sum(os.times()[:2])
            answer = encode(outcome)
        else:
            count, link, error = 0, None, None
            try:
                users, link = decode_page(payload, GraphUser, what)
            except GraphError as exc:
                error = str(exc)
            else:
                if op == "users":
                    count = tally.add_users(users, via)
                else:
                    for path in via:
                        tally.add_candidates(users, path)
            answer = encode([seq, count, len(tally.seen), link, error])
        answers.write(_ANSWER.pack(len(answer)) + answer)
        answers.flush()


def main() -> None:
    import signal

    # The child of a CLI gets the terminal's Ctrl-C (and a CI runner's SIGTERM) too: its parent decides, and
    # ends it by closing its input, which a parent's death closes as well.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    serve(sys.stdin.buffer, sys.stdout.buffer, trace="--trace" in sys.argv[1:])
    os._exit(0)  # nothing to flush or collect: skip the interpreter's teardown


if __name__ == "__main__":
    main()
