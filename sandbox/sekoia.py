"""An emulated Sekoia.io API on 127.0.0.1: communities, roles, email domains and the OIDC settings.

Every route comes from `orchestrator.sekoia_routes.ROUTES`, the table the project's client reads
too, so the emulator and the client cannot drift apart; this module has no path of its own.

Layers: the WAF (rate limiter) → fault knobs → route match (`missing_routes`) → API key and
community access → the route's handler → in-memory state. Every request is logged as
(method, path, status), status 0 meaning the connection was reset.

What it enforces, and why:
- `Authorization: Bearer <key>`: 401 when missing, unknown or expired; 403 naming the
  permission when the key lacks the route's permission (e.g. COMMUNITY_WRITE_ROLE for writes).
- A key reaches its own community and that community's sub-communities. Any other community
  answers 404, the same as an unknown one (knob `foreign_community_status`, default 404): the
  real API's choice is not documented, answering alike does not tell a key which other tenants
  exist, and it makes a client say "not found or not reachable with this key" instead of
  blaming a permission. Set the knob to 403 to check that a client copes with the other choice.
- Domains go pending → verified after `domain_verification_delay` seconds (None: only when
  `verify_domain` is called, like Sekoia's human check), or rejected by `reject_domain` with a
  reason the item carries in `rejection_reason`.
- SSO: the secret is never answered; the last one pushed and the history are kept for tests
  (`sso_secret`, `sso_secret_history`). `provider_url` must be https; http is accepted for
  loopback hosts only (`allow_loopback_http`), because in the sandbox the tenant endpoint is the
  Graph emulator on 127.0.0.1. `login_url` is `<app url>/user/oidc/<uuid>` where the uuid is the
  SSO configuration's own, not the community's: the docs do not say which, and a client must
  read the URL from the answer rather than build it.
- Errors of existing routes are `{"message", "code"}`; a path or method that does not exist
  (including the operations in `missing_routes`) answers FastAPI's `{"detail": ...}` 404/405.
- The WAF: more than `rate_limit` requests in one second, or more than `error_limit` errors per
  second over `error_window` seconds, blocks every request for `rate_limit_block` seconds
  (a (low, high) pair draws a duration, 30 s to 10 min by default like the real one) with 429
  and `Retry-After`.

Every random choice (keys, uuids, fault draws, block durations) comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import ipaddress
import json
import math
import random
import re
import socket
import struct
import threading
import time
import uuid as uuidlib
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

from orchestrator.sekoia.routes import PERMISSION_READ, PERMISSION_WRITE, ROUTES, SekoiaRoute

__all__ = [
    "DEMO_COMMUNITY_NAME",
    "DEMO_COMMUNITY_UUID",
    "DEMO_ROLE_NAMES",
    "FOREIGN_COMMUNITY_UUID",
    "RequestRecord",
    "SekoiaEmulator",
]

DEMO_COMMUNITY_UUID = "3b1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21"
DEMO_COMMUNITY_NAME = "Contoso SOC"
DEMO_ROLE_NAMES = ("Admin", "Analyst", "Read only")
FOREIGN_COMMUNITY_UUID = "9e4f2d18-5a3b-4c6e-8f1a-2b7d9c0e4a63"  # seeded, but the demo key cannot reach it
FOREIGN_COMMUNITY_NAME = "Fabrikam CERT"

_DEMO_NAMESPACE = uuidlib.UUID(DEMO_COMMUNITY_UUID)
_DEMO_ROLE_PERMISSIONS = {
    "Admin": [PERMISSION_READ, PERMISSION_WRITE, "COMMUNITY_ADD_MEMBER", "COMMUNITY_ASSIGN_ROLE",
              "COMMUNITY_EDIT_COMMUNITY", "COMMUNITY_LIST_MEMBER", "SIC_READ_ALERTS", "SIC_WRITE_ALERTS"],
    "Analyst": ["SIC_READ_ALERTS", "SIC_WRITE_ALERTS", "SIC_READ_INCIDENTS", "SIC_WRITE_INCIDENTS"],
    "Read only": ["SIC_READ_ALERTS", "SIC_READ_INCIDENTS", "DASHBOARD_READ_DASHBOARDS"],
}
_DEMO_USER = {"email": "soc.admin@contoso.com", "firstname": "Alex", "lastname": "Martin"}

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_SSO_REQUIRED = ("enabled", "provider_url", "client_id", "client_secret", "jit_provisioning")
_SSO_FIELDS = (*_SSO_REQUIRED, "default_role_uuid")
_PAGE_LIMIT_MAX = 1000
_GATEWAY_BODY = b"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"


class RequestRecord(NamedTuple):
    method: str
    path: str  # as received, without the query string
    status: int  # 0: the connection was reset without an answer


@dataclass
class _Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    waf: bool = False  # answered by the WAF itself: not counted among the errors it watches


_RESET = _Reply(0)  # marker: drop the connection instead of answering


def _json(status: int, payload: Any, **headers: str) -> _Reply:
    return _Reply(status, json.dumps(payload).encode(), headers=dict(headers))


def _error(status: int, message: str, code: str, **headers: str) -> _Reply:
    return _json(status, {"message": message, "code": code}, **headers)


def _detail(status: int, detail: str, **headers: str) -> _Reply:
    return _json(status, {"detail": detail}, **headers)


def _retry_after(seconds: float) -> str:
    return str(max(0, math.ceil(seconds)))


@dataclass
class _Community:
    uuid: str
    name: str
    parent_uuid: str | None = None
    disabled: bool = False


@dataclass
class _Role:
    uuid: str
    name: str
    community_uuid: str
    permissions: list[str]


@dataclass
class _ApiKey:
    permissions: frozenset[str]
    community_uuid: str
    user: dict[str, str]
    expired: bool = False


@dataclass
class _Domain:
    uuid: str
    community_uuid: str
    name: str
    status: str
    created_at: str
    created_monotonic: float
    rejection_reason: str | None = None


@dataclass
class _Sso:
    uuid: str
    enabled: bool
    provider_url: str
    client_id: str
    jit_provisioning: bool
    default_role_uuid: str | None


@dataclass
class _Fault:
    status: int | None  # None with reset=True: drop the connection
    reset: bool = False
    retry_after: float | None = None
    operation: str | None = None  # None: the next request whatever its route
    times: int = 1


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real API behind its load balancer
    server_version = "SekoiaEmulator/1"
    # Headers and body leave in one segment, without Nagle: otherwise delayed ACKs add 40 ms a request.
    wbufsize = -1
    disable_nagle_algorithm = True
    emulator: SekoiaEmulator  # set on the per-server subclass

    def setup(self) -> None:
        super().setup()
        self.emulator._track(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.emulator._untrack(self.connection)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is emulator.requests; stderr stays clean

    def do_GET(self) -> None:
        self.emulator._serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET


def _compile(route: SekoiaRoute) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    return re.compile(f"^{pattern}/?$")


_PATTERNS: dict[str, re.Pattern[str]] = {name: _compile(route) for name, route in ROUTES.items()}


class SekoiaEmulator:
    """The Sekoia.io API in memory, over real HTTP. Start it, point a client at `.url`, assert on state."""

    def __init__(
        self,
        *,
        seed: int = 0,
        demo: bool = True,
        base_path: str = "",
        app_url: str | None = None,
        latency: float = 0.0,
        latency_jitter: float = 0.0,
        error_rate: float = 0.0,
        error_statuses: tuple[int, ...] = (500, 502, 503, 504),
        reset_rate: float = 0.0,
        throttle_every: int = 0,
        throttle_rate: float = 0.0,
        throttle_retry_after: float = 1,
        rate_limit: int | None = 100,
        error_limit: float | None = 8,
        error_window: float = 5.0,
        rate_limit_block: float | tuple[float, float] = (30.0, 600.0),
        domain_verification_delay: float | None = None,
        missing_routes: Iterable[str] = (),
        foreign_community_status: int = 404,
        allow_loopback_http: bool = True,
    ) -> None:
        if base_path and (not base_path.startswith("/") or base_path.endswith("/")):
            raise ValueError("base_path is like '/api': a leading slash and no trailing one")
        if foreign_community_status not in (403, 404):
            raise ValueError("foreign_community_status is 403 or 404")
        self.seed = seed
        self.demo = demo
        self.base_path = base_path
        self._app_url = app_url
        # The knobs, kept so that reset() puts them back.
        self._knob_defaults: dict[str, Any] = {
            "latency": latency,
            "latency_jitter": latency_jitter,
            "error_rate": error_rate,
            "error_statuses": tuple(error_statuses),
            "reset_rate": reset_rate,
            "throttle_every": throttle_every,
            "throttle_rate": throttle_rate,
            "throttle_retry_after": throttle_retry_after,
            "rate_limit": rate_limit,
            "error_limit": error_limit,
            "error_window": error_window,
            "rate_limit_block": rate_limit_block,
            "domain_verification_delay": domain_verification_delay,
            "missing_routes": frozenset(missing_routes),
            "foreign_community_status": foreign_community_status,
            "allow_loopback_http": allow_loopback_http,
        }
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self.demo_api_key: str | None = None
        self.reset()

    # ---- life cycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SekoiaEmulator:
        if self._server is not None:
            raise RuntimeError("the Sekoia emulator is already running")
        handler = type("SekoiaHandler", (_Handler,), {"emulator": self})
        self._server = _Server((host, port), handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"sekoia-emulator:{self._server.server_address[1]}", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            open_connections = list(self._connections)
        for conn in open_connections:  # keep-alive clients would otherwise still be served
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=2)
            self._thread = None

    def __enter__(self) -> SekoiaEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the Sekoia emulator is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def url(self) -> str:
        """The API base a client is configured with (the region table's `api_base`)."""
        return self.origin + self.base_path

    @property
    def app_url(self) -> str:
        """The UI's base: the host of `login_url`."""
        return self._app_url or self.origin

    def reset(self) -> None:
        """Back to the state right after construction: knobs, data, log, faults, WAF and random draws."""
        with self._lock:
            for name, value in self._knob_defaults.items():
                setattr(self, name, value)
            self._rng = random.Random(self.seed)
            self._communities: dict[str, _Community] = {}
            self._roles: dict[str, _Role] = {}
            self._keys: dict[str, _ApiKey] = {}
            self._domains: dict[str, _Domain] = {}
            self._sso: dict[str, _Sso] = {}
            self._secrets: dict[str, str] = {}
            self._secret_history: dict[str, list[str]] = {}
            self._requests: list[RequestRecord] = []
            self._faults: deque[_Fault] = deque()
            self._arrivals: deque[float] = deque()
            self._errors: deque[float] = deque()
            self._blocked_until = 0.0
            self._served = 0
            self.demo_api_key = None
            if self.demo:
                self.seed_demo()

    @property
    def missing_routes(self) -> frozenset[str]:
        """Operations answering 404/405 as if the assumed route did not exist on the real API."""
        return self._missing_routes

    @missing_routes.setter
    def missing_routes(self, names: Iterable[str]) -> None:
        names = frozenset(names)
        unknown = sorted(names - set(ROUTES))
        if unknown:
            raise ValueError(f"unknown Sekoia operations {unknown}; known: {', '.join(ROUTES)}")
        self._missing_routes = names

    # ---- seed data and admin calls (what Sekoia's staff or the UI would do) ------------------

    def _new_uuid(self) -> str:
        return str(uuidlib.UUID(int=self._rng.getrandbits(128), version=4))

    def seed_demo(self) -> str:
        """Contoso SOC with its roles, a community the demo key cannot reach, and the demo key."""
        with self._lock:
            if DEMO_COMMUNITY_UUID not in self._communities:
                self.add_community(DEMO_COMMUNITY_NAME, uuid=DEMO_COMMUNITY_UUID, roles={})
                for name in DEMO_ROLE_NAMES:
                    self.add_role(DEMO_COMMUNITY_UUID, name, _DEMO_ROLE_PERMISSIONS[name],
                                  uuid=str(uuidlib.uuid5(_DEMO_NAMESPACE, name)))
            if FOREIGN_COMMUNITY_UUID not in self._communities:
                self.add_community(FOREIGN_COMMUNITY_NAME, uuid=FOREIGN_COMMUNITY_UUID)
            if self.demo_api_key is None:
                self.demo_api_key = self.add_api_key(
                    {PERMISSION_READ, PERMISSION_WRITE}, community_uuid=DEMO_COMMUNITY_UUID,
                    user={"uuid": str(uuidlib.uuid5(_DEMO_NAMESPACE, "demo-user")), **_DEMO_USER},
                )
            return self.demo_api_key

    def add_community(self, name: str, *, uuid: str | None = None, parent_uuid: str | None = None,
                      roles: dict[str, Iterable[str]] | None = None) -> str:
        """A community (a sub-community when parent_uuid is given); roles: name → permissions."""
        with self._lock:
            uuid = uuid or self._new_uuid()
            if uuid in self._communities:
                raise ValueError(f"community {uuid} already exists")
            if parent_uuid is not None and parent_uuid not in self._communities:
                raise ValueError(f"no parent community {parent_uuid}")
            self._communities[uuid] = _Community(uuid, name, parent_uuid)
            if roles is None:
                roles = {name: _DEMO_ROLE_PERMISSIONS[name] for name in DEMO_ROLE_NAMES}
            for role_name, permissions in roles.items():
                self.add_role(uuid, role_name, permissions)
            return uuid

    def add_role(self, community_uuid: str, name: str, permissions: Iterable[str] = (), *,
                 uuid: str | None = None) -> str:
        with self._lock:
            self._community_or_raise(community_uuid)
            uuid = uuid or self._new_uuid()
            self._roles[uuid] = _Role(uuid, name, community_uuid, sorted(permissions))
            return uuid

    def roles(self, community_uuid: str) -> dict[str, str]:
        """name → uuid of the community's roles."""
        with self._lock:
            return {r.name: r.uuid for r in self._roles.values() if r.community_uuid == community_uuid}

    def add_api_key(self, permissions: Iterable[str], *, community_uuid: str = DEMO_COMMUNITY_UUID,
                    expired: bool = False, user: dict[str, str] | None = None) -> str:
        """A new random API key of `community_uuid` carrying exactly `permissions`."""
        with self._lock:
            self._community_or_raise(community_uuid)
            key = f"{self._rng.getrandbits(256):064x}"
            if user is None:
                user = {"uuid": self._new_uuid(), "email": "api.user@contoso.com",
                        "firstname": "Api", "lastname": "User"}
            self._keys[key] = _ApiKey(frozenset(permissions), community_uuid, dict(user), expired)
            return key

    def expire_api_key(self, key: str) -> None:
        with self._lock:
            self._keys[key].expired = True

    def seed_domain(self, community_uuid: str, name: str, *, status: str = "pending",
                    rejection_reason: str | None = None) -> str:
        """A domain as if added earlier (through the UI, or by a previous run); returns its uuid."""
        if status not in ("pending", "verified", "rejected"):
            raise ValueError("status is pending, verified or rejected")
        with self._lock:
            self._community_or_raise(community_uuid)
            return self._create_domain(community_uuid, name.lower(), status, rejection_reason).uuid

    def verify_domain(self, name: str, *, community_uuid: str | None = None) -> None:
        """Sekoia's team verified `name` (in every community holding it, unless one is named)."""
        self._set_domain_status(name, "verified", None, community_uuid)

    def reject_domain(self, name: str, reason: str, *, community_uuid: str | None = None) -> None:
        """Sekoia's team refused `name`; the item then carries `reason` in `rejection_reason`."""
        self._set_domain_status(name, "rejected", reason, community_uuid)

    def domains(self, community_uuid: str) -> list[dict[str, Any]]:
        with self._lock:
            return [self._domain_view(d) for d in self._domains.values() if d.community_uuid == community_uuid]

    def sso_configuration(self, community_uuid: str) -> dict[str, Any] | None:
        """What read_sso would answer (no secret), or None when SSO is not configured."""
        with self._lock:
            sso = self._sso.get(community_uuid)
            return self._sso_view(sso) if sso else None

    def edit_sso(self, community_uuid: str, **fields: Any) -> None:
        """A change made by hand in Sekoia.io's UI (enabled, provider_url, client_id, jit_provisioning,
        default_role_uuid): the secret it holds stays. KeyError when SSO is not configured."""
        unknown = set(fields) - {"enabled", "provider_url", "client_id", "jit_provisioning", "default_role_uuid"}
        if unknown:
            raise TypeError(f"edit_sso: no such SSO field {sorted(unknown)}")
        with self._lock:
            sso = self._sso[community_uuid]
            for name, value in fields.items():
                setattr(sso, name, value)

    def sso_secret(self, community_uuid: str) -> str | None:
        """The client secret Sekoia holds for the community: the last one pushed, None after a disable."""
        with self._lock:
            return self._secrets.get(community_uuid)

    def sso_secret_history(self, community_uuid: str) -> list[str]:
        """Every secret pushed to the community, oldest first."""
        with self._lock:
            return list(self._secret_history.get(community_uuid, []))

    # ---- fault knobs ------------------------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1, operation: str | None = None,
                  retry_after: float | None = None) -> None:
        """The next `times` requests (to `operation`, or any) answer `status`, ahead of everything but the WAF."""
        self._queue(_Fault(status, retry_after=retry_after, operation=operation, times=times))

    def reset_next(self, *, times: int = 1, operation: str | None = None) -> None:
        """The next `times` requests (to `operation`, or any) get their connection reset."""
        self._queue(_Fault(None, reset=True, operation=operation, times=times))

    def throttle_storm(self, count: int, *, retry_after: float = 1, operation: str | None = None) -> None:
        """The next `count` requests answer 429 with `Retry-After: retry_after`."""
        self.fail_next(429, times=count, operation=operation, retry_after=retry_after)

    def _queue(self, fault: _Fault) -> None:
        if fault.operation is not None and fault.operation not in ROUTES:
            raise ValueError(f"unknown Sekoia operation {fault.operation!r}")
        if fault.times < 1:
            raise ValueError("times is at least 1")
        with self._lock:
            self._faults.append(fault)

    def block(self, seconds: float) -> None:
        """The WAF blocks every request for `seconds` from now."""
        with self._lock:
            self._blocked_until = time.monotonic() + seconds

    # ---- the request log --------------------------------------------------------------------

    @property
    def requests(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._requests)

    @property
    def write_requests(self) -> list[RequestRecord]:
        """Requests that could change something (POST, PUT, PATCH, DELETE), whatever their answer."""
        return [r for r in self.requests if r.method not in ("GET", "HEAD", "OPTIONS")]

    def requests_for(self, operation: str) -> list[RequestRecord]:
        """Logged requests that addressed `operation`'s method and path."""
        route = ROUTES[operation]
        return [r for r in self.requests
                if r.method == route.method and _PATTERNS[operation].match(self._relative(r.path) or "")]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ---- HTTP -------------------------------------------------------------------------------

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _relative(self, path: str) -> str | None:
        if not self.base_path:
            return path
        if path == self.base_path or path.startswith(self.base_path + "/"):
            return path[len(self.base_path):] or "/"
        return None

    def _serve(self, handler: _Handler) -> None:
        try:
            length = int(handler.headers.get("Content-Length") or 0)
        except ValueError:
            handler.send_error(400, "Bad Content-Length")
            return
        body = handler.rfile.read(length) if length > 0 else b""
        path, _, query = handler.path.partition("?")
        with self._lock:
            delay = self.latency + (self._rng.uniform(0, self.latency_jitter) if self.latency_jitter else 0)
        if delay > 0:
            time.sleep(delay)
        with self._lock:
            reply = self._answer(handler.command, path, query, handler.headers, body)
            self._requests.append(RequestRecord(handler.command, path, reply.status))
            if reply.status >= 400 and not reply.waf:
                self._count_error(time.monotonic())
        if reply is _RESET:
            # SO_LINGER 0 makes close() send a RST: the client sees a reset, not a clean end of stream.
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            handler.close_connection = True
            handler.connection.close()
            return
        handler.send_response(reply.status)
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        if reply.status != 204:
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(reply.body)))
        handler.end_headers()
        if reply.status != 204:
            handler.wfile.write(reply.body)

    def _answer(self, method: str, path: str, query: str, headers: Any, body: bytes) -> _Reply:
        now = time.monotonic()
        blocked = self._waf(now)
        if blocked is not None:
            return blocked
        relative = self._relative(path)
        route, params, allowed = self._match(method, relative)
        fault = self._draw_fault(route)
        if fault is not None:
            return fault
        if route is None:
            if allowed:
                return _detail(405, "Method Not Allowed", Allow=", ".join(sorted(allowed)))
            return _detail(404, "Not Found")
        denied_or_key = self._authorize(route, params, headers)
        if isinstance(denied_or_key, _Reply):
            return denied_or_key
        return self._HANDLERS[route.name](self, denied_or_key, params, parse_qs(query), body)

    def _waf(self, now: float) -> _Reply | None:
        if now < self._blocked_until:
            return self._waf_reply(self._blocked_until - now)
        self._arrivals.append(now)
        while self._arrivals and self._arrivals[0] <= now - 1.0:
            self._arrivals.popleft()
        if self.rate_limit is not None and len(self._arrivals) > self.rate_limit:
            return self._waf_reply(self._start_block(now))
        return None

    def _count_error(self, now: float) -> None:
        self._errors.append(now)
        while self._errors and self._errors[0] <= now - self.error_window:
            self._errors.popleft()
        if self.error_limit is not None and len(self._errors) > self.error_limit * self.error_window:
            self._start_block(now)

    def _start_block(self, now: float) -> float:
        span = self.rate_limit_block
        seconds = self._rng.uniform(*span) if isinstance(span, tuple) else float(span)
        self._blocked_until = now + seconds
        self._arrivals.clear()
        self._errors.clear()
        return seconds

    def _waf_reply(self, remaining: float) -> _Reply:
        reply = _error(429, "Too many requests: blocked by the rate limiter", "TOO_MANY_REQUESTS",
                       **{"Retry-After": _retry_after(remaining)})
        reply.waf = True
        return reply

    def _match(self, method: str, path: str | None) -> tuple[SekoiaRoute | None, dict[str, str], set[str]]:
        """The route for method+path, or None with the methods the path does answer (405 vs 404)."""
        allowed: set[str] = set()
        if path is None:
            return None, {}, allowed
        for name, route in ROUTES.items():
            if name in self.missing_routes:
                continue
            found = _PATTERNS[name].match(path)
            if found is None:
                continue
            if route.method == method:
                return route, found.groupdict(), allowed
            allowed.add(route.method)
        return None, {}, allowed

    def _draw_fault(self, route: SekoiaRoute | None) -> _Reply | None:
        name = route.name if route else None
        for fault in self._faults:
            if fault.operation is None or fault.operation == name:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return _RESET if fault.reset else self._fault_reply(fault.status, fault.retry_after)
        self._served += 1
        if self.reset_rate and self._rng.random() < self.reset_rate:
            return _RESET
        if self.error_rate and self._rng.random() < self.error_rate:
            return self._fault_reply(self._rng.choice(self.error_statuses), None)
        if self.throttle_every and self._served % self.throttle_every == 0:
            return self._fault_reply(429, self.throttle_retry_after)
        if self.throttle_rate and self._rng.random() < self.throttle_rate:
            return self._fault_reply(429, self.throttle_retry_after)
        return None

    @staticmethod
    def _fault_reply(status: int, retry_after: float | None) -> _Reply:
        headers = {"Retry-After": _retry_after(retry_after)} if retry_after is not None else {}
        if status == 429:
            return _error(429, "Too many requests", "TOO_MANY_REQUESTS", **headers)
        if status in (502, 503, 504):
            # what a load balancer in front of the API answers: HTML, not the API's JSON
            reply = _Reply(status, _GATEWAY_BODY.replace(b"{status}", str(status).encode()), "text/html",
                           headers)
            return reply
        if status >= 500:
            return _error(status, "Internal server error", "INTERNAL_ERROR", **headers)
        return _error(status, f"Injected error {status}", "INJECTED_ERROR", **headers)

    # ---- access -----------------------------------------------------------------------------

    def _authorize(self, route: SekoiaRoute, params: dict[str, str], headers: Any) -> _Reply | _ApiKey:
        challenge = {"WWW-Authenticate": "Bearer"}
        header = headers.get("Authorization")
        if not header:
            return _error(401, "Missing API key: send 'Authorization: Bearer <API key>'", "UNAUTHORIZED",
                          **challenge)
        scheme, _, token = header.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return _error(401, "Authorization must be 'Bearer <API key>'", "UNAUTHORIZED", **challenge)
        key = self._keys.get(token)
        if key is None:
            return _error(401, "Invalid API key", "UNAUTHORIZED", **challenge)
        if key.expired:
            return _error(401, "API key expired", "UNAUTHORIZED", **challenge)
        community_uuid = params.get("community_uuid")
        if community_uuid is not None:
            community = self._communities.get(community_uuid)
            if community is None:
                return _error(404, f"Community {community_uuid} not found", "NOT_FOUND")
            if community_uuid not in self._reachable(key):
                if self.foreign_community_status == 403:
                    return _error(403, f"This API key cannot access community {community_uuid}", "FORBIDDEN")
                return _error(404, f"Community {community_uuid} not found", "NOT_FOUND")
        if route.permission is not None and route.permission not in key.permissions:
            return _error(403, f"Missing permission {route.permission}", "FORBIDDEN")
        return key

    def _reachable(self, key: _ApiKey) -> list[str]:
        """The key's community, then its sub-communities, level by level."""
        found = [key.community_uuid]
        for uuid in found:  # the list grows while it is walked: breadth first
            found.extend(c.uuid for c in self._communities.values() if c.parent_uuid == uuid)
        return found

    def _community_or_raise(self, community_uuid: str) -> _Community:
        try:
            return self._communities[community_uuid]
        except KeyError:
            raise ValueError(f"no community {community_uuid}") from None

    # ---- views ------------------------------------------------------------------------------

    def _community_view(self, community: _Community) -> dict[str, Any]:
        children = [c.uuid for c in self._communities.values() if c.parent_uuid == community.uuid]
        return {
            "uuid": community.uuid,
            "name": community.name,
            "is_parent": bool(children),
            "parent_community_uuid": community.parent_uuid,
            "subcommunities": children,
            "disabled": community.disabled,
        }

    def _domain_view(self, domain: _Domain) -> dict[str, Any]:
        delay = self.domain_verification_delay
        if domain.status == "pending" and delay is not None and time.monotonic() - domain.created_monotonic >= delay:
            domain.status = "verified"
        return {
            "uuid": domain.uuid,
            "name": domain.name,
            "status": domain.status,
            "created_at": domain.created_at,
            "rejection_reason": domain.rejection_reason,
        }

    def _sso_view(self, sso: _Sso) -> dict[str, Any]:
        return {
            "enabled": sso.enabled,
            "provider_url": sso.provider_url,
            "client_id": sso.client_id,
            "jit_provisioning": sso.jit_provisioning,
            "default_role_uuid": sso.default_role_uuid,
            "login_url": f"{self.app_url}/user/oidc/{sso.uuid}",
        }

    def _create_domain(self, community_uuid: str, name: str, status: str,
                       rejection_reason: str | None) -> _Domain:
        domain = _Domain(self._new_uuid(), community_uuid, name, status,
                         datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                         time.monotonic(), rejection_reason)
        self._domains[domain.uuid] = domain
        return domain

    def _set_domain_status(self, name: str, status: str, reason: str | None, community_uuid: str | None) -> None:
        with self._lock:
            hits = [d for d in self._domains.values()
                    if d.name == name.lower() and community_uuid in (None, d.community_uuid)]
            if not hits:
                raise KeyError(f"no domain {name!r}" + (f" in community {community_uuid}" if community_uuid else ""))
            for domain in hits:
                domain.status = status
                domain.rejection_reason = reason

    # ---- handlers: one per route of the table -----------------------------------------------

    @staticmethod
    def _page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> _Reply:
        """Sekoia's list answer: match[field]=a,b filters, then limit (default 100) and offset."""
        for param, values in query.items():
            if param.startswith("match[") and param.endswith("]"):
                wanted = {v for value in values for v in value.split(",")}
                field_name = param[len("match["):-1]
                items = [item for item in items if str(item.get(field_name)) in wanted]
        try:
            limit = int(query.get("limit", ["100"])[-1])
            offset = int(query.get("offset", ["0"])[-1])
        except ValueError:
            return _error(400, "limit and offset are integers", "VALIDATION_ERROR")
        if not 1 <= limit <= _PAGE_LIMIT_MAX or offset < 0:
            return _error(400, f"limit is 1 to {_PAGE_LIMIT_MAX}, offset 0 or more", "VALIDATION_ERROR")
        return _json(200, {"items": items[offset:offset + limit], "total": len(items)})

    @staticmethod
    def _body(body: bytes, allowed: tuple[str, ...]) -> dict[str, Any] | _Reply:
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return _error(400, "The body is not valid JSON", "VALIDATION_ERROR")
        if not isinstance(payload, dict):
            return _error(400, "The body must be a JSON object", "VALIDATION_ERROR")
        unknown = sorted(set(payload) - set(allowed))
        if unknown:
            return _error(400, f"Unknown field(s): {', '.join(unknown)}", "VALIDATION_ERROR")
        return payload

    def _me(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        return _json(200, dict(key.user))

    def _my_communities(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        items = [self._community_view(self._communities[u]) for u in self._reachable(key)]
        return self._page(items, query)

    def _community(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        return _json(200, self._community_view(self._communities[params["community_uuid"]]))

    def _community_roles(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        items = [{"uuid": r.uuid, "name": r.name, "community_uuid": r.community_uuid,
                  "permissions": list(r.permissions)}
                 for r in self._roles.values() if r.community_uuid == params["community_uuid"]]
        return self._page(items, query)

    def _list_domains(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        return self._page(self.domains(params["community_uuid"]), query)

    def _add_domain(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        payload = self._body(body, ("name",))
        if isinstance(payload, _Reply):
            return payload
        name = payload.get("name")
        if not isinstance(name, str) or not _DOMAIN.match(name.strip().lower()):
            return _error(400, "name must be a domain name such as example.com", "VALIDATION_ERROR")
        name = name.strip().lower()
        community_uuid = params["community_uuid"]
        if any(d.name == name and d.community_uuid == community_uuid for d in self._domains.values()):
            return _error(409, f"Domain {name} already exists in this community", "CONFLICT")
        domain = self._create_domain(community_uuid, name, "pending", None)
        return _json(201, self._domain_view(domain))

    def _remove_domain(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        domain = self._domains.get(params["domain_uuid"])
        if domain is None or domain.community_uuid != params["community_uuid"]:
            return _error(404, f"Domain {params['domain_uuid']} not found", "NOT_FOUND")
        del self._domains[domain.uuid]
        return _Reply(204)

    def _read_sso(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        sso = self._sso.get(params["community_uuid"])
        if sso is None:
            return _error(404, "SSO is not configured for this community", "NOT_FOUND")
        return _json(200, self._sso_view(sso))

    def _write_sso(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        payload = self._body(body, _SSO_FIELDS)
        if isinstance(payload, _Reply):
            return payload
        community_uuid = params["community_uuid"]
        problems = self._sso_problems(payload, community_uuid)
        if problems:
            # never echo a value: the body holds the secret
            return _error(400, "Invalid SSO configuration: " + "; ".join(problems), "VALIDATION_ERROR")
        previous = self._sso.get(community_uuid)
        sso = _Sso(previous.uuid if previous else self._new_uuid(), payload["enabled"], payload["provider_url"],
                   payload["client_id"], payload["jit_provisioning"], payload.get("default_role_uuid"))
        self._sso[community_uuid] = sso
        self._secrets[community_uuid] = payload["client_secret"]
        self._secret_history.setdefault(community_uuid, []).append(payload["client_secret"])
        return _json(200, self._sso_view(sso))

    def _sso_problems(self, payload: dict[str, Any], community_uuid: str) -> list[str]:
        problems = [f"{name} is required" for name in _SSO_REQUIRED if name not in payload]
        for flag in ("enabled", "jit_provisioning"):
            if flag in payload and not isinstance(payload[flag], bool):
                problems.append(f"{flag} must be true or false")
        if "provider_url" in payload and not self._provider_url_ok(payload["provider_url"]):
            problems.append("provider_url must be an https URL such as https://login.microsoftonline.com/<tenant>/")
        client_id = payload.get("client_id")
        if "client_id" in payload and not (isinstance(client_id, str) and _GUID.match(client_id)):
            problems.append("client_id must be a GUID")
        secret = payload.get("client_secret")
        if "client_secret" in payload and not (isinstance(secret, str) and secret.strip()):
            problems.append("client_secret must be a non-empty string")
        role = payload.get("default_role_uuid")
        if role is None:
            if payload.get("jit_provisioning") is True:
                problems.append("default_role_uuid is required when jit_provisioning is true")
        elif role not in self.roles(community_uuid).values():
            problems.append("default_role_uuid must be the uuid of one of the community's roles")
        return problems

    def _provider_url_ok(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            return False
        if not host:
            return False
        if parts.scheme == "https":
            return True
        return parts.scheme == "http" and self.allow_loopback_http and _is_loopback(host)

    def _disable_sso(self, key: _ApiKey, params: dict, query: dict, body: bytes) -> _Reply:
        community_uuid = params["community_uuid"]
        if self._sso.pop(community_uuid, None) is None:
            return _error(404, "SSO is not configured for this community", "NOT_FOUND")
        self._secrets.pop(community_uuid, None)
        return _Reply(204)

    _HANDLERS = {
        "me": _me,
        "my_communities": _my_communities,
        "community": _community,
        "community_roles": _community_roles,
        "list_domains": _list_domains,
        "add_domain": _add_domain,
        "remove_domain": _remove_domain,
        "read_sso": _read_sso,
        "write_sso": _write_sso,
        "disable_sso": _disable_sso,
    }


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


if set(SekoiaEmulator._HANDLERS) != set(ROUTES):  # a route added to the table without a handler
    raise ImportError(f"Sekoia emulator handlers {sorted(SekoiaEmulator._HANDLERS)} != routes {sorted(ROUTES)}")
