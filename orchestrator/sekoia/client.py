"""The Sekoia.io API client: one long-lived httpx client per environment, routes from one table.

    client = SekoiaClient.for_environment(env, endpoints)
    client.me()                                   # the key check
    client.community(uuid); client.roles(uuid)    # confirmed routes
    client.domains(uuid); client.add_domain(uuid, "contoso.com")
    client.read_sso(uuid)                         # None when no SSO is configured
    client.write_sso(uuid, SsoSettings(...), client_secret=secret)   # settings.py

Every path comes from `orchestrator.sekoia.routes.ROUTES`, the table the sandbox's emulator
serves too. The routes for domains and SSO are an assumption (no public source names them):
when the server answers 404/405 on one of them with a body that is not Sekoia's own error shape,
the client raises `SekoiaRouteMissingError` and never tries another path.

The errors it raises (all exit 1 unless the caller maps them otherwise):

    SekoiaError                       status, code and message from Sekoia.io's {message, code}
    ├── SekoiaAuthError               401: the key is missing, invalid or expired
    ├── SekoiaPermissionError         403: the key lacks a permission (names it)
    ├── SekoiaNotFoundError           404 with Sekoia's body: the object does not exist (or is not reachable)
    ├── SekoiaConflictError           409
    ├── SekoiaRouteMissingError       404/405 without Sekoia's body on an ASSUMED route: do it in the UI
    ├── SekoiaRateLimitedError        429 still there after the retries, or a block longer than we wait
    ├── SekoiaUnavailableError        5xx after the retries, or the host cannot be reached
    └── SekoiaProtocolError           an answer we cannot read: HTML, truncated JSON, a redirect

Traffic rules, from Sekoia.io's developer docs: stay under 5 requests/s (`RequestWindow`: at most 4
requests in any 1.14 s by default, one window per API key shared by every client of the process:
`shared_request_window`), and a WAF blocks a key for 30 s to 10 min after bursts or error storms. So any
request that gets 429 is retried with `Retry-After` or exponential backoff, a bounded number of
times: the rate limiter answers 429 instead of processing the request, so a write refused so was
not applied. A 5xx or a lost connection is retried only for a safe request (GET): a write
(POST/PUT/DELETE) may have been applied, so the caller re-reads the state on its next run instead.
A Retry-After longer than `max_retry_after` is a WAF block: reported, not waited out. Redirects
are never followed: the API key must not travel to a host we did not choose.

Secrets: the API key and any client secret sent in a body are masked out of every error text,
and no request or answer body is logged.
"""

from __future__ import annotations

import collections
import hashlib
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from orchestrator.endpoints import Endpoints, require_https
from orchestrator.errors import (
    SekoiaAuthError,
    SekoiaConflictError,
    SekoiaError,
    SekoiaNotFoundError,
    SekoiaPermissionError,
    SekoiaProtocolError,
    SekoiaRateLimitedError,
    SekoiaRouteMissingError,
    SekoiaUnavailableError,
)
from orchestrator.retry_after import parse_retry_after
from orchestrator.secret import reveal
from orchestrator.sekoia.routes import PERMISSION_WRITE, ROUTES, SekoiaRoute
from orchestrator.sekoia.settings import SsoSettings

__all__ = [
    "DEFAULT_RATE",
    "DEFAULT_TIMEOUT",
    "RetryPolicy",
    "SekoiaAuthError",
    "SekoiaClient",
    "SekoiaConflictError",
    "SekoiaError",
    "SekoiaNotFoundError",
    "SekoiaPermissionError",
    "SekoiaProtocolError",
    "SekoiaRateLimitedError",
    "SekoiaRouteMissingError",
    "SekoiaUnavailableError",
    "RequestWindow",
    "shared_request_window",
]

log = logging.getLogger(__name__)

# Connect fast, read patiently: a write may take the API a few seconds, a dead host should not.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=30.0, write=30.0, pool=10.0)
# Requests per second. Sekoia.io asks for fewer than 5: at 3.5 (in bursts of 4, see RequestWindow) the
# 1st and 5th requests are 1.14 s apart, a margin for the network's jitter (4/s would put them exactly 1 s apart).
DEFAULT_RATE = 3.5
MASK = "********"
_BODY_EXCERPT = 200
_PAGE_SIZE = 100
_MAX_PAGES = 1000


# --------------------------------------------------------------------------------------------
# Errors


# --------------------------------------------------------------------------------------------
# Pacing and retries


class RequestWindow:
    """At most `burst` requests in any window of `burst / rate` seconds; `acquire` sleeps until allowed.

    At 3.5/s with bursts of 4, at most 4 requests fall in any 1.14 s: Sekoia.io's limit of 5 a
    second is never reached, and a command's first 4 reads go out at once instead of 0.29 s apart.
    Each request counts from its send until a window after its ANSWER (`settle()`): since a request
    arrives before it is answered, the server too never sees more than `burst` arrivals in a
    window, whatever the network or its own stalls did to earlier requests.
    """

    def __init__(self, rate: float, burst: int = 4, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be positive and burst at least 1")
        self.burst = burst
        self.window = burst / rate
        self._clock = clock
        self._sleep = sleep
        self._answered: collections.deque[float] = collections.deque()  # answer times, oldest first
        self._in_flight = 0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take a place in the window, sleeping as long as needed; returns the seconds slept."""
        slept = 0.0
        while True:
            with self._lock:
                now = self._clock()
                # (a microsecond of slack: a sleep until exactly the expiry must not fall short by a rounding)
                while self._answered and self._answered[0] + self.window <= now + 1e-6:
                    self._answered.popleft()
                if len(self._answered) + self._in_flight < self.burst:
                    self._in_flight += 1
                    return slept
                # all places taken: the oldest answer leaves the window first (or an in-flight one is answered)
                wait = self._answered[0] + self.window - now if self._answered else 0.01
            self._sleep(wait)
            slept += wait

    def settle(self) -> None:
        """The request just answered (or failed): it stays in the window for `window` seconds from now."""
        with self._lock:
            self._in_flight = max(0, self._in_flight - 1)
            self._answered.append(self._clock())


_SHARED_WINDOWS: dict[tuple[bytes, float], RequestWindow] = {}
_SHARED_WINDOWS_LOCK = threading.Lock()
# Keyed by a keyed hash (a salt of this process) of the API key: the key itself is never kept for this.
_KEY_SALT = os.urandom(16)


def shared_request_window(api_key: str, rate: float) -> RequestWindow:
    """The one RequestWindow of this process for `api_key` (at `rate`): environments using the same key share
    its budget (Sekoia.io counts requests per key), so `status --all` over many never trips the WAF."""
    digest = hashlib.blake2b(api_key.strip().encode(), key=_KEY_SALT, digest_size=16).digest()
    with _SHARED_WINDOWS_LOCK:
        window = _SHARED_WINDOWS.get((digest, rate))
        if window is None:
            window = _SHARED_WINDOWS[(digest, rate)] = RequestWindow(rate)
        return window


@dataclass(frozen=True)
class RetryPolicy:
    """How a request is retried after 429 (any request), 5xx or a lost connection (safe requests only)."""

    attempts: int = 5  # tries in all
    backoff: float = 1.0  # first wait when the server gives no Retry-After
    max_backoff: float = 30.0
    # A Retry-After longer than this is a WAF block (30 s to 10 min): say so rather than hang.
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return retry_after
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * random.uniform(0.75, 1.0)  # jitter: two runs do not retry in step


# --------------------------------------------------------------------------------------------
# Reading answers


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _BODY_EXCERPT else text[:_BODY_EXCERPT] + "…"


def _html_title(text: str) -> str | None:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    return " ".join(match.group(1).split()) if match else None


@dataclass(frozen=True)
class _Body:
    """An answer's body as far as we could read it."""

    data: Any = None  # parsed JSON, or None
    readable: bool = True  # False: not JSON (HTML, text, truncated)
    description: str = ""  # for messages when not Sekoia's own error

    @property
    def sekoia_error(self) -> bool:
        """Sekoia.io's own error shape: {"message": ..., "code": ...}."""
        return isinstance(self.data, dict) and isinstance(self.data.get("message"), str)

    @property
    def message(self) -> str:
        if self.sekoia_error:
            return self.data["message"]
        if isinstance(self.data, dict) and "detail" in self.data:
            return _detail_text(self.data["detail"])
        return self.description

    @property
    def code(self) -> str | None:
        if self.sekoia_error and isinstance(self.data.get("code"), str):
            return self.data["code"]
        return None


def _detail_text(detail: Any) -> str:
    """FastAPI's `detail`: a string, or a list of {loc, msg, type} validation errors."""
    if isinstance(detail, str):
        return detail
    if isinstance(detail, list):
        parts = []
        for item in detail:
            if isinstance(item, dict):
                where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
                parts.append(f"{where}: {item.get('msg', '')}" if where else str(item.get("msg", "")))
            else:
                parts.append(str(item))
        return "; ".join(parts)
    return json.dumps(detail)


def _read_body(response: httpx.Response) -> _Body:
    raw = response.content
    if not raw:
        return _Body(None, True, "an empty body")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    text = raw.decode("utf-8", "replace")
    try:
        return _Body(json.loads(text), True, "")
    except ValueError:
        pass
    if "html" in content_type or text.lstrip().lower().startswith(("<!doctype", "<html")):
        title = _html_title(text)
        return _Body(None, False, f"an HTML page{f' titled {title!r}' if title else ''} (a proxy or gateway answered, "
                                  "not the API)")
    if "json" in content_type:
        return _Body(None, False, f"a body that is not valid JSON ({len(raw)} bytes, truncated?)")
    return _Body(None, False, f"a {content_type or 'untyped'} body: {_excerpt(text)!r}")


# --------------------------------------------------------------------------------------------
# The client


def check_api_key(api_key: str, key_source: str = "the API key", *, where: str = "") -> None:
    """ConfigError (exit 2) before any request when the key cannot be one: it is never sent, nor shown.

    A Sekoia.io API key is printable ASCII without spaces, tens to a few hundred characters; a newline
    or a non-ASCII character would otherwise fail inside the HTTP library, with the key in its message.
    """
    from orchestrator.errors import ConfigError

    key = (api_key or "").strip()
    problem = None
    if not key:
        problem = "is empty"
    elif any(not (0x21 <= ord(char) <= 0x7E) for char in key):
        bad = next(char for char in key if not (0x21 <= ord(char) <= 0x7E))
        what = "whitespace (a newline pasted with it?)" if bad.isspace() else (
            "a non-ASCII character" if ord(bad) > 0x7E else "a control character")
        problem = f"contains {what}; an API key is printable ASCII without spaces"
    elif not 16 <= len(key) <= 4096:
        problem = f"is {len(key)} characters long; a Sekoia.io API key has 16 to 4096"
    if problem:
        raise ConfigError(f"{where}{key_source} {problem}: it is not a Sekoia.io API key, so nothing was sent. "
                          f"Export the key (created in Sekoia.io with COMMUNITY_WRITE_ROLE) in {key_source}.")


class SekoiaClient:
    """Calls the Sekoia.io API through the shared route table. Use as a context manager, or close()."""

    def __init__(
        self,
        *,
        api_base: str,
        api_key: str,
        endpoints: Endpoints | None = None,
        key_source: str = "the API key",
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        rate: float = DEFAULT_RATE,
        retry: RetryPolicy = RetryPolicy(),
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        check_api_key(api_key, key_source)
        self.api_base = api_base.rstrip("/")
        self.actual_base = endpoints.resolve(self.api_base) if endpoints else self.api_base
        require_https(self.api_base, what="The Sekoia.io API base")
        require_https(self.actual_base, what="The Sekoia.io API base")
        self.key_source = key_source  # e.g. "SEKOIA_API_KEY": named in messages, never the key itself
        self.retry = retry
        # One window per API key in this process (real time); a test's own sleep gets a window of its own.
        self.limiter = shared_request_window(api_key, rate) if sleep is time.sleep else RequestWindow(rate, sleep=sleep)
        self._sleep = sleep
        self._secrets: set[str] = {api_key.strip()}
        self._http = httpx.Client(
            base_url=self.actual_base + "/",
            headers={"Authorization": f"Bearer {api_key.strip()}", "Accept": "application/json",
                     "User-Agent": "sekoia-sso"},
            timeout=timeout,
            follow_redirects=False,  # never carry the key to a host we did not choose
            transport=transport,
        )
        self.calls: list[tuple[str, str, int]] = []  # (operation, path, status) of every answer, for reports

    @classmethod
    def for_environment(cls, env: Any, endpoints: Endpoints, *, environ: Mapping[str, str] | None = None,
                        **options: Any) -> SekoiaClient:
        """The client for an Environment: region's API base (or its override), key from its variable.

        A missing key is a ConfigError (exit 2) naming the variable; `environ` defaults to the
        endpoints' environment (which adds the sandbox's key).
        """
        sekoia = env.config.sekoia
        api_key = env.api_key(dict(environ) if environ is not None else endpoints.environ())
        check_api_key(api_key, sekoia.api_key_env, where=f"{env.path}: sekoia.api_key_env names {sekoia.api_key_env}; ")
        return cls(api_base=sekoia.region_info.api_base, api_key=api_key, endpoints=endpoints,
                   key_source=sekoia.api_key_env, **options)

    def __repr__(self) -> str:
        return f"SekoiaClient(api_base={self.api_base!r}, key={MASK})"

    def __enter__(self) -> SekoiaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- operations ------------------------------------------------------------------------

    def me(self) -> dict[str, Any]:
        return self._object("me", self.request("me"))

    def my_communities(self) -> list[dict[str, Any]]:
        return self.list_all("my_communities")

    def community(self, community_uuid: str) -> dict[str, Any]:
        return self._object("community", self.request("community", community_uuid=community_uuid),
                            community_uuid=community_uuid)

    def roles(self, community_uuid: str) -> list[dict[str, Any]]:
        return self.list_all("community_roles", community_uuid=community_uuid)

    def domains(self, community_uuid: str) -> list[dict[str, Any]]:
        items = self.list_all("list_domains", community_uuid=community_uuid)
        # Callers match domains by name and remove them by uuid: an item without both cannot be acted on.
        if not all(isinstance(item.get("name"), str) and isinstance(item.get("uuid"), str) for item in items):
            raise SekoiaProtocolError(f"Sekoia.io GET {ROUTES['list_domains'].format(community_uuid=community_uuid)} "
                                      "answered a domain without a string name and uuid", status=200)
        return items

    def add_domain(self, community_uuid: str, name: str) -> dict[str, Any] | None:
        answer = self.request("add_domain", json={"name": name}, community_uuid=community_uuid)
        return self._object("add_domain", answer, optional=True, community_uuid=community_uuid)

    def remove_domain(self, community_uuid: str, domain_uuid: str) -> None:
        self.request("remove_domain", community_uuid=community_uuid, domain_uuid=domain_uuid)

    def read_sso(self, community_uuid: str) -> dict[str, Any] | None:
        """The OIDC settings (never the secret), or None when the community has none."""
        try:
            answer = self.request("read_sso", community_uuid=community_uuid)
        except SekoiaNotFoundError:
            return None
        return self._object("read_sso", answer, community_uuid=community_uuid)

    def write_sso(self, community_uuid: str, settings: SsoSettings, *, client_secret: Any) -> dict[str, Any]:
        """Set every OIDC setting; `client_secret` (str or Secret) is masked out of any error."""
        secret = str(reveal(client_secret))
        if not secret.strip():
            raise ValueError("client_secret is empty")
        body = settings.body(secret)
        answer = self.request("write_sso", json=body, secrets=(secret,), community_uuid=community_uuid)
        return self._object("write_sso", answer, optional=True, community_uuid=community_uuid)

    def disable_sso(self, community_uuid: str) -> bool:
        """Remove the OIDC settings; False when there were none."""
        try:
            self.request("disable_sso", community_uuid=community_uuid)
        except SekoiaNotFoundError:
            return False
        return True

    # ---- the machinery ---------------------------------------------------------------------

    def list_all(self, operation: str, **path_params: str) -> list[dict[str, Any]]:
        """Every item of a paginated list route (limit/offset, {items, total})."""
        items: list[dict[str, Any]] = []
        for _ in range(_MAX_PAGES):
            page = self.request(operation, params={"limit": _PAGE_SIZE, "offset": len(items)}, **path_params)
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise SekoiaProtocolError(
                    f"Sekoia.io {ROUTES[operation].method} {ROUTES[operation].format(**path_params)} answered "
                    "a list without `items`", status=200)
            batch = page["items"]
            if not all(isinstance(item, dict) for item in batch):
                raise SekoiaProtocolError(
                    f"Sekoia.io {ROUTES[operation].method} {ROUTES[operation].format(**path_params)} answered "
                    "a list whose items are not objects", status=200)
            items.extend(batch)
            total = page.get("total")
            if not batch or (isinstance(total, int) and len(items) >= total):
                return items
        raise SekoiaProtocolError(f"Sekoia.io {operation}: more than {_MAX_PAGES} pages", status=200)

    @staticmethod
    def _object(operation: str, answer: Any, *, optional: bool = False, **path_params: str) -> Any:
        """`answer` when it is a JSON object (or nothing, if `optional`); else SekoiaProtocolError.

        Callers read fields with .get(): a list, a string or an empty 200 must stop here, named, not
        as an AttributeError further on.
        """
        if isinstance(answer, dict) or (optional and answer is None):
            return answer
        route = ROUTES[operation]
        kind = {list: "a JSON list", str: "a JSON string", type(None): "an empty body"}.get(
            type(answer), f"a JSON {type(answer).__name__}")
        raise SekoiaProtocolError(f"Sekoia.io {route.method} {route.format(**path_params)} answered {kind}, not an "
                                  "object: is the API base right, or is a proxy answering?", status=200)

    def request(self, operation: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                secrets: Iterable[str] = (), **path_params: str) -> Any:
        """Call route `operation`; the parsed JSON answer (None for 204), or a SekoiaError."""
        route = ROUTES[operation]
        path = route.format(**path_params)
        hidden = self._secrets | {s for s in secrets if s}
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire()
            started = time.monotonic()
            try:
                response = self._http.request(route.method, path.lstrip("/"), json=json, params=params)
            except httpx.HTTPError as exc:
                self.limiter.settle()
                retryable = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) or route.safe
                if retryable and isinstance(exc, httpx.TransportError) and attempt < self.retry.attempts:
                    wait = self.retry.delay(attempt, None)
                    log.info("Sekoia.io %s %s: %s; retry %d in %.1fs", route.method, path,
                             type(exc).__name__, attempt, wait)
                    self._sleep(wait)
                    continue
                raise self._transport_error(route, path, exc, attempt, hidden) from None
            self.limiter.settle()
            elapsed = time.monotonic() - started
            self.calls.append((operation, path, response.status_code))
            log.debug("Sekoia.io %s %s -> %d in %.0f ms", route.method, path, response.status_code,
                      elapsed * 1000)
            status = response.status_code
            # 429: refused unprocessed, so a write is sent again too; a 5xx write may have been applied.
            if (status == 429 or (route.safe and status >= 500)) and attempt < self.retry.attempts:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is None or retry_after <= self.retry.max_retry_after:
                    wait = self.retry.delay(attempt, retry_after)
                    log.info("Sekoia.io %s %s answered %d; retry %d in %.1fs", route.method, path, status,
                             attempt, wait)
                    self._sleep(wait)
                    continue
            return self._answer(route, path, response, hidden, attempt)

    def _answer(self, route: SekoiaRoute, path: str, response: httpx.Response, hidden: set[str],
                attempts: int) -> Any:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return None
            body = _read_body(response)
            if not body.readable:
                raise SekoiaProtocolError(self._mask(
                    f"Sekoia.io {route.method} {path} answered {status} with {body.description}", hidden),
                    status=status)
            return body.data
        if 300 <= status < 400:
            location = response.headers.get("Location", "")
            target = urlsplit(location).netloc or "the same host"
            raise SekoiaProtocolError(self._mask(
                f"Sekoia.io {route.method} {path} answered a redirect ({status}) to {target}; not followed, so "
                f"the API key does not leave {urlsplit(self.actual_base).netloc}. Check the API base "
                f"{self.api_base} (sekoia.region, or sekoia.api_base in the environment's YAML)", hidden),
                status=status)
        body = _read_body(response)
        raise self._error(route, path, response, body, hidden, attempts)

    def _error(self, route: SekoiaRoute, path: str, response: httpx.Response, body: _Body, hidden: set[str],
               attempts: int) -> SekoiaError:
        status = response.status_code
        said = body.message or body.description
        where = f"Sekoia.io {route.method} {path} answered {status}"
        code = body.code
        answer = f"{where}{f' {code}' if code else ''}: {said}"
        if status in (404, 405) and not body.sekoia_error:
            if not route.confirmed:
                return SekoiaRouteMissingError(self._mask(
                    f"{where} as for a path that does not exist ({said}). This route ({route.name}) is assumed, "
                    "not documented by Sekoia.io: the API does not offer it, so this step must be done in the UI",
                    hidden), operation=route.name, method=route.method, path=path, status=status)
            return SekoiaProtocolError(self._mask(
                f"{answer}. This documented route should exist: is the API base {self.api_base} right? "
                "(sekoia.region, or sekoia.api_base in the environment's YAML)", hidden), status=status)
        if status == 401:
            return SekoiaAuthError(self._mask(
                f"{answer}. Sekoia.io refused the API key in {self.key_source}: it is invalid, expired "
                "(keys last 30, 180 or 365 days) or from another region than "
                f"{self.api_base}. Create a key with {PERMISSION_WRITE} and export it in {self.key_source}",
                hidden), status=status, code=code)
        if status == 403:
            needed = route.permission or PERMISSION_WRITE
            also = "" if needed == PERMISSION_WRITE else f" (configuring SSO needs {PERMISSION_WRITE} as well)"
            return SekoiaPermissionError(self._mask(
                f"{answer}. The API key in {self.key_source} lacks the permission {needed}{also}: give the "
                f"key a role with {PERMISSION_WRITE} (admin) in the community, or create a new key", hidden),
                status=status, code=code)
        if status == 404:
            return SekoiaNotFoundError(self._mask(answer, hidden), status=status, code=code)
        if status == 409:
            return SekoiaConflictError(self._mask(answer, hidden), status=status, code=code)
        if status == 429:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            wait = f"; Sekoia.io asks to wait {retry_after:.0f}s" if retry_after is not None else ""
            tries = f" after {attempts} tries" if attempts > 1 else ""
            return SekoiaRateLimitedError(self._mask(
                f"{answer}{tries}{wait}. Sekoia.io's rate limiter blocks bursts and error storms for 30 s to "
                "10 min: wait, then re-run", hidden), status=status, code=code, retry_after=retry_after)
        if status >= 500:
            tries = f" after {attempts} tries" if attempts > 1 else ""
            why = (" A write is not retried, since it may have been applied: re-run, the tool reads the "
                   "state first." if not route.safe else " Try again later.")
            return SekoiaUnavailableError(self._mask(f"{answer}{tries}.{why}", hidden), status=status, code=code)
        return SekoiaError(self._mask(answer, hidden), status=status, code=code)

    def _transport_error(self, route: SekoiaRoute, path: str, exc: httpx.HTTPError, attempts: int,
                         hidden: set[str]) -> SekoiaError:
        host = urlsplit(self.actual_base).netloc
        kinds: dict[type[httpx.HTTPError], str] = {
            httpx.ConnectError: "could not connect",
            httpx.ConnectTimeout: "timed out connecting",
            httpx.ReadTimeout: "timed out waiting for the answer",
            httpx.WriteTimeout: "timed out sending the request",
            httpx.PoolTimeout: "timed out waiting for a connection",
            httpx.RemoteProtocolError: "the connection broke",
            httpx.ReadError: "the connection broke",
        }
        kind = kinds.get(type(exc), type(exc).__name__)
        tries = f" after {attempts} tries" if attempts > 1 else ""
        after = "" if route.safe else (" A write is not retried once sent, since it may have been applied: "
                                       "re-run, the tool reads the state first.")
        return SekoiaUnavailableError(self._mask(
            f"Sekoia.io {route.method} {path}: {kind} ({host}){tries}: {exc}.{after}", hidden))

    @staticmethod
    def _mask(text: str, hidden: set[str]) -> str:
        for secret in sorted(hidden, key=len, reverse=True):
            if secret:
                text = text.replace(secret, MASK)
        return text
