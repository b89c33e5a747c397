"""An emulated Sekoia.io API on 127.0.0.1: communities, roles, email domains and the OIDC settings.

Every route comes from `orchestrator.sekoia.routes.ROUTES`, the table the project's client reads
too, so the emulator and the client cannot drift apart; this module has no path of its own.

Layers: HTTP (sandbox/server.py) → the WAF (rate limiter, waf.py) → fault knobs (faults.py) → route
match (routes.py, `missing_routes`) → API key and community access (access.py) → the route's handler
(handlers.py) → in-memory state (state.py). Every request is logged as (method, path, status), status 0
meaning the connection was reset.

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
- SSO logins for real (sandbox/sekoia/oidc.py): `sso_login(community, user)`, or over HTTP
  `GET <app url>/user/oidc/<sso uuid>` with `X-Sandbox-User: <UPN>` (the browser a user would
  bring), runs the authorization-code flow against the provider URL it holds and answers the
  verdict as JSON (200 accepted, 401 refused): the claims received, or where and why it stopped.
  `login_routes` maps the public login host to the login emulator (start_sandbox sets it);
  `callback_url` is the redirect URI sent, FRA1's by default: the one emulator stands for every
  region, so a login may name its region's callback (`?callback=<url>`, or the `callback_url`
  argument), which must be an https URL ending in /user/callback.
- The WAF: more than `rate_limit` requests in one second with one API key (each key has its own
  budget, so environments sharing a key share it) blocks that key, and more than `error_limit`
  errors per second over `error_window` seconds (whatever the key, a bad one included) blocks every
  request, for `rate_limit_block` seconds (a (low, high) pair draws a duration, 30 s to 10 min by
  default like the real one) with 429 and `Retry-After`.

Every random choice (keys, uuids, fault draws, block durations) comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
import uuid as uuidlib
from collections.abc import Iterable
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from orchestrator.sekoia.routes import PERMISSION_READ, PERMISSION_WRITE, ROUTES
from sandbox.sekoia.access import authorize
from sandbox.sekoia.faults import InjectedFaults, QueuedFault
from sandbox.sekoia.handlers import HANDLERS
from sandbox.sekoia.oidc import SANDBOX_USER_HEADER, LoginResult, oidc_login
from sandbox.sekoia.replies import RESET, Reply, detail_reply
from sandbox.sekoia.routes import addresses, match_route, relative_path
from sandbox.sekoia.state import (
    DEMO_COMMUNITY_NAME,
    DEMO_COMMUNITY_UUID,
    DEMO_NAMESPACE,
    DEMO_ROLE_NAMES,
    DEMO_ROLE_PERMISSIONS,
    DEMO_USER,
    FOREIGN_COMMUNITY_NAME,
    FOREIGN_COMMUNITY_UUID,
    SSO_EDITABLE,
    SekoiaState,
)
from sandbox.sekoia.waf import Waf
from sandbox.server import QuietHandler, ServedEmulator, reset_connection

__all__ = ["RequestRecord", "SekoiaEmulator"]


DEFAULT_CALLBACK_URL = "https://app.sekoia.io/user/callback"  # FRA1's; orchestrator/config/regions.py
_LOGIN_PATH = re.compile(r"^/user/oidc/(?P<sso>[0-9a-f-]+)/?$")
_CALLBACK = re.compile(r"https://[A-Za-z0-9.-]+(:\d+)?/user/callback")


class RequestRecord(NamedTuple):
    method: str
    path: str  # as received, without the query string
    status: int  # 0: the connection was reset without an answer


class _Handler(QuietHandler):
    server_version = "SekoiaEmulator/1"
    wbufsize = -1  # headers and body leave in one segment
    emulator: SekoiaEmulator  # set on the per-server subclass

    def do_GET(self) -> None:
        self.emulator._serve(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET



class SekoiaEmulator(ServedEmulator):
    """The Sekoia.io API in memory, over real HTTP. Start it, point a client at `.url`, assert on state."""

    handler_class = _Handler
    thread_name = "sekoia-emulator"
    stop_timeout = 2

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
        self.demo_api_key: str | None = None
        # Not knobs (reset() keeps them): where the SSO login goes, and where it comes back.
        self.login_routes: dict[str, str] = {}
        self.callback_url = DEFAULT_CALLBACK_URL
        self.reset()

    # ---- life cycle -------------------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> SekoiaEmulator:
        if self._server is not None:
            raise RuntimeError("the Sekoia emulator is already running")
        self._serve_on(host, port)
        return self

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
            self.state = SekoiaState(self._rng)
            self._requests: list[RequestRecord] = []
            self._faults = InjectedFaults()
            self._waf = Waf()  # error storms and block(): every request
            self._key_wafs: dict[str, Waf] = {}  # the request budget, by Authorization header: one per API key
            self.demo_api_key = None
            self.sso_logins: list[LoginResult] = []
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

    def seed_demo(self) -> str:
        """Contoso SOC with its roles, a community the demo key cannot reach, and the demo key."""
        with self._lock:
            if DEMO_COMMUNITY_UUID not in self.state.communities:
                self.add_community(DEMO_COMMUNITY_NAME, uuid=DEMO_COMMUNITY_UUID, roles={})
                for name in DEMO_ROLE_NAMES:
                    self.add_role(DEMO_COMMUNITY_UUID, name, DEMO_ROLE_PERMISSIONS[name],
                                  uuid=str(uuidlib.uuid5(DEMO_NAMESPACE, name)))
            if FOREIGN_COMMUNITY_UUID not in self.state.communities:
                self.add_community(FOREIGN_COMMUNITY_NAME, uuid=FOREIGN_COMMUNITY_UUID)
            if self.demo_api_key is None:
                self.demo_api_key = self.add_api_key(
                    {PERMISSION_READ, PERMISSION_WRITE}, community_uuid=DEMO_COMMUNITY_UUID,
                    user={"uuid": str(uuidlib.uuid5(DEMO_NAMESPACE, "demo-user")), **DEMO_USER},
                )
            return self.demo_api_key

    def add_community(self, name: str, *, uuid: str | None = None, parent_uuid: str | None = None,
                      roles: dict[str, Iterable[str]] | None = None) -> str:
        """A community (a sub-community when parent_uuid is given); roles: name → permissions."""
        with self._lock:
            return self.state.add_community(name, uuid=uuid, parent_uuid=parent_uuid, roles=roles)

    def add_role(self, community_uuid: str, name: str, permissions: Iterable[str] = (), *,
                 uuid: str | None = None) -> str:
        with self._lock:
            return self.state.add_role(community_uuid, name, permissions, uuid=uuid)

    def roles(self, community_uuid: str) -> dict[str, str]:
        """name → uuid of the community's roles."""
        with self._lock:
            return self.state.roles_of(community_uuid)

    def add_api_key(self, permissions: Iterable[str], *, community_uuid: str = DEMO_COMMUNITY_UUID,
                    expired: bool = False, user: dict[str, str] | None = None) -> str:
        """A new random API key of `community_uuid` carrying exactly `permissions`."""
        with self._lock:
            return self.state.add_api_key(permissions, community_uuid=community_uuid, expired=expired, user=user)

    def expire_api_key(self, key: str) -> None:
        with self._lock:
            self.state.keys[key].expired = True

    def seed_domain(self, community_uuid: str, name: str, *, status: str = "pending",
                    rejection_reason: str | None = None) -> str:
        """A domain as if added earlier (through the UI, or by a previous run); returns its uuid."""
        if status not in ("pending", "verified", "rejected"):
            raise ValueError("status is pending, verified or rejected")
        with self._lock:
            self.state.community_or_raise(community_uuid)
            return self.state.create_domain(community_uuid, name.lower(), status, rejection_reason).uuid

    def verify_domain(self, name: str, *, community_uuid: str | None = None) -> None:
        """Sekoia's team verified `name` (in every community holding it, unless one is named)."""
        with self._lock:
            self.state.set_domain_status(name, "verified", None, community_uuid)

    def reject_domain(self, name: str, reason: str, *, community_uuid: str | None = None) -> None:
        """Sekoia's team refused `name`; the item then carries `reason` in `rejection_reason`."""
        with self._lock:
            self.state.set_domain_status(name, "rejected", reason, community_uuid)

    def domains(self, community_uuid: str) -> list[dict[str, Any]]:
        with self._lock:
            return self.state.domains_of(community_uuid, self.domain_verification_delay)

    def sso_configuration(self, community_uuid: str) -> dict[str, Any] | None:
        """What read_sso would answer (no secret), or None when SSO is not configured."""
        with self._lock:
            sso = self.state.sso.get(community_uuid)
            return self.state.sso_view(sso, self.app_url) if sso else None

    def edit_sso(self, community_uuid: str, **fields: Any) -> None:
        """A change made by hand in Sekoia.io's UI (enabled, provider_url, client_id, jit_provisioning,
        default_role_uuid): the secret it holds stays. KeyError when SSO is not configured."""
        unknown = set(fields) - SSO_EDITABLE
        if unknown:
            raise TypeError(f"edit_sso: no such SSO field {sorted(unknown)}")
        with self._lock:
            sso = self.state.sso[community_uuid]
            for name, value in fields.items():
                setattr(sso, name, value)

    def sso_secret(self, community_uuid: str) -> str | None:
        """The client secret Sekoia holds for the community: the last one pushed, None after a disable."""
        with self._lock:
            return self.state.secrets.get(community_uuid)

    def sso_login(self, community_uuid: str, user: str, *, callback_url: str | None = None) -> LoginResult:
        """Log `user` in through the community's SSO, as Sekoia.io would (see sandbox/sekoia/oidc.py).

        callback_url: the redirect URI of the community's region (default `self.callback_url`, FRA1's)."""
        with self._lock:
            sso = self.state.sso.get(community_uuid)
            secret = self.state.secrets.get(community_uuid)
            routes = dict(self.login_routes)
        if sso is None or not sso.enabled or not secret:
            result = LoginResult(False, user, "configuration", "SSO is not configured or not enabled")
        else:
            result = oidc_login(sso.provider_url, sso.client_id, secret, user,
                                callback_url=callback_url or self.callback_url, routes=routes)
        with self._lock:
            self.sso_logins.append(result)
        return result

    def _login_reply(self, sso_uuid: str, user: str, query: str) -> Reply:
        with self._lock:
            community = next((c for c, sso in self.state.sso.items() if sso.uuid == sso_uuid), None)
        if community is None:
            return Reply(404, json.dumps({"message": "No such SSO configuration", "code": "NOT_FOUND"}).encode())
        if not user:
            return Reply(400, json.dumps({"message": f"Name the user signing in with {SANDBOX_USER_HEADER}",
                                          "code": "BAD_REQUEST"}).encode())
        callback = (parse_qs(query).get("callback") or [None])[0]
        if callback is not None and not _CALLBACK.fullmatch(callback):
            return Reply(400, json.dumps({"message": "callback must be an https URL ending in /user/callback",
                                          "code": "BAD_REQUEST"}).encode())
        result = self.sso_login(community, user, callback_url=callback)
        return Reply(200 if result.accepted else 401, json.dumps(result.to_dict()).encode())

    def sso_secret_history(self, community_uuid: str) -> list[str]:
        """Every secret pushed to the community, oldest first."""
        with self._lock:
            return list(self.state.secret_history.get(community_uuid, []))

    # ---- fault knobs ------------------------------------------------------------------------

    def fail_next(self, status: int, *, times: int = 1, operation: str | None = None,
                  retry_after: float | None = None) -> None:
        """The next `times` requests (to `operation`, or any) answer `status`, ahead of everything but the WAF."""
        self._queue(QueuedFault(status, retry_after=retry_after, operation=operation, times=times))

    def reset_next(self, *, times: int = 1, operation: str | None = None) -> None:
        """The next `times` requests (to `operation`, or any) get their connection reset."""
        self._queue(QueuedFault(None, reset=True, operation=operation, times=times))

    def throttle_storm(self, count: int, *, retry_after: float = 1, operation: str | None = None) -> None:
        """The next `count` requests answer 429 with `Retry-After: retry_after`."""
        self.fail_next(429, times=count, operation=operation, retry_after=retry_after)

    def _queue(self, fault: QueuedFault) -> None:
        fault.check()
        with self._lock:
            self._faults.queued.append(fault)

    def block(self, seconds: float) -> None:
        """The WAF blocks every request, whatever its key, for `seconds` from now (replacing any block)."""
        with self._lock:
            for waf in (self._waf, *self._key_wafs.values()):
                waf.blocked_until = time.monotonic() + seconds

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
        return [r for r in self.requests if addresses(operation, r.method, relative_path(self.base_path, r.path))]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # ---- HTTP -------------------------------------------------------------------------------

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
        login = _LOGIN_PATH.match(path) if handler.command == "GET" else None
        if login is not None:  # outside the lock: the flow calls the login emulator
            reply = self._login_reply(login.group("sso"), handler.headers.get(SANDBOX_USER_HEADER, "").strip(),
                                      query)
        else:
            with self._lock:
                reply = self._answer(handler.command, path, query, handler.headers, body)
        with self._lock:
            self._requests.append(RequestRecord(handler.command, path, reply.status))
            if reply.status >= 400 and not reply.waf and login is None:
                self._waf.count_error(time.monotonic(), self, self._rng)
        if reply is RESET:
            reset_connection(handler)
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


    def _answer(self, method: str, path: str, query: str, headers: Any, body: bytes) -> Reply:
        now = time.monotonic()
        if now < self._waf.blocked_until:
            return Waf.block_reply(self._waf.blocked_until - now)
        key_waf = self._key_wafs.setdefault(str(headers.get("Authorization") or ""), Waf())
        blocked = key_waf.check(now, self, self._rng)
        if blocked is not None:
            return blocked
        route, params, allowed = match_route(method, relative_path(self.base_path, path), self.missing_routes)
        fault = self._faults.draw(route.name if route else None, self, self._rng)
        if fault is not None:
            return fault
        if route is None:
            if allowed:
                return detail_reply(405, "Method Not Allowed", Allow=", ".join(sorted(allowed)))
            return detail_reply(404, "Not Found")
        denied_or_key = authorize(self.state, route, params, headers,
                                  foreign_community_status=self.foreign_community_status)
        if isinstance(denied_or_key, Reply):
            return denied_or_key
        return HANDLERS[route.name](self, denied_or_key, params, parse_qs(query), body)
