"""End-to-end machinery shared by the suites that run `sekoia-sso` as processes on the sandbox.

    from tests.harness.e2e import apply, runs_fixture, tenant_counts  # noqa: F401 - the fixture `runs`

    def test_something(runs, graph_emulator):
        done = apply(runs)                      # `sekoia-sso apply sandbox --yes ...` as a process
        assert done.returncode == 0, done.err
        running = runs.start("rotate", "sandbox", "--yes")   # a process to interrupt
        running.wait_for_line("==> Giving Sekoia.io the new secret")

`runs` copies the project to a temporary directory with its own sandbox dir (an endpoints.json
naming the session's emulators), so every test starts from an empty Terraform state. Every byte
the processes print is kept, and at the end of the test scanned for the client secrets and the
API key (plain, base64 and URL-encoded).

`evidence` (a session fixture) keeps the figures of the seeded suites (runs, faults injected,
runs converged, duplicates found) and prints them at the end of the pytest run, in the terminal
summary, whatever the capture mode.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from orchestrator.config.loading import load_environment
from orchestrator.terraform.workspace import Workspace
from orchestrator.workflows.apply import TRANSIENT_RETRY_ENV
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.project import copy_project

# What envs/sandbox.yaml asks for: two groups and one user assigned.
SANDBOX_ASSIGNMENTS = 3
SECRET_SLOTS = 2  # the module's blue and green
CLI_TIMEOUT = 300.0
# Each path before `--` bind-mounted read-only onto itself, then the command after `--` (exit 97: no mount).
READ_ONLY_MOUNTS = ('while [ "$1" != "--" ]; do mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" '
                    '|| exit 97; shift; done; shift; exec "$@"')


class Runs:
    """Runs the CLI as a process in a throwaway project on the test session's sandbox."""

    def __init__(self, project: Path, sandbox_dir: Path):
        self.project = project
        self.sandbox_dir = sandbox_dir
        self.printed: list[bytes] = []
        self.started: list[Started] = []
        self.transient_retry = "10,0.5,2"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARM_", "SEKOIA_"))}
        env.update(SEKOIA_SSO_PROJECT_DIR=str(self.project), SEKOIA_SSO_SANDBOX_DIR=str(self.sandbox_dir))
        # apply's pauses between attempts after a transient Terraform failure, scaled to the emulator's lags
        # (at most a few seconds here): 10 attempts, 0.5 s doubling to 2 s.
        env[TRANSIENT_RETRY_ENV] = self.transient_retry
        return env

    def __call__(self, *args: str, input: str | None = None, read_only: Iterable[Path] = ()
                 ) -> subprocess.CompletedProcess:
        """The CLI as a process; `read_only`: paths mounted read-only for it alone (a private mount namespace),
        as a CI runner's read-only checkout."""
        argv = [sys.executable, "-m", "orchestrator", *args]
        if read_only:
            argv = ["unshare", "--map-root-user", "--mount", "sh", "-c", READ_ONLY_MOUNTS, "sh",
                    *map(str, read_only), "--", *argv]
        done = subprocess.run(argv, cwd=self.project, env=self.env(),
                              capture_output=True, input=(input or "").encode(), timeout=CLI_TIMEOUT)
        self.printed += [done.stdout, done.stderr]
        done.out, done.err = done.stdout.decode(), done.stderr.decode()
        return done

    def start(self, *args: str) -> Started:
        """The CLI started in its own process group (as a shell starts a job), to be signalled mid-run."""
        started = Started(self, args)
        self.started.append(started)
        return started

    def runner(self):
        """The environment's TerraformRunner, initialised the way the CLI does it."""
        env = load_environment(self.project, "sandbox")
        os.environ["SEKOIA_SSO_SANDBOX_DIR"] = str(self.sandbox_dir)
        try:
            return Workspace(env, self.project).initialised_runner()
        finally:
            del os.environ["SEKOIA_SSO_SANDBOX_DIR"]

    def outputs(self) -> dict:
        return self.runner().outputs()

    def plain_plan(self):
        """A plan as anyone would run it: the state lock taken (no -lock=false), and not waited for (0s).

        Raises StateLockedError if a run left the lock held; returns the PlanResult (has_changes)."""
        runner = self.runner()
        runner.lock_timeout = "0s"
        return runner.plan(self.sandbox_dir / "check.tfplan")

    @property
    def state_path(self) -> Path:
        """The local Terraform state of environment sandbox (where Workspace puts it in sandbox mode)."""
        return self.sandbox_dir / "terraform" / "sandbox.tfstate"

    @property
    def lock_info_path(self) -> Path:
        """Where Terraform's local backend writes who holds the state lock, while it holds it."""
        return self.state_path.with_name(f".{self.state_path.name}.lock.info")

    def state_resources(self) -> dict[str, set[str]]:
        """Object IDs the Terraform state knows, per resource type (read from the state file itself)."""
        known: dict[str, set[str]] = {}
        if not self.state_path.exists():
            return known
        state = json.loads(self.state_path.read_text() or "{}")
        for resource in state.get("resources", ()):
            if resource.get("mode") != "managed":
                continue
            for instance in resource.get("instances", ()):
                attributes = instance.get("attributes") or {}
                object_id = attributes.get("object_id") or attributes.get("id")
                if object_id:
                    known.setdefault(resource["type"], set()).add(str(object_id).rsplit("/", 1)[-1])
        return known

    def stop_strays(self) -> list[int]:
        """Kill what a SIGKILL left behind (Terraform and its provider run in their own process group)."""
        strays = []
        for started in self.started:
            strays += started.kill_descendants()
        return strays


class Started:
    """A CLI process started by `Runs.start`: its stderr lines as they come, signals, and its end."""

    def __init__(self, runs: Runs, args: Iterable[str]):
        self.runs = runs
        self.args = tuple(args)
        self.process = subprocess.Popen([sys.executable, "-m", "orchestrator", *self.args], cwd=runs.project,
                                        env=runs.env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, start_new_session=True)
        self.started_at = time.monotonic()
        self._stdout: list[bytes] = []
        self._stderr: list[bytes] = []
        self._new_line = threading.Condition()
        self._descendants: set[int] = set()
        self._readers = [threading.Thread(target=self._drain, args=(pipe, sink), daemon=True)
                         for pipe, sink in ((self.process.stdout, self._stdout), (self.process.stderr, self._stderr))]
        for reader in self._readers:
            reader.start()

    def _drain(self, pipe: Any, sink: list[bytes]) -> None:
        for raw in iter(pipe.readline, b""):
            with self._new_line:
                sink.append(raw)
                self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()

    @property
    def err(self) -> str:
        with self._new_line:
            return b"".join(self._stderr).decode(errors="replace")

    def wait_for_line(self, text: str, timeout: float = 120.0) -> bool:
        """True once a line containing `text` is on stderr; False when the process ended or time ran out."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                if any(text.encode() in line for line in self._stderr):
                    return True
                if self.process.poll() is not None and not any(r.is_alive() for r in self._readers):
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._new_line.wait(min(left, 0.1))

    def signal(self, signum: int, *, whole_tree: bool = False) -> None:
        """`signum` to the CLI's process group (a terminal's Ctrl-C, `kill -9 -PGID`); with whole_tree,
        also to every descendant in other groups (Terraform, its provider), as when a machine dies."""
        self._descendants |= set(descendants(self.process.pid))
        targets = sorted(self._descendants) if whole_tree else []
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass
        for pid in targets:
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass

    def finish(self, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL, whole_tree=True)
            self.process.wait(timeout=10)
            raise
        for reader in self._readers:
            reader.join(timeout=5)
        done = subprocess.CompletedProcess(self.process.args, self.process.returncode,
                                           b"".join(self._stdout), b"".join(self._stderr))
        self.runs.printed += [done.stdout, done.stderr]
        done.out, done.err = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
        return done

    def kill_descendants(self) -> list[int]:
        """SIGKILL the processes this run started that still live; their pids."""
        living = [pid for pid in sorted(self._descendants | set(descendants(self.process.pid))) if alive(pid)]
        for pid in living:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return living

    def wait_descendants_gone(self, timeout: float = 30.0) -> list[int]:
        """Wait until the processes seen under this run have exited; those still alive at the timeout."""
        deadline = time.monotonic() + timeout
        while True:
            living = [pid for pid in self._descendants if alive(pid)]
            if not living or time.monotonic() > deadline:
                return living
            time.sleep(0.1)


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, grandchildren...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), ()):
            found.append(child)
            todo.append(child)
    return found


def children_running(command: bytes) -> list[int]:
    """This process's live descendants whose command line holds `command` (b"terraform", ...)."""
    found = []
    for pid in descendants(os.getpid()):
        try:
            if command in Path(f"/proc/{pid}/cmdline").read_bytes() and alive(pid):
                found.append(pid)
        except OSError:
            pass
    return found


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


@pytest.fixture(name="runs")
def runs_fixture(tmp_path, sandbox, graph_emulator, sekoia_emulator, evidence) -> Iterator[Runs]:
    """A `Runs` on a fresh copy of the project; what it printed and wrote is scanned for secrets at the end."""
    project = copy_project(tmp_path / "project", envs=("sandbox",))
    sandbox_dir = tmp_path / "sandbox"
    sandbox_dir.mkdir()
    (sandbox_dir / "endpoints.json").write_text(json.dumps(sandbox.endpoints()))
    sekoia_emulator.domain_verification_delay = 0
    runner = Runs(project, sandbox_dir)
    yield runner
    runner.stop_strays()
    # Everything the tool printed (plan summaries and --json documents included) and every file of
    # the project it may have written (rendered HCL, the YAML rotate edits). The state and saved
    # plans are Terraform's own and hold the secret by design.
    written = [path.read_bytes() for path in sorted(project.rglob("*"))
               if path.is_file() and path.suffix in (".tf", ".yaml", ".json", ".md", ".log")]
    scanned, hits = leaks([*runner.printed, *written],
                          [sandbox.sekoia.demo_api_key, *sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID),
                           *graph_emulator.state.password_secrets.values(), graph_emulator.principal_client_secret])
    evidence.leak_scan(scanned, hits, runs=len(runner.printed) // 2)
    assert hits == [], f"secrets printed or written: {hits}"


class SecretMonitor:
    """Samples, every `interval` seconds in a thread, whether the secret Sekoia.io holds is one Entra ID accepts.

    A bad sample is one where Sekoia.io holds a secret for SSO that the token endpoint would refuse (deleted,
    expired, not yet propagated, or of another application). `bad_after_good` counts those that follow a good
    one: what a run broke, as opposed to a break it found (a secret deleted in the portal before the run).
    """

    def __init__(self, graph, sekoia, *, interval: float = 0.005, community: str = DEMO_COMMUNITY_UUID):
        self.graph, self.sekoia, self.interval, self.community = graph, sekoia, interval, community
        self.samples = self.bad = self.bad_after_good = 0
        self._good_seen = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> bool | None:
        """True: Entra ID accepts what Sekoia.io holds; False: it does not; None: SSO is not configured."""
        secret = self.sekoia.sso_secret(self.community)
        configured = self.sekoia.sso_configuration(self.community)
        if not secret or not configured:
            return None
        return self.graph.accepts_secret(str(configured.get("client_id")), secret)

    def _run(self) -> None:
        while not self._stop.is_set():
            accepted = self.sample()
            if accepted is not None:
                self.samples += 1
                if accepted:
                    self._good_seen = True
                else:
                    self.bad += 1
                    self.bad_after_good += self._good_seen
            self._stop.wait(self.interval)

    def restart(self) -> None:
        """Count afresh from now: after the test itself broke logins (a deletion in the portal, say)."""
        self.samples = self.bad = self.bad_after_good = 0
        self._good_seen = False

    def __enter__(self) -> SecretMonitor:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def encodings(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, base64.b64encode(raw), base64.urlsafe_b64encode(raw), urllib.parse.quote(secret, safe="").encode(),
            urllib.parse.quote_plus(secret).encode()]


def leaks(blobs: list[bytes], secrets: list[str]) -> tuple[int, list[str]]:
    """(bytes scanned, the secrets found, shown by their first 3 characters), plain, base64 or URL-encoded."""
    hits = [(s[:3] + "…") for s in secrets if s for blob in blobs for form in encodings(s) if form in blob]
    return sum(len(blob) for blob in blobs), hits


def tenant_counts(graph) -> dict[str, int]:
    state = graph.state
    apps = [a for a in state.applications.values() if "sekoia-sso" in (a.get("tags") or [])]
    sps = {sp["id"] for sp in state.service_principals.values() if "sekoia-sso" in (sp.get("tags") or [])}
    return {
        "applications": len(apps),
        "service_principals": len(sps),
        "passwords": sum(len(a.get("passwordCredentials") or []) for a in apps),
        "assignments": sum(1 for a in state.app_role_assignments.values() if a.get("resourceId") in sps),
    }


def apply(runs: Runs, *extra: str, **options: Any) -> subprocess.CompletedProcess:
    return runs("apply", "sandbox", "--yes", "--warn-only", "--timeout", "30s", *extra, **options)


# ----------------------------------------------------------------------------------------------
# what a failed run must look like


def error_paragraph(err: str) -> list[str] | str:
    """The `Error:` paragraph's lines of a stderr, or what is wrong with it (none, several, more than a paragraph)."""
    lines = err.rstrip("\n").split("\n")
    starts = [i for i, line in enumerate(lines) if line.startswith("Error: ")]
    if len(starts) != 1:
        return f"{len(starts)} 'Error:' lines on stderr"
    message = lines[starts[0]:]
    if any(not line.strip() for line in message):
        return "the error message is more than one paragraph"
    return message


def clean_failure(done: subprocess.CompletedProcess) -> str | None:
    """None when a failed run ended the way the CLI promises: exit 1 or 3, one `Error:` paragraph as the
    last thing on stderr, no traceback; else what is wrong with it."""
    if done.returncode not in (1, 3):
        return f"exit {done.returncode}"
    if "Traceback (most recent call last)" in done.err:
        return "a traceback on stderr"
    message = error_paragraph(done.err)
    if isinstance(message, str):
        return message
    if len(message[0]) < len("Error: ") + 20:
        return "the error message says too little"
    return None


def error_message(done: subprocess.CompletedProcess) -> str:
    return next((line for line in done.err.splitlines() if line.startswith("Error: ")), done.err[-300:])


# ----------------------------------------------------------------------------------------------
# what the tenant and Sekoia.io must hold once a run converged


def fault_answers(graph, sekoia) -> Counter:
    """Faults the emulators served, from their request logs: 429, 5xx and resets (status 0)."""
    counted: Counter = Counter()
    for record in [*graph.requests, *sekoia.requests]:
        if record.status == 429:
            counted["429"] += 1
        elif record.status >= 500:
            counted["5xx"] += 1
        elif record.status == 0:
            counted["reset"] += 1
    return counted


@dataclass
class Baseline:
    """The objects of the fixture tenant, so that anything else in it was made by the runs under test."""

    applications: frozenset[str]
    service_principals: frozenset[str]

    @classmethod
    def of(cls, graph) -> Baseline:
        return cls(frozenset(graph.state.applications), frozenset(graph.state.service_principals))

    def made(self, graph) -> dict[str, list[dict]]:
        state = graph.state
        return {
            "applications": [a for i, a in state.applications.items() if i not in self.applications],
            "service_principals": [sp for i, sp in state.service_principals.items()
                                   if i not in self.service_principals],
        }


def converged_problems(runs: Runs, graph, sekoia, baseline: Baseline) -> tuple[list[str], int]:
    """What is wrong with the tenant and Sekoia.io after a converged apply, and how many duplicates.

    Wanted: exactly one application and one service principal (and nothing else new in the tenant), the
    configured assignments, a secret per slot, each domain once in Sekoia.io, Sekoia.io holding the outputs'
    client secret, which Entra ID accepts.
    """
    problems: list[str] = []
    made = baseline.made(graph)
    apps, sps = made["applications"], made["service_principals"]
    app_ids = {a["appId"] for a in apps}
    sp_ids = {sp["id"] for sp in sps}
    passwords = [c for a in apps for c in a.get("passwordCredentials") or []]
    assignments = [a for a in graph.state.app_role_assignments.values() if a.get("resourceId") in sp_ids]
    assigned = Counter(a.get("principalId") for a in assignments)
    domains = Counter(d["name"] for d in sekoia.domains(DEMO_COMMUNITY_UUID))
    duplicates = (max(0, len(apps) - 1) + max(0, len(sps) - 1) + max(0, len(passwords) - SECRET_SLOTS)
                  + sum(n - 1 for n in assigned.values()) + sum(n - 1 for n in domains.values()))
    if len(apps) != 1:
        problems.append(f"{len(apps)} applications made")
    if len(sps) != 1 or {sp.get("appId") for sp in sps} != app_ids:
        problems.append(f"{len(sps)} service principals made")
    if len(passwords) != SECRET_SLOTS:
        problems.append(f"{len(passwords)} secrets on the application, wanted one per slot")
    if len(assignments) != SANDBOX_ASSIGNMENTS or len(assigned) != SANDBOX_ASSIGNMENTS:
        problems.append(f"{len(assignments)} assignments to {len(assigned)} principals, "
                        f"wanted {SANDBOX_ASSIGNMENTS}")
    if set(domains) != {"contoso.example"} or max(domains.values(), default=0) != 1:
        problems.append(f"Sekoia.io domains {dict(domains)}")
    outputs = runs.outputs()
    held = sekoia.sso_secret(DEMO_COMMUNITY_UUID)
    if held is None or held != outputs["client_secret"].reveal():
        problems.append("Sekoia.io does not hold the client secret of the Terraform outputs")
    if held is not None and not graph.accepts_secret(str(outputs["client_id"]), held):
        problems.append("Sekoia.io holds a secret Entra ID does not accept")
    orphans = orphaned_objects(runs, graph, baseline)
    if orphans:
        problems.append("objects the Terraform state does not know: " + ", ".join(orphans))
    return problems, duplicates


def orphaned_objects(runs: Runs, graph, baseline: Baseline) -> list[str]:
    """Applications and service principals in the tenant, made by the runs, that the Terraform state lacks."""
    made = baseline.made(graph)
    known = runs.state_resources()
    orphans = [f"application {a['id']} ({a.get('displayName')})" for a in made["applications"]
               if a["id"] not in known.get("azuread_application", set())]
    orphans += [f"service principal {sp['id']}" for sp in made["service_principals"]
                if sp["id"] not in known.get("azuread_service_principal", set())]
    return orphans


# ----------------------------------------------------------------------------------------------
# the figures the seeded suites print


@dataclass
class Tally:
    """One suite's figures."""

    title: str
    runs: int = 0
    converged: int = 0
    duplicates: int = 0
    faults: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items()))
        total = sum(self.faults.values())
        text = (f"{self.title}: runs {self.runs}, faults injected {total}" + (f" ({kinds})" if kinds else "")
                + f", runs converged {self.converged}/{self.runs}, duplicates found {self.duplicates}")
        if self.notes:
            text += "; " + ", ".join(f"{name} {count}" for name, count in sorted(self.notes.items()))
        return text


class Evidence:
    """A pytest plugin registered by the `evidence` fixture: prints every tally in the terminal summary."""

    name = "sekoia-sso-evidence"

    def __init__(self) -> None:
        self.tallies: dict[str, Tally] = {}
        self.leak_bytes = self.leak_hits = self.leak_runs = self.leak_tests = 0

    def leak_scan(self, scanned: int, hits: list[str], *, runs: int) -> None:
        self.leak_bytes += scanned
        self.leak_hits += len(hits)
        self.leak_runs += runs
        self.leak_tests += 1

    def tally(self, title: str) -> Tally:
        return self.tallies.setdefault(title, Tally(title))

    def state(self) -> dict:
        # not dataclasses.asdict: it rebuilds a Counter from (key, value) pairs, counting the pairs
        return {"tallies": [{"title": t.title, "runs": t.runs, "converged": t.converged, "duplicates": t.duplicates,
                             "faults": dict(t.faults), "notes": dict(t.notes)} for t in self.tallies.values()],
                "leaks": [self.leak_bytes, self.leak_hits, self.leak_runs, self.leak_tests]}

    def absorb(self, state: dict) -> None:
        for figures in state["tallies"]:
            tally = self.tally(figures["title"])
            tally.runs += figures["runs"]
            tally.converged += figures["converged"]
            tally.duplicates += figures["duplicates"]
            tally.faults.update(figures["faults"])
            tally.notes.update(figures["notes"])
        scanned, hits, runs, tests = state["leaks"]
        self.leak_bytes, self.leak_hits = self.leak_bytes + scanned, self.leak_hits + hits
        self.leak_runs, self.leak_tests = self.leak_runs + runs, self.leak_tests + tests

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.tallies and not self.leak_tests:
            return
        terminalreporter.write_sep("-", "reliability figures")
        for tally in self.tallies.values():
            terminalreporter.write_line(tally.line())
        if self.leak_tests:
            terminalreporter.write_line(
                f"secret leaks: {self.leak_tests} end-to-end tests, {self.leak_runs} CLI runs, "
                f"{self.leak_bytes:,} bytes "
                f"scanned (stdout, stderr, --json documents, plan summaries, rendered files, YAML) for the client "
                f"secrets, the Terraform principal's secret and the API key, plain, base64 and URL-encoded: "
                f"hits {self.leak_hits}")


def session_plugin(pytestconfig, kind: type):
    """The one instance of a figures plugin (`kind`, with a `name`) for the session, registered on first use so
    that its pytest_terminal_summary prints at the end."""
    plugins = pytestconfig.pluginmanager
    found = plugins.get_plugin(kind.name)
    if found is None:
        found = kind()
        plugins.register(found, kind.name)
    return found


class BadInputFigures:
    """A pytest plugin (tests/e2e/test_bad_input.py records into it): cases tried / handled, in the summary."""

    name = "sekoia-sso-bad-input"

    def __init__(self) -> None:
        self.tried: Counter = Counter()
        self.handled: Counter = Counter()

    def record(self, group: str, handled: bool) -> None:
        self.tried[group] += 1
        self.handled[group] += handled

    def state(self) -> dict:
        return {"tried": dict(self.tried), "handled": dict(self.handled)}

    def absorb(self, state: dict) -> None:
        self.tried.update(state["tried"])
        self.handled.update(state["handled"])

    def pytest_terminal_summary(self, terminalreporter) -> None:
        if not self.tried:
            return
        from tests.unit.test_config import BAD_CONFIGS

        tried, handled = sum(self.tried.values()), sum(self.handled.values())
        groups = ", ".join(f"{group} {self.handled[group]}/{self.tried[group]}" for group in self.tried)
        terminalreporter.write_sep("-", "bad input figures")
        terminalreporter.write_line(f"bad input: {tried} cases tried, {handled} handled ({groups})")
        terminalreporter.write_line(f"  plus {len(BAD_CONFIGS)} bad config files in tests/unit/test_config.py "
                                    f"(run there): {tried + len(BAD_CONFIGS)} bad-input cases in all")


FIGURES = (Evidence, BadInputFigures)


def pytest_sessionfinish(session) -> None:
    """Under pytest-xdist, a worker hands its figures to the controller, which prints the one summary."""
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is None:
        return
    for kind in FIGURES:
        found = session.config.pluginmanager.get_plugin(kind.name)
        if found is not None:
            workeroutput[kind.name] = json.dumps(found.state())


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    for kind in FIGURES:
        state = getattr(node, "workeroutput", {}).get(kind.name)
        if state:
            session_plugin(node.config, kind).absorb(json.loads(state))


@pytest.fixture(scope="session", name="evidence")
def evidence_fixture(pytestconfig) -> Evidence:
    return session_plugin(pytestconfig, Evidence)
