"""Microsoft Graph v1.0 over HTTP, the way the azuread provider's SDK (go-azure-sdk) talks to it.

Standard library only (http.client): Terraform starts the provider process several times per
command, and every import counts.

- Login: OAuth 2.0 client credentials at `{login}/{tenant}/oauth2/v2.0/token`, scope
  `https://graph.microsoft.com/.default`; the token is fetched once per process and again on 401.
- Retries like the SDK's: 429 after `Retry-After`, 5xx and dropped connections with backoff.
- Eventual consistency: nothing retries a 404 by itself (go-azure-sdk's msgraph client has its default
  retry functions commented out); a caller that must wait names the errors it waits out with
  `retry_while`, only where the real provider passes a RetryFunc (see sandbox/README.md, fidelity).
- Errors carry the Graph error code and message, formatted like go-azure-sdk's, and never the
  request body, the token or the client secret.
"""

from __future__ import annotations

import base64
import http.client
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
API_VERSION = "v1.0"

MAX_THROTTLE_RETRIES = 8
MAX_THROTTLE_WAIT = 30.0
MAX_TRANSIENT_RETRIES = 5
REQUEST_TIMEOUT = 60.0
# How long a just-created object may answer 404 before we give up (real provider: until the
# resource's create timeout; the emulator's replication delay is milliseconds to seconds).
CONSISTENCY_TIMEOUT = 60.0


class GraphAPIError(Exception):
    """Microsoft Graph answered an error (or could not be reached)."""

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 graph_message: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.graph_message = graph_message

    @property
    def not_found(self) -> bool:
        return self.status == 404


class AuthenticationError(GraphAPIError):
    """The token endpoint refused the credentials."""


class GraphClient:
    def __init__(self, *, graph_url: str, login_url: str, tenant_id: str, client_id: str, client_secret: str,
                 sleep: Callable[[float], None] = time.sleep, consistency_timeout: float = CONSISTENCY_TIMEOUT,
                 poll_interval: float = 1.0):
        self.graph_url = graph_url.rstrip("/")
        self.login_url = login_url.rstrip("/")
        self.tenant_id = tenant_id
        self.client_id = client_id
        self._client_secret = client_secret
        self._sleep = sleep
        self.consistency_timeout = consistency_timeout
        self.poll_interval = poll_interval  # StateChangeConf's MinTimeout in the real provider: 1 s
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        self._local = threading.local()

    def __repr__(self) -> str:
        return f"GraphClient(graph_url={self.graph_url!r}, tenant_id={self.tenant_id!r}, client_id={self.client_id!r})"

    # ------------------------------------------------------------------ authentication

    def token(self) -> str:
        with self._token_lock:
            if self._token is None or time.monotonic() > self._token_expires:
                self._token, lifetime = self._fetch_token()
                self._token_expires = time.monotonic() + max(lifetime - 60, 30)
            return self._token

    def _fetch_token(self) -> tuple[str, float]:
        path = f"/{quote(self.tenant_id, safe='')}/oauth2/v2.0/token"
        form = urlencode({
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "scope": GRAPH_SCOPE,
        }).encode()
        status, headers, body = self._send(self.login_url, "POST", path, form,
                                           {"Content-Type": "application/x-www-form-urlencoded"})
        payload = _json_or_none(body) or {}
        if status != 200 or not isinstance(payload, dict) or "access_token" not in payload:
            error = payload.get("error") if isinstance(payload, dict) else None
            description = payload.get("error_description") if isinstance(payload, dict) else None
            detail = f"{error}: {description}" if error else f"unexpected status {status}"
            raise AuthenticationError(
                f"clientCredentialsAuthorizer: obtaining token for tenant {self.tenant_id!r} and client "
                f"{self.client_id!r} from {self.login_url}: {detail}",
                status=status, code=error, graph_message=description,
            )
        return payload["access_token"], float(payload.get("expires_in") or 3600)

    def token_claims(self) -> dict[str, Any]:
        """The claims of the access token, if it is a JWT (Entra's are); {} otherwise."""
        parts = self.token().split(".")
        if len(parts) != 3:
            return {}
        try:
            padded = parts[1] + "=" * (-len(parts[1]) % 4)
            claims = json.loads(base64.urlsafe_b64decode(padded))
        except (ValueError, json.JSONDecodeError):
            return {}
        return claims if isinstance(claims, dict) else {}

    # ------------------------------------------------------------------ requests

    def request(self, method: str, path: str, body: Any = None, *, params: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Any:
        """One Graph call (path relative to /v1.0, or an absolute nextLink); the decoded JSON body."""
        if path.startswith(("http://", "https://")):
            parsed = urlsplit(path)
            target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
        else:
            target = f"/{API_VERSION}{path}"
            if params:
                target += "?" + urlencode(params, quote_via=quote)
        data = json.dumps(body).encode() if body is not None else None
        throttled = transient = 0
        reauthenticated = False
        while True:
            request_headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
            if data is not None:
                request_headers["Content-Type"] = "application/json"
            request_headers.update(headers or {})
            try:
                status, response_headers, raw = self._send(self.graph_url, method, target, data, request_headers)
            except GraphAPIError:
                transient += 1
                if transient > MAX_TRANSIENT_RETRIES:
                    raise
                self._sleep(min(0.2 * 2 ** (transient - 1), 5.0))
                continue
            if status == 401 and not reauthenticated:
                reauthenticated = True
                with self._token_lock:
                    self._token = None
                continue
            if status == 429 and throttled < MAX_THROTTLE_RETRIES:
                throttled += 1
                self._sleep(_retry_after(response_headers, throttled))
                continue
            if status in (500, 502, 503, 504) and transient < MAX_TRANSIENT_RETRIES:
                transient += 1
                self._sleep(min(0.2 * 2 ** (transient - 1), 5.0))
                continue
            if status >= 400:
                raise _api_error(status, raw)
            return _json_or_none(raw)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, body if body is not None else {}, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> Any:
        return self.request("PATCH", path, body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def list_all(self, path: str, *, params: dict[str, str] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a collection, following @odata.nextLink."""
        page = self.get(path, params=params)
        while True:
            yield from (page or {}).get("value", [])
            next_link = (page or {}).get("@odata.nextLink")
            if not next_link:
                return
            page = self.get(next_link)

    def get_or_none(self, path: str, **kwargs: Any) -> Any:
        """GET, with None for 404 (the object is gone: the caller drops it from state)."""
        try:
            return self.get(path, **kwargs)
        except GraphAPIError as exc:
            if exc.not_found:
                return None
            raise

    def retry_while(self, call: Callable[[], Any], retry_on: Callable[[GraphAPIError], bool]) -> Any:
        """Repeat `call` while it fails with an error `retry_on` accepts, up to the consistency timeout."""
        deadline = time.monotonic() + self.consistency_timeout
        delay = 0.05
        while True:
            try:
                return call()
            except GraphAPIError as exc:
                if not retry_on(exc) or time.monotonic() + delay > deadline:
                    raise
            self._sleep(delay)
            delay = min(delay * 2, 2.0)

    def get_after_create(self, path: str, **kwargs: Any) -> Any:
        """GET an object just created: 404 means 'not replicated yet' for a bounded time."""
        return self.retry_while(lambda: self.get(path, **kwargs), lambda exc: exc.not_found)

    def wait_for_sightings(self, seen: Callable[[], bool], times: int) -> bool:
        """StateChangeConf with ContinuousTargetOccurence `times`: poll `seen` every `poll_interval` until it
        answers True that many times in a row (a miss starts the count again); False at the timeout.
        An error from `seen` ends the wait at once, as the real Refresh function's error does."""
        deadline = time.monotonic() + self.consistency_timeout
        in_a_row = 0
        while time.monotonic() < deadline:
            in_a_row = in_a_row + 1 if seen() else 0
            if in_a_row >= times:
                return True
            self._sleep(self.poll_interval)
        return False

    # ------------------------------------------------------------------ transport

    def _connection(self, base: str) -> http.client.HTTPConnection:
        connections = self._local.__dict__.setdefault("connections", {})
        connection = connections.get(base)
        if connection is None:
            parsed = urlsplit(base)
            factory = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
            connection = factory(parsed.hostname, parsed.port, timeout=REQUEST_TIMEOUT)
            connections[base] = connection
        return connection

    def _send(self, base: str, method: str, target: str, data: bytes | None,
              headers: dict[str, str]) -> tuple[int, http.client.HTTPMessage, bytes]:
        prefix = urlsplit(base).path.rstrip("/")
        for attempt in (1, 2):
            connection = self._connection(base)
            try:
                connection.request(method, prefix + target, body=data, headers=headers)
                response = connection.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                return response.status, response.headers, raw
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                self._local.connections.pop(base, None)
                # A kept-alive connection the server closed meanwhile: reconnect once at once.
                if attempt == 1 and isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError):
                    continue
                raise GraphAPIError(f"sending request to {base}: {type(exc).__name__}: {exc}") from None
        raise AssertionError("unreachable")


def _retry_after(headers: http.client.HTTPMessage, attempt: int) -> float:
    value = headers.get("Retry-After")
    try:
        seconds = float(value) if value is not None else 2.0 ** attempt / 4
    except ValueError:
        seconds = 1.0
    return min(max(seconds, 0.0), MAX_THROTTLE_WAIT)


def _json_or_none(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            409: "Conflict", 412: "Precondition Failed", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def _api_error(status: int, raw: bytes) -> GraphAPIError:
    payload = _json_or_none(raw)
    error = payload.get("error") if isinstance(payload, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    reason = _REASONS.get(status, "")
    text = f"unexpected status {status} ({status} {reason})".replace(" )", ")")
    if code or message:
        text += f" with error: {code or 'UnknownError'}: {message or ''}".rstrip(": ")
    else:
        text += " with no error details"
    return GraphAPIError(text, status=status, code=code, graph_message=message)
