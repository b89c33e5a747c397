"""An emulated Microsoft Graph (v1.0) and Microsoft identity platform, on 127.0.0.1, for tests and the demo.

    emulator = GraphEmulator(seed=0).start()          # tenant from sandbox/fixtures/tenant.json
    token = emulator.issue_token()                    # or POST {url}/{tenant}/oauth2/v2.0/token
    httpx.get(f"{emulator.url}/v1.0/users", headers={"Authorization": f"Bearer {token}"})
    emulator.faults.throttle_every = 3                # knobs are plain attributes, settable at runtime
    emulator.queue_fault(status=503, path_prefix="/v1.0/applications")
    emulator.reset()                                  # tenant, knobs, queued faults and log as at start
    emulator.stop()

Layers: HTTP (`_Handler`, on sandbox/server.py) → faults and auth (`GraphEmulator._handle`) → $batch
(`sandbox.graph.batch`) → routes and handlers (`sandbox.graph.routes`, `sandbox.graph.handlers`,
`sandbox.graph.login`) → tenant state (`sandbox.graph.state`).

Fault knobs (`emulator.faults`, a `Faults`): latency per request; 429 + Retry-After every N Graph
calls or at a rate; 5xx at a rate; connection resets at a rate; replication delay (a new object answers
404 for N ms, and cannot be referenced yet; per object, seeded: only a share of objects lag, by a share
of the delay, and some requests already reach a replica that has it); the discovery document wrong or missing; and, for
benchmarks of a client, `cache_reads` (a repeated user or member-list read answered with the bytes of
its first answer). Periodic and random faults hit Graph calls (each $batch sub-request counts on its
own; the $batch envelope itself is never throttled) and, with `include_login`, the login routes. Every
random choice comes from `seed`. Secrets (client secrets, access tokens) are made with `secrets`, never
from the seed.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import random
import re
import secrets
import sys
import threading
import time
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from importlib import resources
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, urlsplit

from sandbox.graph.batch import run_batch
from sandbox.graph.handlers import Answer, Call, Caller, GraphApi, Knobs
from sandbox.graph.login import DISCOVERY_MODES, LoginEndpoints, is_login_path
from sandbox.graph.odata import GraphError
from sandbox.graph.paging import PageTokens
from sandbox.graph.routes import BATCH_PATH, GRAPH_PREFIX, JSON_CONTENT_TYPE
from sandbox.graph.state import TenantState, now_iso
from sandbox.server import QuietHandler, ServedEmulator, reset_connection

TOKEN_LIFETIME_S = 3599
# What `cache_reads` may cache: reads of objects the API cannot change (users, group memberships).
_CACHEABLE_READ = re.compile(r"^/v1\.0/(users(/[^/]+)?|groups/[^/]+/(members|transitiveMembers)(/[^/]+)?)$",
                             re.IGNORECASE)
_ERROR_CODES = {500: "UnknownError", 502: "BadGateway", 503: "ServiceUnavailable", 504: "GatewayTimeout"}


@functools.cache
def _default_fixture_text() -> str:
    return resources.files("sandbox").joinpath("fixtures/tenant.json").read_text(encoding="utf-8")


def load_default_tenant() -> dict:
    """A fresh copy of sandbox/fixtures/tenant.json."""
    return json.loads(_default_fixture_text())


@dataclass
class Faults:
    """Runtime fault knobs. Set attributes directly or through `GraphEmulator.configure(**knobs)`."""

    latency_ms: float = 0.0                 # added before every answer (login routes included)
    throttle_every: int = 0                 # every Nth Graph call answers 429 (0: never)
    throttle_rate: float = 0.0              # probability that a Graph call answers 429
    retry_after: float = 1.0                # Retry-After seconds on 429 and injected 503
    error_rate: float = 0.0                 # probability of a 5xx
    error_statuses: tuple[int, ...] = (500, 502, 503, 504)
    reset_rate: float = 0.0                 # probability that the connection is reset with no answer
    replication_delay_ms: float = 0.0       # a new object answers 404 (and can't be referenced) this long
    replication_delay_writes: bool = True   # also PATCH/DELETE/actions on it (the real provider's #611 404s)
    # Replication as Entra ID shows it (seeded by `seed`, per object): only this share of new objects lag
    # at all; a lagging one's lag is replication_delay_ms x uniform(1 - jitter, 1); while it lags, this share
    # of requests already reach a replica that has it (so a write may pass and the next read 404).
    replication_lag_share: float = 1.0
    replication_lag_jitter: float = 0.0
    replication_seen_share: float = 0.0
    secret_propagation_ms: float = 0.0      # a new password is refused by the token endpoint this long (Entra: 4-18 s)
    secret_propagation_jitter_ms: float = 0.0  # plus a seeded draw in [0, this) per new password
    include_login: bool = False             # periodic/random faults also hit the login routes
    auth_code_lifetime_ms: float = 600_000  # an authorization code expires this long after it is issued
    discovery_mode: str = "ok"              # "ok" | "wrong_issuer" | "missing" (404)
    # Benchmarks of a client: answer a repeated user or member-list GET (same query, same caller) with
    # the bytes of its first answer, so the emulator's own rendering stops being what is measured.
    # Users and memberships cannot change through the API; any write or reset() empties the cache.
    cache_reads: bool = False


@dataclass
class QueuedFault:
    """A one-shot fault served before the normal handlers to the next matching request(s)."""

    status: int = 503
    path_prefix: str | None = None          # matched against the path, e.g. "/v1.0/applications"
    method: str | None = None
    retry_after: float | None = None
    code: str | None = None
    message: str | None = None
    reset: bool = False                     # drop the connection instead of answering
    times: int = 1
    hits: int = field(default=0, compare=False)

    def matches(self, method: str, path: str) -> bool:
        return ((self.method is None or self.method.upper() == method)
                and (self.path_prefix is None or path.lower().startswith(self.path_prefix.lower())))


class RequestRecord(NamedTuple):
    """One request the emulator answered. status 0: the connection was reset with no answer."""

    method: str
    path: str
    query: dict[str, str]
    status: int


@dataclass
class _TokenGrant:
    caller: Caller
    expires_at: float


_RESET = object()  # outcome: drop the connection


class _Handler(QuietHandler):
    server_version = "Microsoft-IIS/10.0"
    sys_version = ""
    timeout = 60
    emulator: GraphEmulator  # set on the per-emulator subclass

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _serve(self) -> None:
        emulator = self.emulator
        body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        outcome = emulator._handle(self.command, self.path, headers, body)
        if outcome is _RESET:
            reset_connection(self)
            return
        assert isinstance(outcome, Answer)
        payload = emulator._payload(outcome)
        self.send_response(outcome.status)
        if outcome.body is not None and "Content-Type" not in outcome.headers:
            self.send_header("Content-Type", JSON_CONTENT_TYPE)
        request_id = headers.get("client-request-id") or secrets.token_hex(16)
        self.send_header("request-id", secrets.token_hex(16))
        self.send_header("client-request-id", request_id)
        self.send_header("x-ms-ags-diagnostic", '{"ServerInfo":{"DataCenter":"Sandbox"}}')
        for name, value in outcome.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        # headers and body in one write: two small segments on a keep-alive connection meet Nagle and
        # the client's delayed ACK, a 40 ms stall per request
        self._headers_buffer.append(b"\r\n" + payload)
        self.flush_headers()

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve


class GraphEmulator(ServedEmulator):
    """Microsoft Graph v1.0 + login.microsoftonline.com for one in-memory tenant."""

    handler_class = _Handler
    thread_name = "graph-emulator"
    stop_timeout = 5

    def __init__(self, tenant: Mapping[str, Any] | None = None, *, seed: int = 0):
        self.seed = seed
        self._fixture = tenant if tenant is not None else load_default_tenant()
        self._lock = threading.RLock()
        self.state = TenantState(self._fixture, seed=seed)
        self.faults = Faults()
        self._knobs = Knobs()
        self._page_tokens = PageTokens(hashlib.sha256(f"graph-skiptoken:{seed}".encode()).digest())
        self._api = GraphApi(self.state, self._page_tokens, self._knobs)
        self._login = LoginEndpoints(lambda: self.state, self._store_token, seed=seed,
                                     discovery_mode=lambda: self.faults.discovery_mode,
                                     code_lifetime_s=lambda: self.faults.auth_code_lifetime_ms / 1000)
        self._tokens: dict[str, _TokenGrant] = {}
        self._queued: list[QueuedFault] = []
        self._log: list[RequestRecord] = []
        self.internal_errors: list[str] = []
        self._fault_rng = random.Random(f"graph-faults:{seed}")
        self._graph_calls = 0
        self._read_cache: dict[tuple, Answer] = {}
        self._read_payloads: dict[int, tuple[Answer, bytes]] = {}
        self.host = "127.0.0.1"
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self, host: str = "127.0.0.1", port: int = 0) -> GraphEmulator:
        if self._server is not None:
            return self
        self.host, self.port = self._serve_on(host, port)
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the Graph emulator is not started")
        return f"http://{self.host}:{self.port}"

    @property
    def graph_url(self) -> str:
        return f"{self.url}{GRAPH_PREFIX}"

    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    @property
    def authority(self) -> str:
        """The tenant's v2 authority on the emulator (what https://login.microsoftonline.com/<tid>/v2.0 maps to)."""
        return f"{self.url}/{self.tenant_id}/v2.0"

    @property
    def principal_client_id(self) -> str:
        return self.state.principal["appId"]

    @property
    def principal_client_secret(self) -> str:
        return self.state.principal_secret

    @property
    def principal_object_id(self) -> str:
        """Object id of the Terraform principal's service principal."""
        return self.state.principal["servicePrincipalId"]

    def accepts_secret(self, client_id: str, secret: str) -> bool:
        """Whether the token endpoint would accept this client secret now (unexpired and propagated)."""
        with self._lock:
            self.state.secret_propagation_s = self.faults.secret_propagation_ms / 1000
            return bool(self.state.usable_credentials(client_id, secret))

    def reset(self) -> None:
        """Tenant, knobs, queued faults, request log and random sequences back to their start.

        Issued access tokens stay valid, and the Terraform principal keeps its secret.
        """
        with self._lock:
            self.state.reset()
            self.faults = Faults()
            self._queued.clear()
            self._log.clear()
            self.internal_errors.clear()
            self._fault_rng = random.Random(f"graph-faults:{self.seed}")
            self._graph_calls = 0
            self._read_cache.clear()
            self._read_payloads.clear()

    # ------------------------------------------------------------------ knobs

    def configure(self, **knobs: Any) -> Faults:
        """Set fault knobs by name (see `Faults`); an unknown name or bad value raises ValueError."""
        names = {f.name for f in fields(Faults)}
        for name, value in knobs.items():
            if name not in names:
                raise ValueError(f"unknown fault knob {name!r}; known: {', '.join(sorted(names))}")
            if name == "discovery_mode" and value not in DISCOVERY_MODES:
                raise ValueError(f"discovery_mode must be one of {', '.join(DISCOVERY_MODES)}")
            if name.endswith(("_rate", "_share", "_jitter")) and not 0 <= value <= 1:
                raise ValueError(f"{name} must be between 0 and 1")
            setattr(self.faults, name, value)
        return self.faults

    def queue_fault(self, status: int = 503, *, path_prefix: str | None = None, method: str | None = None,
                    retry_after: float | None = None, code: str | None = None, message: str | None = None,
                    reset: bool = False, times: int = 1) -> QueuedFault:
        """Serve `status` (or a connection reset) to the next `times` matching requests, before anything else."""
        fault = QueuedFault(status=status, path_prefix=path_prefix, method=method, retry_after=retry_after,
                            code=code, message=message, reset=reset, times=times)
        with self._lock:
            self._queued.append(fault)
        return fault

    @property
    def pending_faults(self) -> list[QueuedFault]:
        with self._lock:
            return [f for f in self._queued if f.hits < f.times]

    # ------------------------------------------------------------------ tokens

    def _store_token(self, caller: Caller, lifetime_s: float = TOKEN_LIFETIME_S) -> str:
        """A token shaped like Entra's app-only Graph token: a JWT whose claims clients may read (oid, tid,
        appid, roles), with a random signature. The emulator accepts only the tokens it issued."""
        issued = int(time.time())
        header = {"typ": "JWT", "alg": "RS256", "kid": self._login.key_id}
        claims = {
            "aud": "https://graph.microsoft.com", "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": issued, "nbf": issued, "exp": issued + int(lifetime_s), "appid": caller.client_app_id,
            "appidacr": "1", "idp": f"https://sts.windows.net/{self.tenant_id}/", "idtyp": "app",
            "oid": caller.service_principal_id, "sub": caller.service_principal_id,
            "roles": sorted(caller.roles), "tid": self.tenant_id, "ver": "1.0",
        }
        token = ".".join([_b64_json(header), _b64_json(claims), secrets.token_urlsafe(64)])
        with self._lock:
            self._tokens[token] = _TokenGrant(caller, time.monotonic() + lifetime_s)
        return token

    def issue_token(self, roles: Iterable[str] | None = None, *, client_id: str | None = None,
                    lifetime_s: float = TOKEN_LIFETIME_S) -> str:
        """A valid bearer token, as the token endpoint would issue it.

        roles: the Graph application permissions it carries; default: those granted right now to the
        client's service principal (the Terraform principal unless client_id names another app).
        """
        with self._lock:
            app_id = client_id or self.principal_client_id
            sp = self.state.service_principal_by_app_id(app_id)
            sp_id = sp["id"] if sp else None
            granted = frozenset(roles) if roles is not None else frozenset(self.state.roles_of(sp_id or ""))
        return self._store_token(Caller(client_app_id=app_id, service_principal_id=sp_id, roles=granted),
                                 lifetime_s)

    def expire_tokens(self) -> None:
        """Every issued token is now expired (401 'Lifetime validation failed')."""
        with self._lock:
            for grant in self._tokens.values():
                grant.expires_at = 0.0

    # ------------------------------------------------------------------ request log

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def _record(self, method: str, path: str, query: Mapping[str, str], status: int) -> None:
        with self._lock:
            self._log.append(RequestRecord(method, path, dict(query), status))

    # ------------------------------------------------------------------ request handling

    def _handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer | object:
        parts = urlsplit(target)
        path = parts.path or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        base_url = f"http://{headers.get('host') or f'{self.host}:{self.port}'}"
        with self._lock:
            queued = self._take_queued(method, path)
            latency_s = self.faults.latency_ms / 1000
        if latency_s > 0:
            time.sleep(latency_s)
        if queued is not None:
            if queued.reset:
                self._record(method, path, query, 0)
                return _RESET
            answer = self._fault_answer(queued.status, retry_after=queued.retry_after, code=queued.code,
                                        message=queued.message)
            self._record(method, path, query, answer.status)
            return answer
        is_graph = path == GRAPH_PREFIX or path.startswith(GRAPH_PREFIX + "/")
        login = is_login_path(path)
        with self._lock:
            in_scope = is_graph or (login and self.faults.include_login)
            if in_scope and self.faults.reset_rate and self._fault_rng.random() < self.faults.reset_rate:
                self._record(method, path, query, 0)
                return _RESET
        try:
            if login:
                answer = self._periodic_fault(path) if self.faults.include_login else None
                if answer is None:
                    with self._lock:
                        answer = self._login.handle(method, path, query, headers, body, base_url)
            elif not is_graph:
                answer = self._error_answer(GraphError(400, "BadRequest", "Invalid version."))
            else:
                answer = self._graph_request(method, path, query, headers, body, base_url)
        except Exception:  # an emulator bug: answer 500 like a server would, and keep it for the tests
            self.internal_errors.append(traceback.format_exc())
            print(self.internal_errors[-1], file=sys.stderr)
            answer = self._error_answer(GraphError(500, "UnknownError", "Internal error in the Graph emulator."))
        self._record(method, path, query, answer.status)
        return answer

    def _take_queued(self, method: str, path: str) -> QueuedFault | None:
        for fault in self._queued:
            if fault.hits < fault.times and fault.matches(method, path):
                fault.hits += 1
                if fault.hits >= fault.times:
                    self._queued.remove(fault)
                return fault
        return None

    def _periodic_fault(self, path: str) -> Answer | None:
        """The throttling and 5xx knobs, for one Graph call (or login call with include_login)."""
        with self._lock:
            faults = self.faults
            self._graph_calls += 1
            throttled = (faults.throttle_every and self._graph_calls % faults.throttle_every == 0) or (
                faults.throttle_rate and self._fault_rng.random() < faults.throttle_rate)
            if throttled:
                return self._fault_answer(429, retry_after=faults.retry_after)
            if faults.error_rate and self._fault_rng.random() < faults.error_rate:
                status = self._fault_rng.choice(list(faults.error_statuses))
                return self._fault_answer(status, retry_after=faults.retry_after if status == 503 else None)
        return None

    def _fault_answer(self, status: int, *, retry_after: float | None = None, code: str | None = None,
                      message: str | None = None) -> Answer:
        if status == 429:
            code = code or "TooManyRequests"
            message = message or "Too many requests. Please retry after the time given in the Retry-After header."
        else:
            code = code or _ERROR_CODES.get(status, "UnknownError")
            message = message or "The service is temporarily unavailable. Please retry."
        headers = {}
        if retry_after is not None or status == 429:
            headers["Retry-After"] = _format_seconds(retry_after if retry_after is not None
                                                     else self.faults.retry_after)
        return self._error_answer(GraphError(status, code, message, headers=headers))

    @staticmethod
    def _error_answer(error: GraphError) -> Answer:
        body: dict[str, Any] = {"code": error.code, "message": error.message}
        if error.details:
            body["details"] = error.details
        body["innerError"] = {"date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
                              "request-id": secrets.token_hex(16), "client-request-id": secrets.token_hex(16)}
        headers = dict(error.headers)
        if error.status == 401:
            headers["WWW-Authenticate"] = ('Bearer realm="", authorization_uri="https://login.microsoftonline.com/'
                                           'common/oauth2/authorize", client_id="00000003-0000-0000-c000-'
                                           '000000000000"')
        return Answer(error.status, {"error": body}, headers)

    def _authenticate(self, headers: Mapping[str, str]) -> Caller:
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
        with self._lock:
            grant = self._tokens.get(token)
        if grant is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token validation failure. Invalid audience.")
        if time.monotonic() >= grant.expires_at:
            raise GraphError(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
        return grant.caller

    @staticmethod
    def _parse_json(headers: Mapping[str, str], body: bytes) -> Any:
        if not body.strip():
            return None
        if "json" not in headers.get("content-type", "").lower():
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                                                "header is set and payload is of valid JSON format.")
        try:
            return json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                                                "header is set and payload is of valid JSON format.") from None

    def _graph_request(self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str],
                       body: bytes, base_url: str) -> Answer:
        try:
            caller = self._authenticate(headers)
            payload = self._parse_json(headers, body)
            if path.rstrip("/") == BATCH_PATH:
                if method != "POST":
                    raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the "
                                                                "request uri.")
                return run_batch(self, payload, caller, base_url)
        except GraphError as error:
            return self._error_answer(error)
        return self._graph_call(method, path, query, headers, payload, caller, base_url)

    def _graph_call(self, method: str, path: str, query: dict[str, str], headers: Mapping[str, str],
                    payload: Any, caller: Caller, base_url: str) -> Answer:
        """One Graph call (a plain request or a $batch sub-request): throttling, 5xx, then the handler."""
        fault = self._periodic_fault(path)
        if fault is not None:
            return fault
        cache_key = None
        with self._lock:
            if method != "GET":
                self._read_cache.clear()
                self._read_payloads.clear()
            elif self.faults.cache_reads and _CACHEABLE_READ.match(path):
                cache_key = (path, tuple(sorted(query.items())), headers.get("consistencylevel", "").lower(),
                             base_url, caller.roles)
                cached = self._read_cache.get(cache_key)
                if cached is not None:
                    return cached
        call = Call(method=method, path=path[len(GRAPH_PREFIX):], query=query, headers=headers, body=payload,
                    base_url=base_url, caller=caller)
        try:
            with self._lock:
                self._knobs.replication_delay_s = self.faults.replication_delay_ms / 1000
                self._knobs.replication_delay_writes = self.faults.replication_delay_writes
                self.state.replication.configure(self.faults)
                self.state.secret_propagation_s = self.faults.secret_propagation_ms / 1000
                self.state.secret_propagation_jitter_s = self.faults.secret_propagation_jitter_ms / 1000
                answer = self._api.dispatch(call)
        except GraphError as error:
            return self._error_answer(error)
        if cache_key is not None and answer.status == 200:
            payload_bytes = json.dumps(answer.body, separators=(",", ":")).encode()
            with self._lock:
                self._read_cache[cache_key] = answer
                self._read_payloads[id(answer)] = (answer, payload_bytes)
        return answer

    def _payload(self, answer: Answer) -> bytes:
        """The JSON bytes of an answer, serialized once for the answers `cache_reads` keeps."""
        cached = self._read_payloads.get(id(answer))
        if cached is not None and cached[0] is answer:
            return cached[1]
        if isinstance(answer.body, str):  # an HTML page of the login routes
            return answer.body.encode()
        return b"" if answer.body is None else json.dumps(answer.body, separators=(",", ":")).encode()


def _b64_json(value: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


__all__ = ["Faults", "GraphEmulator", "QueuedFault", "RequestRecord", "load_default_tenant", "now_iso"]
