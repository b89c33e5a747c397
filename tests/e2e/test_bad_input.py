"""Bad input is refused cleanly: a corpus of cases, each a way users or servers get it wrong.

A case is HANDLED when all of this holds (anything less counts it as not handled, and fails it):

- the documented exit code: 2 bad config, bad usage or a missing environment variable; 1 a failure
  (an answer the tool cannot use); 3 waiting (a tolerated answer leaves connect waiting on a domain);
- one `Error:` paragraph on stderr with the fragments the case lists: where (the file and field, the
  variable, the option, the host and route) and what is wrong;
- no Python traceback, and at most a few kB printed, however big the bad answer was;
- nothing changed: the project's files and the Terraform state byte for byte the same, no write
  request reaching an emulator, no pushed-secret record; and NOTHING sent to the other host that a
  redirect or a nextLink names (the credentials must never follow it);
- no secret printed (the sandbox's client secret and API key, the test's fake client secret).

The groups: config files (beyond the 46 cases of tests/unit/test_config.py, counted in the figures but run
there), environment variables, CLI misuse, and malformed answers from Microsoft Graph, the Entra ID
login host, the tenant's discovery document and Sekoia.io.

Decisions this corpus pins down (orchestrator/config/):
- duplicate keys are refused, naming both lines: PyYAML silently keeps the last one, so a reviewer
  could read one tenant_id and the tool use another;
- YAML aliases are refused, even small ones (nested ones expand exponentially, and an environment
  file is short enough to write values out); nesting is bounded; files over 1 MB are refused unread;
- a well-formed JSON answer under a wrong Content-Type is read, and so is a numeric string where Graph
  puts a number ($batch statuses): those cases expect the same result as a correct answer;
- a Retry-After that is not a finite number counts as absent (the client backs off on its own).

How the API cases run: a `StandIn`, a real HTTP server on 127.0.0.1, takes the place of Graph, the
login host or Sekoia.io in the sandbox's endpoints.json (which orchestrator/endpoints.py maps the real
hosts to). It serves the scripted bad answer on one route and forwards every other request to the
session's emulators, so the rest of the run is real; redirects and nextLinks point at a decoy host.
Graph and login cases run `sekoia-sso preflight` as a process (two reads of an application run
GraphClient.get in-process). Sekoia.io and discovery cases run the library's `connect` in-process
(the call the connect, apply and rotate commands make; errors become exit codes exactly as the CLI's
SSOGroup does), since a process spends a second in `terraform init` and paces Sekoia.io at 3.5
requests/s; a few run as `sekoia-sso connect` processes too, on a hand-written Terraform state holding
only outputs. A domain already pending in Sekoia.io makes a correct run stop, exit 3, before any write.

The cases that only run processes (config, CLI, environment variables, Graph and login) run four at a
time ahead of the tests (`pooled_outcomes`); the module takes 20-25 s.

Prints at the end of the session: cases tried / handled, per group.
"""

from __future__ import annotations

import hashlib
import http.client
import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import BadInputFigures, error_paragraph, session_plugin
from tests.harness.fixtures_sekoia import MemoryHandover
from tests.harness.project import REPO, copy_project
from tests.unit.test_config import BAD_CONFIGS

# The first test waits for the pool (about 200 processes): on a loaded 2-core machine that takes minutes.
pytestmark = pytest.mark.timeout(420)

DATA = Path(__file__).resolve().parents[1] / "badinput"
GOOD = yaml.safe_load((REPO / "envs" / "sandbox.yaml").read_text())
CLI_TIMEOUT = 60.0
MAX_PRINTED = 16_000  # bytes: a 10 MB answer must not end up on the terminal
FAKE_CLIENT_ID = "11111111-2222-4333-8444-555555555555"
FAKE_SECRET = "Fk8Q~bad-input-corpus-client-secret-0123456789"
FAKE_KEY_ID = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
TEN_MB = 10 * 1024 * 1024
# Secrets pasted where they do not belong (issue 15): none may appear in any byte printed.
PASTED_CLIENT_SECRET = "Xyz8Q~pasted.Client_Secret-0123456789AbCdEf"  # an Entra client secret's shape
PASTED_API_KEY = "c2Vrb2lhLWFwaS1rZXktZm9yLXRoZS1iYWQtaW5wdXQtY29ycHVz+Q7xZ/9kLmN4=="  # base64, like Sekoia.io's
URL_PASSWORD = "hunter2-Pa55w0rd"
KEY_WITH_NEWLINE = "Sk1aB2cD3eF4gH5iJ6kL7mN8oP9\nqR0sT1uV2wX3yZ4aB5cD6"
KEY_NON_ASCII = "Sk1aB2cD3eF4gH5iJ6kL7mN8oP9é0sT1uV2wX3yZ4aB5cD6"
KEY_WITH_SPACE = "Sk1aB2cD3eF4gH5iJ6kL7mN8oP9 qR0sT1uV2wX3yZ4aB5cD6"
PASTED = [PASTED_CLIENT_SECRET, PASTED_API_KEY, URL_PASSWORD, KEY_WITH_NEWLINE, *KEY_WITH_NEWLINE.split("\n"),
          KEY_NON_ASCII, KEY_WITH_SPACE]


# ------------------------------------------------------------------------------------------------
# A stand-in server: scripted bad answers on some routes, everything else forwarded to an emulator


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    cut: bool = False  # announce the whole length, send half, close: a body truncated on the wire

    @classmethod
    def json(cls, payload, status: int = 200, content_type: str = "application/json") -> Reply:
        return cls(status, json.dumps(payload).encode(), {"Content-Type": content_type})

    @classmethod
    def html(cls, status: int, title: str, size: int = 0) -> Reply:
        page = f"<!DOCTYPE html><html><head><title>{title}</title></head><body><h1>{title}</h1>"
        padding = "<p>" + "x" * max(0, size - len(page) - 30) + "</p>" if size else ""
        return cls(status, (page + padding + "</body></html>").encode(),
                   {"Content-Type": "text/html; charset=utf-8", "Retry-After": "0"})

    @classmethod
    def text(cls, body: str | bytes, status: int = 200, content_type: str = "application/json") -> Reply:
        raw = body.encode() if isinstance(body, str) else body
        return cls(status, raw, {"Content-Type": content_type, "Retry-After": "0"})

    def with_headers(self, headers: dict[str, str]) -> Reply:
        return Reply(self.status, self.body, {**self.headers, **headers}, self.cut)

    @classmethod
    def redirect(cls, location: str, status: int = 302) -> Reply:
        return cls(status, b"", {"Location": location})


class StandIn:
    """A real HTTP server on 127.0.0.1 standing in for one API host; logs every request it gets."""

    def __init__(self, upstream: str | None = None):
        self.upstream = urlsplit(upstream) if upstream else None
        self.scripts: list[tuple[str, re.Pattern[str], Reply | Callable[[Reply], Reply]]] = []
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.served: list[int] = []
        self.limits: list[int | None] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInHandler)
        self._server.daemon_threads = True
        self._server.stand_in = self
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="stand-in", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def other_host_url(self) -> str:
        """The same server under another host name: what a redirect 'to another host' points at."""
        return self.url.replace("127.0.0.1", "localhost")

    def on(self, method: str, path: str, reply: Reply | Callable[[Reply], Reply], *, times: int | None = None
           ) -> StandIn:
        """Answer `reply` to requests whose path (without the query) matches the regex `path` (the first
        `times` of them, if given); a callable gets the upstream's answer and returns what to send instead."""
        self.scripts.append((method.upper(), re.compile(path), reply))
        self.served.append(0)
        self.limits.append(times)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def scripted(self, method: str, path: str) -> Reply | Callable[[Reply], Reply] | None:
        with self._lock:
            for index, (wanted, pattern, reply) in enumerate(self.scripts):
                limit = self.limits[index]
                if wanted == method and pattern.search(path) and (limit is None or self.served[index] < limit):
                    self.served[index] += 1
                    return reply
        return None

    def unserved(self) -> list[str]:
        """The scripted answers no request got: a case whose bad answer was never served proves nothing."""
        return [f"{method} {pattern.pattern}" for (method, pattern, _), hits in zip(self.scripts, self.served,
                                                                                  strict=True) if not hits]

    def forward(self, method: str, target: str, headers, body: bytes) -> Reply:
        if self.upstream is None:
            return Reply.json({"error": "nothing upstream"}, status=599)
        connection = http.client.HTTPConnection(self.upstream.hostname, self.upstream.port, timeout=30)
        try:
            # Host stays the stand-in's, so the emulators' nextLinks point back here.
            forwarded = {k: v for k, v in headers.items() if k.lower() not in ("connection", "content-length")}
            connection.request(method, target, body=body or None, headers=forwarded)
            answer = connection.getresponse()
            kept = {k: v for k, v in answer.getheaders()
                    if k.lower() not in ("connection", "content-length", "transfer-encoding", "date", "server")}
            return Reply(answer.status, answer.read(), kept)
        finally:
            connection.close()


class _StandInHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stand_in: StandIn = self.server.stand_in
        with stand_in._lock:
            stand_in.requests.append((self.command, self.path, dict(self.headers)))
        path = urlsplit(self.path).path
        reply = stand_in.scripted(self.command, path)
        if not isinstance(reply, Reply):
            upstream = stand_in.forward(self.command, self.path, self.headers, body)
            reply = upstream if reply is None else reply(upstream)
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            self.wfile.write(reply.body[:len(reply.body) // 2] if reply.cut else reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up reading a huge body: fine
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


# ------------------------------------------------------------------------------------------------
# One run's outcome, and what "handled" means


@dataclass
class Outcome:
    exit_code: int | None  # None: it did not finish within the time limit
    out: str
    err: str
    changes: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass(frozen=True)
class Case:
    id: str
    group: str
    run: Callable[[Lab], Outcome]
    exit_code: int
    fragments: tuple[str, ...]
    # "alone": needs no emulator; "shared": reads only, through its own stand-ins, from the session's emulators
    # (both kinds run side by side, ahead of the tests); "serial": needs the emulators to itself.
    runs_in: str = "serial"

    @property
    def key(self) -> str:
        return f"{self.group}:{self.id}"


def problems_with(case: Case, outcome: Outcome, secrets: list[str]) -> list[str]:
    """Empty when the case was handled; else each way it was not."""
    found = []
    printed = outcome.out + outcome.err
    if outcome.exit_code is None:
        return [f"did not finish within {CLI_TIMEOUT:.0f} s"]
    if outcome.exit_code != case.exit_code:
        found.append(f"exit {outcome.exit_code}, expected {case.exit_code}")
    if "Traceback (most recent call last)" in printed:
        found.append("a Python traceback was printed")
    if len(printed.encode()) > MAX_PRINTED:
        found.append(f"{len(printed.encode()):,} bytes printed")
    said = printed  # where the fragments must be: the error message itself when there is one
    if case.exit_code != 0:
        paragraph = error_paragraph(outcome.err)
        if isinstance(paragraph, str):
            found.append(paragraph)
        elif len(paragraph[0]) < len("Error: ") + 20:
            found.append("the error message says too little")
        else:
            said = "\n".join(paragraph)
    missing = [fragment for fragment in case.fragments if fragment not in said]
    if missing:
        found.append(f"message lacks {missing}")
    found += outcome.changes
    leaked = [secret[:4] + "…" for secret in secrets if secret and secret in printed]
    if leaked:
        found.append(f"secrets printed: {leaked}")
    return found


# ------------------------------------------------------------------------------------------------
# The lab: a throwaway project, a sandbox dir whose endpoints.json may name stand-ins, and runners


def _snapshot(*roots: Path) -> dict[str, str]:
    """path -> sha256 of every file, minus Terraform's own working data (provider cache, lock file)."""
    files = {}
    for root in roots:
        if not root.exists():
            continue
        for path in root.rglob("*"):
            relative = path.relative_to(root)
            parts = relative.parts
            if not path.is_file() or any(p.startswith(".terraform") for p in parts):
                continue
            if root.name == "sandbox" and parts[:1] == ("terraform",) and len(parts) > 2:
                continue  # TF_DATA_DIR of a sandbox environment: init's cache, not a change
            files[f"{root.name}/{relative.as_posix()}"] = hashlib.sha256(path.read_bytes()).hexdigest()
    return files


def _diff(before: dict[str, str], after: dict[str, str]) -> list[str]:
    changed = sorted(set(before) ^ set(after) | {p for p in before.keys() & after.keys() if before[p] != after[p]})
    return [f"file changed: {path}" for path in changed]


def outputs_state(tenant_id: str, tenant_endpoint: str) -> dict:
    """A Terraform state holding only the outputs `connect` reads (as if the Entra half were applied)."""
    values = {"client_id": FAKE_CLIENT_ID, "tenant_id": tenant_id, "tenant_endpoint": tenant_endpoint,
              "client_secret": FAKE_SECRET, "client_secret_key_id": FAKE_KEY_ID}
    return {"version": 4, "terraform_version": "1.11.4", "serial": 1,
            "lineage": "b4d1b4d1-0000-4000-8000-000000000001",
            "outputs": {name: {"value": value, "type": "string", **({"sensitive": True}
                                                                  if name == "client_secret" else {})}
                        for name, value in values.items()},
            "resources": [], "check_results": None}


def emulator_writes(graph, sekoia) -> list[str]:
    """Every request that could have changed the emulated tenant or community.

    Token requests and $batch requests of GETs cannot."""
    writes = [f"Graph write: {r.method} {r.path}" for r in graph.requests
              if r.method != "GET" and r.path != "/v1.0/$batch" and "/oauth2/" not in r.path]
    return writes + [f"Sekoia.io write: {r.method} {r.path}" for r in sekoia.write_requests]


class Lab:
    """One case's world: a project, a sandbox dir, stand-ins. A serial case's lab has the test's `request`
    (emulators reset for it) and `monkeypatch`; a pooled one only runs processes, on `shared` emulators if any."""

    def __init__(self, tmp_path: Path, *, request: pytest.FixtureRequest | None = None,
                 monkeypatch: pytest.MonkeyPatch | None = None, shared=None):
        self.request = request
        self.tmp = tmp_path
        self.monkeypatch = monkeypatch
        self.shared = shared
        self.stand_ins: list[StandIn] = []
        self.secrets: list[str] = [FAKE_SECRET, *PASTED]
        self.decoys: list[StandIn] = []  # hosts a redirect or nextLink names: must get nothing

    @cached_property
    def project(self) -> Path:
        return copy_project(self.tmp / "project", envs=("sandbox", "example-prod"))

    @property
    def sandbox_dir(self) -> Path:
        return self.tmp / "sandbox"

    @cached_property
    def emulators(self):
        if self.shared is not None:
            sandbox, graph, sekoia = self.shared, self.shared.graph, self.shared.sekoia
        else:
            sandbox = self.request.getfixturevalue("sandbox")
            graph = self.request.getfixturevalue("graph_emulator")
            sekoia = self.request.getfixturevalue("sekoia_emulator")
        self.secrets += [sandbox.graph.principal_client_secret, sandbox.sekoia.demo_api_key or ""]
        return sandbox, graph, sekoia

    def stand_in(self, upstream: str | None = None) -> StandIn:
        server = StandIn(upstream)
        self.stand_ins.append(server)
        return server

    def decoy(self) -> StandIn:
        """Another host, named by a redirect or a nextLink; it must receive no request at all."""
        server = self.stand_in()
        self.decoys.append(server)
        return server

    def close(self) -> None:
        for server in self.stand_ins:
            server.stop()

    # -- the sandbox seen through stand-ins

    def sandbox(self, *, graph: str | None = None, login: str | None = None, sekoia: str | None = None,
                drop_env: tuple[str, ...] = (), state: bool = False) -> Path:
        """Write the sandbox dir's endpoints.json: the session's emulators, or the URLs given instead."""
        sandbox, _, _ = self.emulators
        endpoints = sandbox.endpoints()
        endpoints["graph_url"] = graph or endpoints["graph_url"]
        endpoints["login_url"] = login or endpoints["login_url"]
        endpoints["sekoia_url"] = sekoia or endpoints["sekoia_url"]
        endpoints["env"] = {k: v for k, v in endpoints["env"].items() if k not in drop_env}
        self.sandbox_dir.mkdir(exist_ok=True)
        (self.sandbox_dir / "endpoints.json").write_text(json.dumps(endpoints))
        if state:
            tenant = GOOD["tenant_id"]
            (self.sandbox_dir / "terraform").mkdir(exist_ok=True)
            (self.sandbox_dir / "terraform" / "sandbox.tfstate").write_text(json.dumps(
                outputs_state(tenant, f"https://login.microsoftonline.com/{tenant}/")))
        return self.sandbox_dir

    def pending_domain(self) -> None:
        """contoso.example already sent for verification: a correct connect --no-wait ends in exit 3, unwritten."""
        _, _, sekoia = self.emulators
        sekoia.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="pending")

    def _emulator_writes(self) -> list[str]:
        if "emulators" not in self.__dict__ or self.shared is not None:
            return []  # shared emulators are checked once for the whole pool
        _, graph, sekoia = self.emulators
        return emulator_writes(graph, sekoia)

    def _decoy_hits(self) -> list[str]:
        return [f"sent to the other host: {method} {path}" + (" WITH credentials" if any(
            h.lower() in ("authorization", "cookie") for h in headers) or method == "POST" else "")
            for decoy in self.decoys for method, path, headers in decoy.requests]

    def measure(self, action: Callable[[], tuple[int | None, str, str]]) -> Outcome:
        roots = (self.project, self.sandbox_dir)
        before = _snapshot(*roots)
        started = time.monotonic()
        code, out, err = action()
        seconds = time.monotonic() - started
        changes = _diff(before, _snapshot(*roots)) + self._emulator_writes() + self._decoy_hits()
        changes += [f"the bad answer was never served: {route}" for server in self.stand_ins
                    for route in server.unserved()]
        return Outcome(code, out, err, changes, seconds)

    # -- runners

    def shell_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARM_", "SEKOIA_", "AZURE_"))}
        # No Azure CLI login may stand in for missing ARM_* variables on a developer's machine.
        env.update(SEKOIA_SSO_PROJECT_DIR=str(self.project), SEKOIA_SSO_SANDBOX_DIR=str(self.sandbox_dir),
                   ARM_USE_CLI="false")
        for name, value in (extra or {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def cli(self, *args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
            read_only: bool = False) -> Outcome:
        """`sekoia-sso ARGS` as a process in the throwaway project (`read_only`: mounted read-only, as a CI
        runner's workspace may be; as root through a private mount namespace, else by file modes)."""
        argv = [sys.executable, "-m", "orchestrator", *args]
        if read_only:
            argv = read_only_argv(self.project, argv)

        def run() -> tuple[int | None, str, str]:
            try:
                done = subprocess.run(argv, cwd=cwd or self.project,
                                      env=self.shell_env(env), capture_output=True, timeout=CLI_TIMEOUT,
                                      stdin=subprocess.DEVNULL)
            except subprocess.TimeoutExpired as exc:
                return None, (exc.stdout or b"").decode(errors="replace"), (exc.stderr or b"").decode(errors="replace")
            return done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")

        return self.measure(run)

    def connect(self) -> Outcome:
        """The library's connect on environment sandbox, in-process; exit code and message as the CLI makes them."""
        from orchestrator.config.loading import load_environment
        from orchestrator.console import Reporter
        from orchestrator.endpoints import endpoints_for
        from orchestrator.entra.discovery import check_tenant_discovery
        from orchestrator.errors import SekoiaSSOError
        from orchestrator.sekoia.client import RetryPolicy, SekoiaClient
        from orchestrator.sekoia.connect import connect
        from orchestrator.sekoia.settings import SekoiaTarget

        self.monkeypatch.setenv("SEKOIA_SSO_SANDBOX_DIR", str(self.sandbox_dir))
        handover = MemoryHandover()
        recorded = handover.recorded

        def run() -> tuple[int | None, str, str]:
            out, err = io.StringIO(), io.StringIO()
            try:
                env = load_environment(self.project, "sandbox")
                endpoints = endpoints_for(env, self.project)
                outputs = {k: v["value"] for k, v in outputs_state(env.config.tenant_id,
                                                                    env.tenant_endpoint)["outputs"].items()}
                target = SekoiaTarget.from_outputs(env, outputs)
                # Pacing and backoff shortened: the answers are what is under test, not the waits.
                with SekoiaClient.for_environment(env, endpoints, rate=1000.0,
                                                  retry=RetryPolicy(backoff=0.01, max_backoff=0.05)) as client:
                    connect(client, target, reporter=Reporter(out, err), wait=False,
                            handover=handover,
                            check_discovery=lambda: check_tenant_discovery(target.provider_url, target.tenant_id,
                                                                           endpoints=endpoints))
                code = 0
            except SekoiaSSOError as exc:  # what orchestrator.cli.SSOGroup does
                err.write(f"Error: {exc}\n")
                code = exc.exit_code
            except Exception:  # what Python does with anything else: a traceback, exit 1
                err.write(traceback.format_exc())
                code = 1
            return code, out.getvalue(), err.getvalue()

        outcome = self.measure(run)
        outcome.changes += [f"pushed-secret record written: {key}" for key in recorded]
        return outcome


    def graph_get(self, path: str) -> Outcome:
        """The library's GraphClient.get on environment sandbox, in-process (as apply and status call it)."""
        from orchestrator.config.loading import load_environment
        from orchestrator.entra.graph import open_graph
        from orchestrator.errors import SekoiaSSOError

        self.monkeypatch.setenv("SEKOIA_SSO_SANDBOX_DIR", str(self.sandbox_dir))

        def run() -> tuple[int | None, str, str]:
            try:
                with open_graph(load_environment(self.project, "sandbox"), self.project) as graph:
                    answer = graph.get(path, {"$select": "id,web,displayName"})
                    # What status does next with the application it read.
                    return 0, str((answer.get("web") or {}).get("redirectUris")), ""
            except SekoiaSSOError as exc:
                return exc.exit_code, "", f"Error: {exc}\n"
            except Exception:
                return 1, "", traceback.format_exc()

        return self.measure(run)


def read_only_argv(project: Path, argv: list[str]) -> list[str]:
    """`argv` run with `project` read-only: a read-only bind mount in a private mount namespace (root), or
    the files' write bits removed (any other user, for whom they are then really read-only)."""
    if os.geteuid() == 0:
        return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(project), *argv]
    for path in [project, *project.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    return argv


@pytest.fixture
def lab(request, tmp_path, monkeypatch) -> Iterator[Lab]:
    laboratory = Lab(tmp_path, request=request, monkeypatch=monkeypatch)
    yield laboratory
    laboratory.close()


# ------------------------------------------------------------------------------------------------
# Case builders


def with_change(change: Callable[[dict], None]) -> str:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    change(data)
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def good_text() -> str:
    return (REPO / "envs" / "sandbox.yaml").read_text()


def config_case(case_id: str, content: str | bytes | Callable[[], str | bytes], fragments: tuple[str, ...]) -> Case:
    """envs/broken.yaml holds `content`; `render broken` must exit 2 naming it, and write nothing."""

    def run(lab: Lab) -> Outcome:
        body = content() if callable(content) else content
        path = lab.project / "envs" / "broken.yaml"
        path.write_bytes(body if isinstance(body, bytes) else body.encode())
        return lab.cli("render", "broken")

    return Case(case_id, "config", run, 2, ("envs/broken.yaml", *fragments), runs_in="alone")


def cli_case(case_id: str, args: tuple[str, ...], exit_code: int, fragments: tuple[str, ...],
             group: str = "cli", env: dict[str, str] | Callable[[Lab], dict[str, str]] | None = None,
             prepare: Callable[[Lab], None] | None = None, runs_in: str = "alone", read_only: bool = False) -> Case:
    def run(lab: Lab) -> Outcome:
        if prepare is not None:
            prepare(lab)
        return lab.cli(*args, env=env(lab) if callable(env) else env, read_only=read_only)

    return Case(case_id, group, run, exit_code, fragments, runs_in)


def _set(path: str, value) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[key]
        node[last] = value

    return change


def _billion_laughs() -> str:
    lines = ['lol0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return good_text() + "\n".join(lines) + "\n"


def _line_of(prefix: str) -> int:
    """The line number of the first line of envs/sandbox.yaml starting with `prefix`."""
    return next(n for n, line in enumerate(good_text().splitlines(), start=1) if line.startswith(prefix))


GOOD_LINES = len(good_text().splitlines())


def _five_megabytes() -> str:
    groups = "".join(f"    - Group number {i:07d}\n" for i in range(5 * 1024 * 1024 // 26))
    return good_text().replace("  groups:\n", "  groups:\n" + groups, 1)


CONFIG_CASES = [
    config_case("yaml-billion-laughs", _billion_laughs, (f"line {GOOD_LINES + 2}, column 12",
                                                         "YAML aliases (*l0) are not accepted")),
    config_case("yaml-small-alias", good_text() + "extra: &x 1\nagain: *x\n", ("YAML aliases (*x)",)),
    config_case("yaml-merge-key",
                good_text().replace("secret:\n", "defaults: &d {validity_days: 90}\nsecret:\n  <<: *d\n"),
                ("YAML aliases (*d)", "write the value out")),
    config_case("file-5-megabytes", _five_megabytes, ("larger than 1024 kB",)),
    config_case("binary-garbage", (DATA / "garbage.bin").read_bytes, ("not UTF-8 text", "binary file")),
    config_case("utf16-file", lambda: good_text().encode("utf-16"), ("is UTF-16 text", "save it as UTF-8")),
    config_case("duplicate-top-key", good_text().replace("cloud: public\n", "cloud: public\ntenant_id: "
                                                         "00000000-0000-4000-8000-000000000000\n"),
                (f"line {_line_of('cloud:') + 1}, column 1",
                 f"duplicate key 'tenant_id' (first at line {_line_of('tenant_id:')})")),
    config_case("duplicate-nested-key", good_text().replace("  region: FRA1\n", "  region: FRA1\n  region: USA1\n"),
                ("duplicate key 'region'",)),
    config_case("duplicate-section", good_text() + "secret:\n  validity_days: 30\n", ("duplicate key 'secret'",)),
    config_case("deeply-nested", "tenant_id: " + "[" * 5000 + "]" * 5000 + "\n", ("nested more than 32 levels",)),
    config_case("python-object-tag", good_text() + "evil: !!python/object/apply:os.system ['true']\n",
                ("not valid YAML", "could not determine a constructor")),
    config_case("custom-include-tag", good_text() + "more: !include other.yaml\n",
                ("not valid YAML", "!include")),
    config_case("two-documents", good_text() + "---\ntenant_id: x\n", ("not valid YAML", "single document")),
    config_case("control-character", good_text().replace("SOC Leads", "SOC\x07Leads"),
                ("not valid YAML", "special characters")),
    config_case("unhashable-key", good_text() + "? [a, b]\n: c\n", ("not valid YAML", "unhashable")),
    config_case("top-level-string", "tenant_id=8f0c2b7e\n", ("must be a YAML mapping", "str")),
    config_case("section-is-string", with_change(_set("application", "Sekoia.io SSO")),
                ("application: Input should be a valid dictionary",)),
    config_case("section-is-null", with_change(_set("sekoia", None)), ("sekoia: Input should be a valid dictionary",)),
    config_case("tenant-id-number", with_change(_set("tenant_id", 12345)), ("tenant_id", "valid string", "12345")),
    config_case("days-boolean", with_change(_set("secret.validity_days", True)),
                ("secret.validity_days", "number of days, not true")),
    config_case("days-fraction", with_change(_set("secret.rotate_before_days", 7.5)),
                ("secret.rotate_before_days", "fractional part")),
    config_case("notes-is-date", good_text().replace("  notes: Managed", "  notes: 2024-01-01\n  # Managed"),
                ("application.notes", "valid string", "datetime.date(2024, 1, 1)")),
    config_case("region-yaml-no", with_change(_set("sekoia.region", False)), ("sekoia.region", "valid string",
                                                                              "got False")),
    config_case("user-null", with_change(_set("access.users", [None])), ("access.users[0]", "valid string")),
    config_case("unknown-key-deep", with_change(_set("terraform.backend.pth", "x")),
                ("terraform.backend.pth: unknown key",)),
    config_case("unknown-key-case", good_text().replace("tenant_id:", "Tenant_ID:"),
                ("Tenant_ID: unknown key", "tenant_id: required")),
    config_case("guid-braces", with_change(_set("tenant_id", "{8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10}")),
                ("tenant_id", "must match")),
    config_case("guid-trailing-newline", with_change(_set("access.groups", ["8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10\n"])),
                ("access.groups", "control character")),
    config_case("guid-not-hex", with_change(_set("sekoia.community_uuid", "3b1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0eZZ")),
                ("sekoia.community_uuid", "must match")),
    config_case("domain-trailing-newline", with_change(_set("sekoia.domains", ["contoso.example\n"])),
                ("sekoia.domains", "not a lowercase DNS domain")),
    config_case("domain-unicode", with_change(_set("sekoia.domains", ["exämple.com"])),
                ("sekoia.domains", "'exämple.com' is not a lowercase DNS domain")),
    config_case("domain-trailing-dot", with_change(_set("sekoia.domains", ["contoso.example."])),
                ("'contoso.example.' is not a lowercase DNS domain",)),
    config_case("domain-wildcard", with_change(_set("sekoia.domains", ["*.contoso.example"])),
                ("'*.contoso.example' is not",)),
    config_case("domain-email", with_change(_set("sekoia.domains", ["soc@contoso.example"])),
                ("'soc@contoso.example' is not",)),
    config_case("domain-with-port", with_change(_set("sekoia.domains", ["contoso.example:443"])),
                ("'contoso.example:443' is not",)),
    config_case("region-lowercase", with_change(_set("sekoia.region", "fra1")),
                ("sekoia.region", "unknown region 'fra1'", "FRA1, FRA2")),
    config_case("region-empty", with_change(_set("sekoia.region", "")), ("sekoia.region", "unknown region ''")),
    config_case("region-number", with_change(_set("sekoia.region", 1)), ("sekoia.region", "valid string")),
    config_case("api-key-env-newline", with_change(_set("sekoia.api_key_env", "SEKOIA_API_KEY\n")),
                ("sekoia.api_key_env", "NAME of an environment variable")),
    # Entra ID's rules on values (issue 16 §4): refused before Terraform runs, naming what is allowed
    config_case("group-name-apostrophe", with_change(lambda data: data["access"]["groups"].append("Dev's Team")),
                ("access.groups", "\"Dev's Team\" contains an apostrophe", "by its object ID",
                 "1 problem:")),
    config_case("callback-url-semicolon", with_change(_set("sekoia.callback_url",
                                                           "https://app.sekoia.io/user/callback;jsessionid=1")),
                ("sekoia.callback_url", "contains ';'", "Entra ID refuses redirect URIs with any of ! $ ' ( ) , ;")),
    config_case("callback-url-257-characters", with_change(_set("sekoia.callback_url",
                                                                "https://app.sekoia.io/" + "c" * 235)),
                ("sekoia.callback_url", "is 257 characters long", "at most 256 characters")),
    config_case("callback-url-ipv6-loopback", with_change(_set("sekoia.callback_url", "https://[::1]:8443/user/callback")),
                ("sekoia.callback_url", "IPv6 loopback ([::1])", "use a host name")),
    config_case("callback-url-wildcard", with_change(_set("sekoia.callback_url", "https://*.sekoia.io/user/callback")),
                ("sekoia.callback_url", "wildcard (*)", "write the URL out")),
    config_case("app-url-parenthesis", with_change(_set("sekoia.app_url", "https://app.sekoia.io/(eu)")),
                ("sekoia.app_url", "the redirect URI 'https://app.sekoia.io/(eu)/user/callback'", "contains '(' ')'")),
]


def _all(*changes: Callable[[dict], None]) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        for one in changes:
            one(data)

    return change


def _append(path: str, value) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        node = data
        for key in path.split("."):
            node = node[key]
        node.append(value)

    return change


def _key(path: str, key: str, value) -> Callable[[dict], None]:
    def change(data: dict) -> None:
        node = data
        for part in path.split("."):
            node = node[part]
        node[key] = value

    return change


NOT_SANDBOX = _set("sandbox", False)
SECRET_SAID = "looks like a secret; secrets never go in YAML"
AZURERM = {"type": "azurerm", "resource_group_name": "rg-security-operations-sekoia-sso-prod-westeurope",
           "storage_account_name": "stsekoiassoprod", "container_name": "tfstate",
           "key": "platform/security/sekoia-sso/prod.terraform.tfstate"}

# Issue 15: hostile values. Each names the file and the field, never echoes a secret, writes nothing.
CONFIG_CASES += [
    # 1. a secret never appears in any output (the pasted secrets are in every Lab's leak list)
    config_case("secret-in-tenant-id", with_change(_set("tenant_id", PASTED_CLIENT_SECRET)),
                (f"tenant_id: {SECRET_SAID}", "1 problem:")),
    config_case("secret-in-community-uuid", with_change(_set("sekoia.community_uuid", PASTED_API_KEY)),
                (f"sekoia.community_uuid: {SECRET_SAID}", "1 problem:")),
    config_case("secret-in-groups", with_change(_append("access.groups", PASTED_CLIENT_SECRET)),
                (f"access.groups[2]: {SECRET_SAID}", "1 problem:")),
    config_case("secret-in-users", with_change(_append("access.users", PASTED_CLIENT_SECRET)),
                (f"access.users[1]: {SECRET_SAID}", "1 problem:")),
    config_case("secret-in-domains", with_change(_append("sekoia.domains", PASTED_API_KEY)),
                (f"sekoia.domains[1]: {SECRET_SAID}", "1 problem:")),
    config_case("secret-in-owners", with_change(_set("application.owners", [PASTED_CLIENT_SECRET])),
                (f"application.owners[0]: {SECRET_SAID}", "1 problem:")),
    config_case("secret-as-a-key", with_change(_key("sekoia", PASTED_CLIENT_SECRET, True)),
                (f"sekoia.<a key shaped like a secret>: {SECRET_SAID}",)),
    config_case("secret-as-a-top-key", with_change(_key("access", PASTED_API_KEY, None)),
                ("access.<a key shaped like a secret>",)),
    config_case("api-key-in-notes", with_change(_set("application.notes", f"key: {PASTED_API_KEY}")),
                (f"application.notes: {SECRET_SAID}",)),
    config_case("secret-as-default-role", with_change(_set("sekoia.default_role", PASTED_CLIENT_SECRET)),
                (f"sekoia.default_role: {SECRET_SAID}",)),
    config_case("secret-in-backend-key", with_change(_set("terraform.backend", {**AZURERM, "key": PASTED_API_KEY})),
                (f"terraform.backend.key: {SECRET_SAID}",)),
    config_case("secret-in-region", with_change(_set("sekoia.region", PASTED_CLIENT_SECRET)),
                (f"sekoia.region: {SECRET_SAID}",)),
    config_case("url-with-password", with_change(_set("sekoia.callback_url",
                                                      f"https://admin:{URL_PASSWORD}@app.sekoia.io/user/callback")),
                ("sekoia.callback_url", "must not hold a user name or password", "https://***@app.sekoia.io")),
    config_case("url-with-user", with_change(_set("sekoia.api_base", "https://ops@api.sekoia.io")),
                ("sekoia.api_base", "must not hold a user name or password")),
    config_case("url-with-password-only", with_change(_set("sekoia.app_url", f"https://:{URL_PASSWORD}@app.sekoia.io")),
                ("sekoia.app_url", "user info")),
    # 5. values HCL cannot hold on one line, or that read differently from what they are
    config_case("display-name-as-in-issue", good_text().replace(
        "display_name: Sekoia.io SSO (sandbox)", 'display_name: "SOC\\u2028Paris\\u0085Lyon\\u202eX"'),
        ("application.display_name", "U+2028")),
    config_case("display-name-line-separator", with_change(_set("application.display_name", "SOC\u2028Paris")),
                ("application.display_name", "control character (U+2028)")),
    config_case("display-name-next-line", good_text().replace("display_name: Sekoia.io SSO (sandbox)",
                                                              'display_name: "SOC\\u0085Lyon"'),
                ("application.display_name", "U+0085")),
    config_case("display-name-bidi-override", with_change(_set("application.display_name", "SOC\u202eX")),
                ("application.display_name", "bidirectional control U+202E")),
    config_case("display-name-tab", with_change(_set("application.display_name", "SOC\tParis")),
                ("application.display_name", "a tab")),
    config_case("group-bidi-isolate", with_change(_append("access.groups", "SOC \u2066Admins\u2069")),
                ("access.groups[2]", "bidirectional control U+2066")),
    config_case("notes-paragraph-separator", with_change(_set("application.notes", "one\u2029two")),
                ("application.notes", "U+2029")),
    # 6. holes in validation
    config_case("jit-blank-role", with_change(_set("sekoia.default_role", "   ")),
                ("sekoia: default_role is required when jit_provisioning is true", "a blank one does not count")),
    config_case("jit-empty-role", with_change(_set("sekoia.default_role", "")), ("default_role is required",)),
    config_case("loopback-api-base", with_change(_all(NOT_SANDBOX, _set("sekoia.api_base", "https://127.0.0.1:8443/api"))),
                ("sekoia.api_base", "127.0.0.1, a loopback address", "only a sandbox environment")),
    config_case("localhost-callback", with_change(_all(NOT_SANDBOX, _set("sekoia.callback_url",
                                                                          "https://localhost/user/callback"))),
                ("sekoia.callback_url", "localhost, a local host name")),
    config_case("private-app-url", with_change(_all(NOT_SANDBOX, _set("sekoia.app_url", "https://10.1.2.3"))),
                ("sekoia.app_url", "a private address")),
    config_case("link-local-api-base", with_change(_all(NOT_SANDBOX, _set("sekoia.api_base",
                                                                           "https://169.254.169.254/metadata"))),
                ("sekoia.api_base", "a link-local address")),
    config_case("ipv6-loopback-callback", with_change(_all(NOT_SANDBOX, _set("sekoia.callback_url",
                                                                              "https://[::1]:8443/cb"))),
                ("sekoia.callback_url", "::1, a loopback address")),
    config_case("api-key-env-arm-secret", with_change(_set("sekoia.api_key_env", "ARM_CLIENT_SECRET")),
                ("sekoia.api_key_env", "ARM_CLIENT_SECRET holds a credential", "SEKOIA_API_KEY")),
    config_case("api-key-env-arm-oidc", with_change(_set("sekoia.api_key_env", "ARM_OIDC_TOKEN")),
                ("sekoia.api_key_env", "ARM_OIDC_TOKEN holds a credential")),
    config_case("api-key-env-azure", with_change(_set("sekoia.api_key_env", "AZURE_CLIENT_SECRET")),
                ("AZURE_CLIENT_SECRET holds a credential",)),
    config_case("api-key-env-github-oidc", with_change(_set("sekoia.api_key_env", "ACTIONS_ID_TOKEN_REQUEST_TOKEN")),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN holds a credential",)),
    config_case("api-key-env-tf-var", with_change(_set("sekoia.api_key_env", "TF_VAR_client_secret".upper())),
                ("TF_VAR_CLIENT_SECRET holds a credential",)),
    config_case("callback-fragment", with_change(_set("sekoia.callback_url", "https://app.sekoia.io/user/callback#x")),
                ("sekoia.callback_url", "must not have a #fragment")),
    config_case("callback-empty-fragment", with_change(_set("sekoia.callback_url", "https://app.sekoia.io/cb#")),
                ("#fragment",)),
    config_case("url-bad-port", with_change(_set("sekoia.api_base", "https://api.sekoia.io:99999/api")),
                ("sekoia.api_base", "is not a valid URL")),
    config_case("backend-path-nul", with_change(_set("terraform.backend.path", "state\0.tfstate")),
                ("terraform.backend.path: contains a NUL byte",)),
    config_case("display-name-nul", with_change(_set("application.display_name", "SOC\0")),
                ("application.display_name: contains a NUL byte",)),
    config_case("group-nul", with_change(_append("access.groups", "SOC\0Leads")), ("access.groups[2]", "NUL byte")),
    config_case("key-with-nul", with_change(_key("sekoia", "reg\0ion", "FRA1")), ("sekoia.", "(a key)", "NUL byte")),
    # 8. values in messages are shortened
    config_case("tenant-id-200000-characters", with_change(_set("tenant_id", "x" * 200_000)),
                ("tenant_id: got 'xxxx", "(200,000 characters); must match")),
    config_case("unknown-key-10000-characters", with_change(_key("sekoia", "k" * 10_000, 1)),
                ("(10,000 characters): unknown key",)),
    config_case("domain-100000-characters", with_change(_set("sekoia.domains", ["a" * 100_000])),
                ("sekoia.domains", "(100,000 characters) is not a lowercase DNS domain")),
    config_case("region-50000-characters", with_change(_set("sekoia.region", "FRA" * 50_000)),
                ("sekoia.region", "(150,000 characters)")),
]

# Issue 17 §1: where rendered roots take the module from. Each names the key and what is allowed.
GIT_SOURCE = "git::https://github.com/acme/sekoia-sso.git//terraform/modules/sekoia-sso"
MODULE_ALLOWED = "allowed: a local path (./… or ../…), git::https://host/repo.git//path?ref=<tag or commit>"
CONFIG_CASES += [
    config_case("module-git-unpinned", with_change(_set("terraform.module_source", GIT_SOURCE)),
                ("terraform.module_source", "must pin a ref", "?ref=<tag or commit>")),
    config_case("module-git-empty-ref", with_change(_set("terraform.module_source", GIT_SOURCE + "?ref=")),
                ("terraform.module_source", "must pin a ref")),
    config_case("module-git-branch", with_change(_set("terraform.module_source", GIT_SOURCE + "?ref=main")),
                ("terraform.module_source", "ref='main' names a branch", "pin a tag")),
    config_case("module-git-token", with_change(_set("terraform.module_source",
                                                     f"git::https://ci:{URL_PASSWORD}@github.com/acme/x.git?ref=v1")),
                ("terraform.module_source", "must not hold a user name or token", "https://***@github.com")),
    config_case("module-git-http", with_change(_set("terraform.module_source", "git::http://git.acme.example/x?ref=v1")),
                ("terraform.module_source", "git::https://… or git::ssh://…")),
    config_case("module-git-unknown-query",
                with_change(_set("terraform.module_source", GIT_SOURCE + "?ref=v1&sshkey=x")),
                ("terraform.module_source", "unknown query parameter 'sshkey'", "allowed: ref, depth")),
    config_case("module-github-shorthand", with_change(_set("terraform.module_source", "github.com/acme/sekoia-sso")),
                ("terraform.module_source", "got 'github.com/acme/sekoia-sso'", MODULE_ALLOWED)),
    config_case("module-http-archive", with_change(_set("terraform.module_source", "https://acme.example/m.zip")),
                ("terraform.module_source", MODULE_ALLOWED)),
    config_case("module-source-empty", with_change(_set("terraform.module_source", "")),
                ("terraform.module_source", "must not be empty", "omit it for the vendored module")),
    config_case("module-source-quote", with_change(_set("terraform.module_source", '../m" { }')),
                ("terraform.module_source", "contains a space, quote or backslash")),
    config_case("module-source-number", with_change(_set("terraform.module_source", 1)),
                ("terraform.module_source", "valid string")),
    config_case("module-registry-no-version", with_change(_set("terraform.module_source", "acme/sekoia-sso/azuread")),
                ("terraform.module_version", "required for the registry source", "exact version")),
    config_case("module-registry-constraint", with_change(_all(_set("terraform.module_source", "acme/sso/azuread"),
                                                               _set("terraform.module_version", "~> 1.0"))),
                ("terraform.module_version", "got '~> 1.0'", "an exact version such as 1.0.0")),
    config_case("module-registry-version-number", with_change(_all(_set("terraform.module_source", "acme/sso/azuread"),
                                                                   _set("terraform.module_version", 1.0))),
                ("terraform.module_version", "valid string")),
    config_case("module-version-without-source", with_change(_set("terraform.module_version", "1.0.0")),
                ("terraform.module_version", "applies to a registry source only", "remove module_version")),
    config_case("module-version-with-git", with_change(_all(_set("terraform.module_source", GIT_SOURCE + "?ref=v1"),
                                                            _set("terraform.module_version", "1.0.0"))),
                ("terraform.module_version", "module_source is git (its ?ref= pins it)")),
]


def _broken_module_source(lab: Lab) -> None:
    text = with_change(_set("terraform.module_source", GIT_SOURCE))
    (lab.project / "envs" / "broken.yaml").write_text(text)


def _file_named_envs(lab: Lab) -> None:
    (lab.project / "new-repo").mkdir()
    (lab.project / "new-repo" / "envs").write_text("not a directory\n")


CLI_MODULE_CASES = [
    cli_case("check-module-git-unpinned", ("check", "broken"), 2,
             ("envs/broken.yaml", "terraform.module_source", "must pin a ref"), group="config",
             prepare=_broken_module_source),
    # `init`: it never overwrites, and a target it cannot write ends it with nothing written.
    cli_case("init-over-a-project", ("init", "."), 2,
             ("'.' already has", "terraform/modules/sekoia-sso/main.tf", "init never overwrites",
              "Nothing was written")),
    cli_case("init-file-where-directory-needed", ("init", "new-repo"), 2,
             ("envs (a file where a directory is needed)", "Nothing was written"), prepare=_file_named_envs),
    cli_case("init-target-is-a-file", ("init", "envs/sandbox.yaml"), 2,
             ("'envs/sandbox.yaml' is not a directory", "Nothing was written")),
    # An absolute path: the process's working directory is the writable mount beneath the read-only one.
    Case("init-read-only-checkout", "cli",
         lambda lab: lab.cli("init", str(lab.project / "new-repo"), read_only=True), 1,
         ("new-repo': cannot be written (Read-only file system)", "nothing was written"), "alone"),
]


def _unset_sekoia_key(lab: Lab) -> None:
    lab.sandbox(drop_env=("SEKOIA_SANDBOX_API_KEY",))


def _sandbox_dir_is_a_file(lab: Lab) -> None:
    lab.sandbox_dir.write_text("not a directory\n")


def _endpoints_json_is_a_directory(lab: Lab) -> None:
    (lab.sandbox_dir / "endpoints.json").mkdir(parents=True)


def _endpoints_file(content: bytes) -> Callable[[Lab], None]:
    def prepare(lab: Lab) -> None:
        lab.sandbox_dir.mkdir(exist_ok=True)
        (lab.sandbox_dir / "endpoints.json").write_bytes(content)

    return prepare


PROD = "2d1f6b0e-93a4-4c8e-b6f1-5e7a9c0d3b42"  # tenant_id of envs/example-prod.yaml

ENV_CASES = [
    cli_case("sekoia-key-unset", ("connect", "example-prod"), 2,
             ("envs/example-prod.yaml", "SEKOIA_API_KEY is not set", "COMMUNITY_WRITE_ROLE"), "env"),
    cli_case("sekoia-key-blank", ("connect", "example-prod"), 2, ("SEKOIA_API_KEY is not set",), "env",
             env={"SEKOIA_API_KEY": "   "}),
    cli_case("sandbox-key-missing", ("connect", "sandbox", "--no-wait"), 2,
             ("envs/sandbox.yaml", "SEKOIA_SANDBOX_API_KEY is not set"), "env", prepare=_unset_sekoia_key,
             runs_in="shared"),
    cli_case("arm-credentials-missing", ("preflight", "example-prod"), 2,
             ("no Microsoft Graph credentials found", "ARM_CLIENT_ID + ARM_CLIENT_SECRET"), "env"),
    cli_case("arm-secret-without-client-id", ("preflight", "example-prod"), 2,
             ("ARM_CLIENT_SECRET is set but ARM_CLIENT_ID is not",), "env",
             env={"ARM_CLIENT_SECRET": "not-a-real-secret-value"}),
    cli_case("arm-tenant-mismatch", ("preflight", "example-prod"), 2,
             ("ARM_TENANT_ID is 00000000-0000-4000-8000-000000000000", PROD, "another tenant"), "env",
             env={"ARM_TENANT_ID": "00000000-0000-4000-8000-000000000000"}),
    cli_case("arm-use-oidc-garbage", ("preflight", "example-prod"), 2, ("ARM_USE_OIDC must be true or false",
                                                                         "'sometimes'"), "env",
             env={"ARM_USE_OIDC": "sometimes", "ARM_CLIENT_ID": FAKE_CLIENT_ID}),
    cli_case("arm-oidc-without-token", ("preflight", "example-prod"), 2,
             ("ARM_USE_OIDC is true but no ID token", "ARM_OIDC_TOKEN"), "env",
             env={"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": FAKE_CLIENT_ID}),
    cli_case("arm-secret-file-missing", ("preflight", "example-prod"), 2,
             ("ARM_CLIENT_SECRET_FILE_PATH names /nonexistent/secret", "cannot be read"), "env",
             env={"ARM_CLIENT_SECRET_FILE_PATH": "/nonexistent/secret", "ARM_CLIENT_ID": FAKE_CLIENT_ID}),
    cli_case("arm-certificate-not-base64", ("preflight", "example-prod"), 2,
             ("ARM_CLIENT_CERTIFICATE must be a base64-encoded PKCS#12",), "env",
             env={"ARM_CLIENT_CERTIFICATE": "not base64 at all!", "ARM_CLIENT_ID": FAKE_CLIENT_ID}),
    cli_case("project-dir-without-envs", ("render", "sandbox"), 2,
             ("no environment 'sandbox'", "Known environments: (none)"), "env",
             env={"SEKOIA_SSO_PROJECT_DIR": "/nonexistent/project"}),
    cli_case("sandbox-not-running", ("preflight", "sandbox"), 1,
             ("envs/sandbox.yaml", "the sandbox is not running", "endpoints.json is missing"), "env"),
    cli_case("endpoints-json-a-list", ("preflight", "sandbox"), 1,
             ("endpoints.json is not a valid sandbox endpoints file", "restart the sandbox"), "env",
             prepare=_endpoints_file(b"[1, 2, 3]")),
    cli_case("sandbox-dir-is-a-file", ("preflight", "sandbox"), 1,
             ("endpoints.json cannot be read (Not a directory)", "SEKOIA_SSO_SANDBOX_DIR"), "env",
             prepare=_sandbox_dir_is_a_file),
    cli_case("endpoints-json-a-directory", ("preflight", "sandbox"), 1,
             ("endpoints.json cannot be read (Is a directory)",), "env", prepare=_endpoints_json_is_a_directory),
    cli_case("endpoints-json-binary", ("preflight", "sandbox"), 1,
             ("endpoints.json is not a valid sandbox endpoints file", "utf-8"), "env",
             prepare=_endpoints_file(b"\x89PNG\r\n\x1a\n\x00\x00")),
]


def _file_in_place_of_root(lab: Lab) -> None:
    root = lab.project / "terraform" / "envs" / "sandbox"
    for path in root.iterdir():
        path.unlink()
    root.rmdir()
    root.write_text("a file where the rendered root goes\n")


def _directory_in_place_of_main_tf(lab: Lab) -> None:
    main_tf = lab.project / "terraform" / "envs" / "sandbox" / "main.tf"
    main_tf.unlink()
    main_tf.mkdir()


def _committed_tf_not_utf8(lab: Lab) -> None:
    main_tf = lab.project / "terraform" / "envs" / "sandbox" / "main.tf"
    main_tf.write_bytes(main_tf.read_bytes().replace(b"sekoia_sso", b"sekoia\xff_sso", 1))


def _one_broken_among_all(lab: Lab) -> None:
    (lab.project / "envs" / "zz-broken.yaml").write_text(good_text().replace("region: FRA1", "region: MARS"))
    for rendered in (lab.project / "terraform" / "envs").iterdir():  # stale renders: --all would rewrite them
        (rendered / "main.tf").write_text((rendered / "main.tf").read_text() + "# edited\n")


def _project_file_outside_envs(lab: Lab) -> None:
    (lab.project / "x.yaml").write_text(good_text())  # a valid environment, one directory up


def _env_file(kind: str) -> Callable[[Lab], None]:
    """envs/broken.yaml as something that is not a regular file."""

    def prepare(lab: Lab) -> None:
        path = lab.project / "envs" / "broken.yaml"
        if kind == "fifo":
            os.mkfifo(path)
        elif kind == "dev-zero":
            path.symlink_to("/dev/zero")
        elif kind == "directory":
            path.mkdir()
            (path / "x.yaml").write_text(good_text())
        elif kind == "dangling":
            path.symlink_to(lab.tmp / "nowhere.yaml")
        elif kind == "socket":
            import socket

            server = socket.socket(socket.AF_UNIX)
            server.bind(str(path))
            server.close()
        elif kind == "huge-sparse":
            with open(path, "wb") as handle:
                handle.truncate(8 * 1024 * 1024 * 1024)  # 8 GB of nothing: refused by its size, unread

    return prepare


def _terraform_answering(stdout: bytes) -> Callable[[Lab], dict[str, str]]:
    """TERRAFORM_BIN: a program whose `version -json` prints `stdout` (and exits 0)."""

    def env(lab: Lab) -> dict[str, str]:
        (lab.tmp / "answer").write_bytes(stdout)
        program = lab.tmp / "terraform"
        program.write_text(f"#!/bin/sh\ncat '{lab.tmp / 'answer'}'\n")
        program.chmod(0o755)
        return {"TERRAFORM_BIN": str(program)}

    return env


def _stale_render(lab: Lab) -> None:
    for rendered in (lab.project / "terraform" / "envs" / "sandbox").glob("*.tf"):
        rendered.write_text(rendered.read_text() + "# edited\n")


def _stale_and(change: Callable[[Path], None]) -> Callable[[Lab], None]:
    def prepare(lab: Lab) -> None:
        _stale_render(lab)
        change(lab.project / "terraform" / "envs" / "sandbox")

    return prepare


def _dead_sandbox(lab: Lab) -> None:
    """endpoints.json left by a sandbox that has stopped: its ports answer nothing."""
    import socket

    ports = []
    for _ in range(2):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        ports.append(probe.getsockname()[1])
        probe.close()
    lab.sandbox_dir.mkdir(exist_ok=True)
    (lab.sandbox_dir / "endpoints.json").write_text(json.dumps({
        "graph_url": f"http://127.0.0.1:{ports[0]}", "login_url": f"http://127.0.0.1:{ports[0]}",
        "sekoia_url": f"http://127.0.0.1:{ports[1]}", "env": {"SEKOIA_SANDBOX_API_KEY": PASTED_API_KEY}}))


NOT_A_FILE = "must be a regular file of settings"

# Issue 15: hostile surroundings (files that are not files, read-only checkouts, odd binaries, bad keys).
ENV_CASES += [
    cli_case("env-file-fifo-apply", ("apply", "broken", "--yes"), 2,
             ("envs/broken.yaml is a named pipe (FIFO), not a file", NOT_A_FILE), "env", prepare=_env_file("fifo")),
    cli_case("env-file-fifo-render", ("render", "broken"), 2, ("envs/broken.yaml is a named pipe (FIFO)",), "env",
             prepare=_env_file("fifo")),
    cli_case("env-file-dev-zero-apply", ("apply", "broken", "--yes"), 2,
             ("envs/broken.yaml (a symbolic link to '/dev/zero') is a device",), "env", prepare=_env_file("dev-zero")),
    cli_case("env-file-dev-zero-status", ("status", "broken"), 2, ("is a device, not a file",), "env",
             prepare=_env_file("dev-zero")),
    cli_case("env-file-directory", ("plan", "broken"), 2, ("envs/broken.yaml is a directory, not a file",), "env",
             prepare=_env_file("directory")),
    cli_case("env-file-dangling-link", ("apply", "broken", "--yes"), 2,
             ("envs/broken.yaml is a symbolic link to", "which does not exist"), "env", prepare=_env_file("dangling")),
    cli_case("env-file-socket", ("check", "broken"), 2, ("envs/broken.yaml is a socket",), "env",
             prepare=_env_file("socket")),
    cli_case("env-file-8-gigabytes-sparse", ("apply", "broken", "--yes"), 2,
             ("envs/broken.yaml: larger than 1024 kB",), "env", prepare=_env_file("huge-sparse")),
    cli_case("api-key-with-newline", ("connect", "example-prod"), 2,
             ("envs/example-prod.yaml", "SEKOIA_API_KEY contains whitespace", "nothing was sent"), "env",
             env={"SEKOIA_API_KEY": KEY_WITH_NEWLINE}),
    cli_case("api-key-non-ascii", ("connect", "example-prod"), 2,
             ("SEKOIA_API_KEY contains a non-ASCII character", "printable ASCII"), "env",
             env={"SEKOIA_API_KEY": KEY_NON_ASCII}),
    cli_case("api-key-with-space", ("connect", "example-prod"), 2, ("SEKOIA_API_KEY contains whitespace",), "env",
             env={"SEKOIA_API_KEY": KEY_WITH_SPACE}),
    cli_case("api-key-too-short", ("connect", "example-prod"), 2, ("SEKOIA_API_KEY is 3 characters long",), "env",
             env={"SEKOIA_API_KEY": "abc"}),
    cli_case("api-key-control-character", ("connect", "example-prod"), 2,
             ("SEKOIA_API_KEY contains a control character",), "env", env={"SEKOIA_API_KEY": PASTED_API_KEY + "\x01"}),
    cli_case("terraform-version-a-number", ("plan", "example-prod"), 2,
             ("does not look like Terraform or OpenTofu", "terraform_version is like"), "env",
             env=_terraform_answering(b'{"terraform_version": 42}')),
    cli_case("terraform-version-a-list", ("plan", "example-prod"), 2, ("does not look like Terraform",), "env",
             env=_terraform_answering(b'{"terraform_version": ["1", "9", "8"]}')),
    cli_case("terraform-version-json-list", ("plan", "example-prod"), 2, ("does not look like Terraform",), "env",
             env=_terraform_answering(b"[1, 9, 8]")),
    cli_case("terraform-version-null", ("plan", "example-prod"), 2, ("does not look like Terraform",), "env",
             env=_terraform_answering(b'{"terraform_version": null, "platform": "linux_amd64"}')),
    cli_case("terraform-version-deep-json", ("plan", "example-prod"), 2, ("does not look like Terraform",), "env",
             env=_terraform_answering(b"[" * 100_000 + b"]" * 100_000)),
    cli_case("terraform-version-binary", ("plan", "example-prod"), 2, ("does not look like Terraform",), "env",
             env=_terraform_answering(b"\x00\x01\xff\xfe" * 1000)),
    cli_case("terraform-version-too-old", ("plan", "example-prod"), 2, ("1.2.3", "is too old"), "env",
             env=_terraform_answering(b'{"terraform_version": "1.2.3"}')),
    cli_case("sandbox-stopped-stale-endpoints", ("preflight", "sandbox"), 1,
             ("envs/sandbox.yaml", "the sandbox is not running", "left by a sandbox that has stopped", "make sandbox",
              "python -m sandbox up"), "env", prepare=_dead_sandbox),
    cli_case("sandbox-stopped-connect", ("connect", "sandbox", "--no-wait"), 1,
             ("the sandbox is not running", "make sandbox"), "env", prepare=_dead_sandbox),
    cli_case("read-only-render-stale", ("render", "sandbox"), 1,
             ("terraform/envs/sandbox/", "read-only", "Nothing was written"), "env", prepare=_stale_render,
             read_only=True),
    cli_case("read-only-rotate", ("rotate", "example-prod", "--yes"), 1,
             (".sekoia-sso/example-prod cannot be made", "writable checkout"), "env", read_only=True),
    cli_case("read-only-destroy", ("destroy", "example-prod", "--yes", "--confirm", "example-prod"), 1,
             (".sekoia-sso/example-prod cannot be made", "only `status` and `plan --json` work"), "env",
             read_only=True),
    cli_case("read-only-apply", ("apply", "example-prod", "--yes"), 1,
             (".sekoia-sso/example-prod cannot be made",), "env", read_only=True),
    cli_case("read-only-plan", ("plan", "example-prod"), 1, (".sekoia-sso/example-prod cannot be made",), "env",
             read_only=True),
]

CLI_CASES = [
    cli_case("env-name-10000-characters", ("render", "a" * 10_000), 2,
             ("environment name 'aaaa", "(10,000 characters) must be lowercase"), prepare=None),
    cli_case("render-one-file-read-only", ("render", "sandbox"), 1,
             ("terraform/envs/sandbox/outputs.tf: is read-only", "Nothing was written"),
             prepare=_stale_and(lambda root: (root / "outputs.tf").chmod(0o444))),
    cli_case("render-dangling-symlink", ("render", "sandbox"), 1,
             ("terraform/envs/sandbox/outputs.tf: is a symbolic link to nothing", "Nothing was written"),
             prepare=_stale_and(lambda root: ((root / "outputs.tf").unlink(), (root / "outputs.tf").symlink_to(
                 root / "gone.tf")))),
    cli_case("render-symlink-elsewhere", ("render", "sandbox"), 1,
             ("terraform/envs/sandbox/main.tf: is a symbolic link", "regular file"),
             prepare=_stale_and(lambda root: ((root / "main.tf").rename(root.parent / "main.tf.real"),
                                              (root / "main.tf").symlink_to(root.parent / "main.tf.real")))),
    cli_case("render-fifo-in-place-of-a-file", ("render", "sandbox"), 1,
             ("terraform/envs/sandbox/versions.tf", "not a regular file", "Nothing was written"),
             prepare=_stale_and(lambda root: ((root / "versions.tf").unlink(), os.mkfifo(root / "versions.tf")))),
    cli_case("unknown-command", ("aplly", "sandbox"), 2, ("No such command 'aplly'", "Did you mean 'apply'")),
    cli_case("unknown-option", ("render", "sandbox", "--colour"), 2, ("No such option '--colour'",)),
    cli_case("missing-env", ("plan",), 2, ("Missing argument 'ENV'",)),
    cli_case("neither-env-nor-all", ("render",), 2, ("name one environment (ENV) or pass --all",)),
    cli_case("extra-argument", ("status", "sandbox", "prod"), 2, ("unexpected extra argument (prod)",)),
    cli_case("env-parent-path", ("render", "../x"), 2, ("environment name '../x'", "lowercase letters"),
             prepare=_project_file_outside_envs),
    cli_case("env-absolute-path", ("render", "/etc/passwd"), 2, ("environment name '/etc/passwd'",)),
    cli_case("env-with-extension", ("render", "sandbox.yaml"), 2, ("environment name 'sandbox.yaml'",
                                                                    "envs/<name>.yaml")),
    cli_case("env-uppercase", ("check", "SANDBOX"), 2, ("environment name 'SANDBOX'",)),
    cli_case("env-unknown", ("render", "sandbx"), 2, ("no environment 'sandbx'", "Did you mean: sandbox?")),
    cli_case("timeout-garbage", ("connect", "sandbox", "--timeout", "soon"), 2,
             ("'soon' is not a duration", "90s, 15m")),
    cli_case("timeout-nan", ("apply", "sandbox", "--timeout", "nan"), 2, ("'nan' is not a duration",)),
    cli_case("timeout-infinite", ("rotate", "sandbox", "--timeout", "inf"), 2, ("'inf' is not a duration",)),
    cli_case("timeout-negative", ("connect", "sandbox", "--timeout", "-5m"), 2, ("'-5m' is not a duration",)),
    cli_case("timeout-empty", ("apply", "sandbox", "--timeout", ""), 2, ("'' is not a duration",)),
    cli_case("max-problems-negative", ("preflight", "sandbox", "--max-problems", "-1"), 2,
             ("Invalid value for '--max-problems'", "-1 is not in the range x>=0")),
    cli_case("max-problems-word", ("apply", "sandbox", "--max-problems", "few"), 2,
             ("Invalid value for '--max-problems'", "'few' is not a valid integer")),
    cli_case("format-xml", ("preflight", "sandbox", "--format", "xml"), 2,
             ("Invalid value for '--format'", "'xml' is not one of 'table', 'json', 'csv'")),
    cli_case("destroy-yes-without-confirm", ("destroy", "sandbox", "--yes"), 2,
             ("--yes needs --confirm sandbox",)),
    cli_case("destroy-confirm-other-env", ("destroy", "sandbox", "--yes", "--confirm", "prod"), 2,
             ("--yes needs --confirm sandbox",)),
    cli_case("render-all-one-broken", ("render", "--all"), 2, ("envs/zz-broken.yaml", "unknown region 'MARS'"),
             prepare=_one_broken_among_all),
    cli_case("render-file-in-place-of-root", ("render", "sandbox"), 1,
             ("terraform/envs/sandbox: cannot be made a directory", "nothing was written"),
             prepare=_file_in_place_of_root),
    cli_case("render-directory-in-place-of-main-tf", ("render", "sandbox"), 1,
             ("terraform/envs/sandbox/main.tf: cannot be read (Is a directory)", "nothing was written"),
             prepare=_directory_in_place_of_main_tf),
    cli_case("check-committed-tf-not-utf8", ("check", "sandbox"), 1,
             ("terraform/envs/sandbox/main.tf: cannot be read (not UTF-8 text)",), prepare=_committed_tf_not_utf8),
    cli_case("destroy-no-terminal", ("destroy", "sandbox"), 2, ("no terminal to confirm on",
                                                                "--yes --confirm sandbox")),
]

# ------------------------------------------------------------------------------------------------
# Malformed answers

MEMBERS = r"^/v1\.0/groups/[^/]+/members/microsoft\.graph\.user$"
BATCH = r"^/v1\.0/\$batch$"
TOKEN = r"/oauth2/v2\.0/token$"
SKUS = r"^/v1\.0/subscribedSkus$"
DISCOVERY = r"/v2\.0/\.well-known/openid-configuration$"
JWKS = r"/discovery/v2\.0/keys$"


def graph_case(case_id: str, method: str, path: str, reply: Reply | Callable[[Lab], Reply] | None, exit_code: int,
               fragments: tuple[str, ...], times: int | None = None) -> Case:
    """`preflight sandbox --warn-only` with Graph answering `reply` on one route (None: Graph as it is)."""

    def run(lab: Lab) -> Outcome:
        _, graph, _ = lab.emulators
        stand_in = lab.stand_in(upstream=graph.url)
        if reply is not None:
            stand_in.on(method, path, reply(lab) if callable(reply) else reply, times=times)
        lab.sandbox(graph=stand_in.url)
        return lab.cli("preflight", "sandbox", "--warn-only")

    return Case(case_id, "graph", run, exit_code, fragments, runs_in="shared")


def login_case(case_id: str, reply: Reply | Callable[[Lab], Reply], exit_code: int, fragments: tuple[str, ...],
               times: int | None = None) -> Case:
    """`preflight sandbox` with the Entra ID token endpoint answering `reply`."""

    def run(lab: Lab) -> Outcome:
        _, graph, _ = lab.emulators
        stand_in = lab.stand_in(upstream=graph.url).on("POST", TOKEN, reply(lab) if callable(reply) else reply,
                                                       times=times)
        lab.sandbox(login=stand_in.url)
        return lab.cli("preflight", "sandbox", "--warn-only")

    return Case(case_id, "login", run, exit_code, ("Entra ID", *fragments) if exit_code else fragments,
                runs_in="shared")


def connect_case(case_id: str, group: str, method: str, path: str, reply: Reply | Callable[[Lab], Reply] | None,
                 exit_code: int, fragments: tuple[str, ...], *, process: bool = False, times: int | None = None
                 ) -> Case:
    """connect on a community where contoso.example is pending, with Sekoia.io (group "sekoia") or the
    login host (group "discovery") answering `reply` on one route; in-process, or as a process."""

    def run(lab: Lab) -> Outcome:
        _, graph, sekoia = lab.emulators
        lab.pending_domain()
        upstream = sekoia.url if group == "sekoia" else graph.url
        stand_in = lab.stand_in(upstream=upstream)
        if reply is not None:
            stand_in.on(method, path, reply(lab) if callable(reply) else reply, times=times)
        urls = {"sekoia": stand_in.url} if group == "sekoia" else {"login": stand_in.url}
        lab.sandbox(**urls, state=process)
        return lab.cli("connect", "sandbox", "--no-wait") if process else lab.connect()

    return Case(case_id + ("-cli" if process else ""), group, run, exit_code, fragments)


def to_decoy(path: str = "/collect", status: int = 302) -> Callable[[Lab], Reply]:
    return lambda lab: Reply.redirect(lab.decoy().other_host_url + path, status)


def _statuses_as_strings(upstream: Reply) -> Reply:
    """Graph's own $batch answer, each status a string ("200"): tolerated, the same report as the real one."""
    document = json.loads(upstream.body)
    for answer in document["responses"]:
        answer["status"] = str(answer["status"])
    return Reply.json(document)


def _in_batch(change: Callable[[dict], object], *, nth: int | None = None) -> Callable[[Lab], Callable[[Reply], Reply]]:
    """Graph's own $batch answer with each response's body changed by `change` (only in the nth $batch, if given)."""

    def for_lab(lab: Lab) -> Callable[[Reply], Reply]:
        seen = [0]

        def transform(upstream: Reply) -> Reply:
            seen[0] += 1
            if nth is not None and seen[0] != nth:
                return upstream
            document = json.loads(upstream.body)
            for answer in document["responses"]:
                answer["body"] = change(answer.get("body"))
            return Reply.json(document)

        return transform

    return for_lab


def _user_as_list(body):
    return [body] if isinstance(body, dict) and "userPrincipalName" in body else body


def _values_as_names(body):
    if isinstance(body, dict) and isinstance(body.get("value"), list):
        return {**body, "value": [item.get("displayName") for item in body["value"]]}
    return body


def _user_enabled_as_word(body):
    return {**body, "accountEnabled": "yes"} if isinstance(body, dict) and "userPrincipalName" in body else body


def members_next_link_to_decoy(lab: Lab) -> Reply:
    return Reply.json({"value": [], "@odata.nextLink": lab.decoy().other_host_url + "/v1.0/users?$skiptoken=x"})


GRAPH_CASES = [
    graph_case("graph-well-formed", "GET", "", None, 0, ("users checked",)),
    graph_case("batch-html-200", "POST", BATCH, Reply.html(200, "Sign in to your proxy"), 1,
               ("Microsoft Graph", "POST /v1.0/$batch", "an HTML page")),
    graph_case("batch-html-502", "POST", BATCH, Reply.html(502, "Bad Gateway"), 1,
               ("Microsoft Graph answered 502", "POST /v1.0/$batch")),
    graph_case("batch-html-403", "POST", BATCH, Reply.html(403, "Forbidden"), 1,
               ("Microsoft Graph answered 403", "POST /v1.0/$batch", "User.Read.All")),
    graph_case("batch-responses-strings", "POST", BATCH, Reply.json({"responses": ["0", "1"]}), 1,
               ("Microsoft Graph", "$batch", "not an object")),
    graph_case("batch-status-word", "POST", BATCH,
               Reply.json({"responses": [{"id": "0", "status": "OK", "body": {}}]}), 1,
               ("Microsoft Graph", "$batch", "status 'OK'")),
    graph_case("batch-user-answer-a-list", "POST", BATCH, _in_batch(_user_as_list), 1,
               ("Microsoft Graph", "GET /users/ivan@contoso.example", "a JSON list, not an object")),
    graph_case("batch-group-lookup-strings", "POST", BATCH, _in_batch(_values_as_names, nth=1), 1,
               ("Microsoft Graph", "GET /groups", "not objects with a string id")),
    graph_case("batch-member-groups-strings", "POST", BATCH, _in_batch(_values_as_names, nth=2), 1,
               ("Microsoft Graph", "/members/microsoft.graph.group", "not objects with a string id")),
    graph_case("members-truncated-json", "GET", MEMBERS, Reply.text('{"value": [{"id": "5b1f'), 1,
               ("Microsoft Graph", "/members/microsoft.graph.user", "not JSON")),
    graph_case("members-value-strings", "GET", MEMBERS, Reply.json({"value": ["alice", "bob"]}), 1,
               ("Microsoft Graph", "/members/microsoft.graph.user", "not objects with a string id")),
    graph_case("members-value-object", "GET", MEMBERS, Reply.json({"value": {"id": "x"}}), 1,
               ("without a `value` list", "/members/microsoft.graph.user")),
    graph_case("members-numeric-id", "GET", MEMBERS,
               Reply.json({"value": [{"id": 12345, "mail": "a@contoso.example"}]}), 1,
               ("/members/microsoft.graph.user", "not objects with a string id")),
    graph_case("members-mail-number", "GET", MEMBERS,
               Reply.json({"value": [{"id": "5b1f", "mail": 42, "displayName": "Ivan"}]}), 1,
               ("/members/microsoft.graph.user", "does not have the types Graph documents", "$.value[0].mail")),
    graph_case("batch-user-enabled-word", "POST", BATCH, _in_batch(_user_enabled_as_word), 1,
               ("GET /users/ivan@contoso.example", "does not have the types Graph documents", "accountEnabled")),
    graph_case("members-list-not-object", "GET", MEMBERS, Reply.json([{"id": "x"}]), 1,
               ("without a `value` list", "/members/microsoft.graph.user")),
    graph_case("members-empty-200", "GET", MEMBERS, Reply.text(b""), 1,
               ("/members/microsoft.graph.user", "an empty body")),
    graph_case("members-10-megabytes", "GET", MEMBERS, Reply.html(200, "Proxy error", size=TEN_MB), 1,
               ("/members/microsoft.graph.user", "not JSON")),
    graph_case("members-redirect-other-host", "GET", MEMBERS, to_decoy("/v1.0/groups"), 1,
               ("redirect (302)", "localhost", "not followed")),
    graph_case("members-next-link-other-host", "GET", MEMBERS, members_next_link_to_decoy, 1,
               ("nextLink to another host", "localhost", "refused")),
    graph_case("batch-status-numeric-string", "POST", BATCH, lambda lab: _statuses_as_strings, 0,
               ("users checked",)),
    # the tenant's subscriptions (issue 16 §3): unreadable is "could not tell", nonsense is a failure
    graph_case("skus-forbidden", "GET", SKUS, Reply.json({"error": {"code": "Authorization_RequestDenied",
                                                                    "message": "Insufficient privileges"}}, 403), 0,
               ("could not tell whether this tenant can assign groups", "LicenseAssignment.Read.All")),
    graph_case("skus-value-object", "GET", SKUS, Reply.json({"value": {"skuPartNumber": "AAD_PREMIUM"}}), 1,
               ("Microsoft Graph", "GET /subscribedSkus", "without a list of subscriptions")),
    graph_case("skus-html-502", "GET", SKUS, Reply.html(502, "Bad Gateway"), 1,
               ("Microsoft Graph answered 502", "/subscribedSkus")),
    graph_case("members-429-retry-after-nan", "GET", MEMBERS,
               Reply.json({"error": {"code": "TooManyRequests", "message": "slow down"}}, status=429).with_headers(
                   {"Retry-After": "nan"}), 0, ("users checked",), times=1),
    graph_case("batch-503-retry-after-nan", "POST", BATCH, Reply.html(503, "Busy").with_headers({"Retry-After": "nan"}),
               0, ("users checked",), times=1),
    graph_case("members-429-wait-a-day", "GET", MEMBERS,
               Reply.json({"error": {"code": "TooManyRequests", "message": "slow down"}}, status=429).with_headers(
                   {"Retry-After": "86400"}), 1,
               ("Microsoft Graph throttled GET /v1.0/groups/", "asks to wait 86400 s")),
    graph_case("members-json-as-text-plain", "GET", MEMBERS,
               Reply.json({"value": []}, content_type="text/plain"), 0, ("users checked",)),
]

def application_case(case_id: str, reply: Reply, exit_code: int, fragments: tuple[str, ...]) -> Case:
    """GET /applications/{id} (status and apply read the application so) answered with `reply`; in-process."""

    def run(lab: Lab) -> Outcome:
        _, graph, _ = lab.emulators
        stand_in = lab.stand_in(upstream=graph.url).on("GET", r"^/v1\.0/applications/", reply)
        lab.sandbox(graph=stand_in.url)
        return lab.graph_get("/applications/0b7c5a4e-1111-4222-8333-444455556666")

    return Case(case_id, "graph", run, exit_code, fragments)


GRAPH_CASES += [
    application_case("application-a-list", Reply.json([{"id": "x"}]), 1,
                     ("Microsoft Graph", "GET /v1.0/applications/", "a JSON list, not an object")),
    application_case("application-a-string", Reply.json("Sekoia.io"), 1,
                     ("GET /v1.0/applications/", "a JSON string, not an object")),
]

LOGIN_CASES = [
    login_case("token-html-500", Reply.html(500, "Internal Server Error"), 1, ("token", "500")),
    login_case("token-html-400", Reply.html(400, "Bad Request"), 2, ("HTTP 400", "Check ARM_TENANT_ID")),
    login_case("token-truncated-json", Reply.text('{"token_type": "Bearer", "access_tok'), 1,
               ("no access token", "not JSON", "Is a proxy answering")),
    login_case("token-list", Reply.json(["eyJ0eXAi"]), 1, ("no access token", "a JSON list")),
    login_case("token-number", Reply.json({"token_type": "Bearer", "access_token": 12345}), 1, ("no access token",)),
    login_case("token-empty-200", Reply.text(b""), 1, ("no access token", "an empty body")),
    login_case("token-10-megabytes", Reply.html(200, "Proxy error", size=TEN_MB), 1, ("no access token", "HTML")),
    login_case("token-503-retry-after-nan", Reply.html(503, "Busy").with_headers({"Retry-After": "nan"}), 0,
               ("users checked",), times=1),
    login_case("token-redirect-other-host", to_decoy("/collect", 307), 1,
               ("redirect (307)", "localhost", "not followed")),
]

DISCOVERY_CASES = [
    connect_case("discovery-html", "discovery", "GET", DISCOVERY, Reply.html(200, "Sign in"), 1,
                 ("discovery document", "is not JSON")),
    connect_case("discovery-list", "discovery", "GET", DISCOVERY, Reply.json([{"issuer": "x"}]), 1,
                 ("discovery document", "is not a JSON object")),
    connect_case("discovery-issuer-number", "discovery", "GET", DISCOVERY, Reply.json({"issuer": 42}), 1,
                 ("discovery document", "has no issuer")),
    connect_case("discovery-empty-200", "discovery", "GET", DISCOVERY, Reply.text(b""), 1,
                 ("discovery document", "is not JSON")),
    connect_case("discovery-10-megabytes", "discovery", "GET", DISCOVERY,
                 Reply.text(b"{" + b" " * TEN_MB), 1, ("discovery document", "is not JSON")),
    connect_case("discovery-redirect-other-host", "discovery", "GET", DISCOVERY, to_decoy("/common/v2.0"), 1,
                 ("discovery document", "redirect (302)", "localhost")),
    connect_case("jwks-truncated", "discovery", "GET", JWKS, Reply.text('{"keys": [{"kid": "abc'), 1,
                 ("signing keys (JWKS)", "is not JSON")),
    connect_case("jwks-keys-string", "discovery", "GET", JWKS, Reply.json({"keys": "RS256"}), 1,
                 ("signing keys", "list no key")),
    connect_case("discovery-redirect-other-host", "discovery", "GET", DISCOVERY, to_decoy("/common/v2.0"), 1,
                 ("discovery document", "redirect (302)", "localhost"), process=True),
]

ME = r"^/v1/me$"
COMMUNITY = r"^/v1/communities/[^/]+$"
ROLES = r"^/v1/communities/[^/]+/roles$"
DOMAINS = r"^/v1/communities/[^/]+/domains$"
SSO = r"^/v1/communities/[^/]+/sso$"

SEKOIA_CASES = [
    connect_case("sekoia-well-formed", "sekoia", "GET", "", None, 3,
                 ("Waiting for Sekoia.io to verify contoso.example",)),
    connect_case("me-html-200", "sekoia", "GET", ME, Reply.html(200, "Sekoia.io - Log in"), 1,
                 ("Sekoia.io GET /v1/me answered 200", "an HTML page titled 'Sekoia.io - Log in'")),
    connect_case("me-list", "sekoia", "GET", ME, Reply.json([{"email": "x"}]), 1,
                 ("Sekoia.io GET /v1/me", "a JSON list", "not an object")),
    connect_case("me-empty-200", "sekoia", "GET", ME, Reply.text(b""), 1,
                 ("Sekoia.io GET /v1/me", "an empty body")),
    connect_case("me-truncated-json", "sekoia", "GET", ME, Reply.text('{"uuid": "4f1e", "email": "soc'), 1,
                 ("Sekoia.io GET /v1/me", "not valid JSON")),
    connect_case("me-redirect-other-host", "sekoia", "GET", ME, to_decoy("/v1/me"), 1,
                 ("Sekoia.io GET /v1/me", "redirect (302) to localhost", "not followed")),
    connect_case("me-10-megabytes", "sekoia", "GET", ME, Reply.html(200, "Gateway", size=TEN_MB), 1,
                 ("Sekoia.io GET /v1/me", "an HTML page titled 'Gateway'")),
    connect_case("me-cut-on-the-wire", "sekoia", "GET", ME,
                 Reply(200, b'{"uuid": "4f1e", "email": "soc.admin@contoso.com"}', {"Content-Type": "application/json"},
                       cut=True), 1, ("Sekoia.io GET /v1/me", "the connection broke", "after 5 tries")),
    connect_case("me-401-html", "sekoia", "GET", ME, Reply.html(401, "Unauthorized"), 1,
                 ("Sekoia.io GET /v1/me answered 401", "SEKOIA_SANDBOX_API_KEY")),
    connect_case("community-string", "sekoia", "GET", COMMUNITY, Reply.json("Contoso SOC"), 1,
                 ("Sekoia.io GET /v1/communities/", "a JSON string", "not an object")),
    connect_case("community-503-html", "sekoia", "GET", COMMUNITY, Reply.html(503, "Service Unavailable"), 1,
                 ("Sekoia.io GET /v1/communities/", "answered 503", "after 5 tries")),
    connect_case("community-503-retry-after-nan", "sekoia", "GET", COMMUNITY,
                 Reply.html(503, "Busy").with_headers({"Retry-After": "nan"}), 3,
                 ("Waiting for Sekoia.io to verify contoso.example",), times=1),
    connect_case("me-429-blocked-for-a-day", "sekoia", "GET", ME,
                 Reply.json({"message": "Too many requests", "code": "RATE_LIMITED"}, status=429).with_headers(
                     {"Retry-After": "86400"}), 1, ("Sekoia.io GET /v1/me answered 429", "asks to wait 86400s")),
    connect_case("roles-items-strings", "sekoia", "GET", ROLES, Reply.json({"items": ["Analyst"], "total": 1}), 1,
                 ("Sekoia.io GET /v1/communities/", "/roles", "not objects")),
    connect_case("roles-a-list", "sekoia", "GET", ROLES, Reply.json([{"name": "Analyst"}]), 1,
                 ("/roles answered a list without `items`",)),
    connect_case("domains-items-strings", "sekoia", "GET", DOMAINS,
                 Reply.json({"items": ["contoso.example"], "total": 1}), 1, ("/domains", "not objects")),
    connect_case("domains-item-without-uuid", "sekoia", "GET", DOMAINS,
                 Reply.json({"items": [{"name": "contoso.example", "status": "pending"}], "total": 1}), 1,
                 ("/domains", "a domain without a string name and uuid")),
    connect_case("sso-list", "sekoia", "GET", SSO, Reply.json([{"enabled": True}]), 1,
                 ("Sekoia.io GET /v1/communities/", "/sso", "a JSON list")),
    connect_case("sso-json-as-html", "sekoia", "GET", SSO,
                 Reply.json({"message": "no SSO", "code": "NOT_FOUND"}, status=404, content_type="text/html"), 3,
                 ("Waiting for Sekoia.io to verify contoso.example",)),
    connect_case("me-list", "sekoia", "GET", ME, Reply.json([{"email": "x"}]), 1,
                 ("Sekoia.io GET /v1/me", "a JSON list"), process=True),
    connect_case("me-10-megabytes", "sekoia", "GET", ME, Reply.html(200, "Gateway", size=TEN_MB), 1,
                 ("Sekoia.io GET /v1/me", "an HTML page"), process=True),
]

CASES = [*CONFIG_CASES, *CLI_MODULE_CASES, *ENV_CASES, *CLI_CASES, *GRAPH_CASES, *LOGIN_CASES, *DISCOVERY_CASES,
         *SEKOIA_CASES]


# ------------------------------------------------------------------------------------------------
# The figures


@pytest.fixture(scope="session")
def bad_input_figures(pytestconfig) -> BadInputFigures:
    return session_plugin(pytestconfig, BadInputFigures)


# ------------------------------------------------------------------------------------------------
# The tests


POOL_WORKERS = 4


@pytest.fixture(scope="module")
def pooled_outcomes(request, tmp_path_factory) -> dict[str, tuple[Outcome, list[str]]]:
    """The selected cases that run processes only, four at a time (each is ~0.3 s of CPU, mostly imports).

    Shared cases read the session's emulators, each through its own stand-ins: the emulators are reset
    before, and any write they saw in the meantime is charged to every shared case (none can write).
    """
    selected = {item.callspec.params["case"].key for item in request.session.items
                if hasattr(item, "callspec") and isinstance(item.callspec.params.get("case"), Case)}
    cases = [case for case in CASES if case.runs_in != "serial" and case.key in selected]
    tmp_path_factory.getbasetemp()  # made once here: the pool's threads would race to make it (two basetemps)
    shared = request.getfixturevalue("sandbox") if any(c.runs_in == "shared" for c in cases) else None
    if shared is not None:
        shared.graph.reset()
        shared.sekoia.reset()

    def run(case: Case) -> tuple[Outcome, list[str]]:
        lab = Lab(tmp_path_factory.mktemp(case.id), shared=shared if case.runs_in == "shared" else None)
        try:
            return case.run(lab), lab.secrets
        except Exception:  # a broken case fails alone, not the whole pool
            return Outcome(-1, "", "the case itself failed:\n" + traceback.format_exc()), lab.secrets
        finally:
            lab.close()

    with ThreadPoolExecutor(max_workers=POOL_WORKERS) as pool:
        outcomes = dict(zip((case.key for case in cases), pool.map(run, cases), strict=True))
    if shared is not None:
        writes = emulator_writes(shared.graph, shared.sekoia) + [f"Graph emulator error: {e}"
                                                                 for e in shared.graph.internal_errors]
        for case in cases:
            if case.runs_in == "shared":
                outcomes[case.key][0].changes.extend(writes)
        shared.graph.reset()
        shared.sekoia.reset()
    return outcomes


@pytest.mark.parametrize("case", CASES, ids=[c.key for c in CASES])
def test_bad_input_is_handled(case: Case, request, bad_input_figures: BadInputFigures) -> None:
    if case.runs_in == "serial":
        lab: Lab = request.getfixturevalue("lab")
        outcome, secrets = case.run(lab), lab.secrets
    else:
        outcome, secrets = request.getfixturevalue("pooled_outcomes")[case.key]
    problems = problems_with(case, outcome, secrets)
    bad_input_figures.record(case.group, not problems)
    assert not problems, (f"{case.id}: " + "; ".join(problems) + f"\n--- exit {outcome.exit_code}\n--- stdout\n"
                          f"{outcome.out[-3000:]}\n--- stderr\n{outcome.err[-3000:]}")


def test_the_corpus_is_big_and_every_case_named_once() -> None:
    ids = [c.key for c in CASES]
    assert len(ids) == len(set(ids))
    assert len(CASES) >= 60
    assert {c.group for c in CASES} == {"config", "env", "cli", "graph", "login", "discovery", "sekoia"}
    # Each config case is new: none repeats a file of tests/unit/test_config.py.
    assert not {c.id for c in CONFIG_CASES} & {c[0] for c in BAD_CONFIGS}


def test_a_case_that_is_not_handled_is_caught() -> None:
    """The judge itself can fail: a traceback, a wrong exit, a change or a leak each count as not handled."""
    case = Case("x", "cli", lambda lab: None, 2, ("named",))
    good = Outcome(2, "", "Error: envs/x.yaml: the thing named here is wrong\n")
    assert problems_with(case, good, ["s3cr3t-value"]) == []
    assert problems_with(case, Outcome(1, "", good.err), []) == ["exit 1, expected 2"]
    traced = Outcome(2, "", "Traceback (most recent call last):\n  File x\nKeyError: 'a'\nError: named but too\n")
    assert "a Python traceback was printed" in problems_with(case, traced, [])
    changed = Outcome(2, "", good.err, ["Sekoia.io write: POST /v1/communities/x/domains"])
    assert problems_with(case, changed, []) == changed.changes
    leaked = Outcome(2, "", good.err + "s3cr3t-value\n")
    assert any("secrets printed" in p for p in problems_with(case, leaked, ["s3cr3t-value"]))
    assert problems_with(case, Outcome(None, "", ""), []) == [f"did not finish within {CLI_TIMEOUT:.0f} s"]
