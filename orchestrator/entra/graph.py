"""A small Microsoft Graph v1.0 client on httpx: one connection pool, typed errors, gentle retries.

    GraphClient.get(path)            one JSON object
    GraphClient.iter_pages(path)     the `value` of each page, following @odata.nextLink
    GraphClient.batch(requests)      JSON $batch, 20 requests per POST, each answer in input order

What it does for the caller:
- Explicit timeouts on every request and a bounded pool sized for the caller's concurrency.
- 429: waits what `Retry-After` says (also for each throttled request inside a $batch), else
  backs off exponentially; gives up after `max_throttle_retries`.
- 5xx, connection resets and read timeouts: bounded retries with jittered exponential backoff.
  Only reads are retried (GETs and $batch of GETs), so a retry never repeats a write; the one
  write, `action`, is for actions that are idempotent by nature (removePassword of one key ID).
- 401 with an expired token: one retry with a fresh token.
- Errors become `GraphError(status, code)` from Graph's `{"error": {"code", "message"}}`. The
  bearer token is sent only to the Graph origin (a nextLink elsewhere is refused) and never
  appears in a message.

URLs are written with the configured (public) Graph host and mapped by `resolve` at send time,
so the sandbox's loopback emulator serves them unchanged.
"""

from __future__ import annotations

import functools
import json
import queue
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from orchestrator.endpoints import endpoints_for, require_https
from orchestrator.entra.credentials import CloudHosts, TokenSource, graph_token_source
from orchestrator.entra.pages import decode_page, describe_body, json_or_none
from orchestrator.errors import GraphError, GraphNotFoundError
from orchestrator.retry_after import retry_after_seconds

if TYPE_CHECKING:  # config loads pydantic: only for the annotations
    from orchestrator.config.schema import Environment

API_VERSION = "v1.0"
BATCH_LIMIT = 20  # Graph's hard limit of requests in one JSON $batch
READ_AHEAD = 2  # pages a walk may fetch before its caller has taken them: memory stays a few pages per walk
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=60.0, write=30.0, pool=120.0)
# Graph query options keep their `$`, quotes and parentheses readable; everything else is escaped.
_QUERY_SAFE = "$,'()"
_RETRYABLE_TRANSPORT = (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError,
                        httpx.ReadTimeout, httpx.ConnectTimeout)
_PERMISSION_HINT = (" The identity needs the Microsoft Graph application permissions User.Read.All and "
                    "GroupMember.Read.All (or Group.Read.All), with admin consent.")


def encode_query(params: Mapping[str, str | int] | None) -> str:
    """A query string as Graph documents it (`$select=a,b&$filter=displayName eq 'x'`, escaped)."""
    if not params:
        return ""
    return "?" + urlencode({k: str(v) for k, v in params.items()}, quote_via=quote, safe=_QUERY_SAFE)


def odata_string(value: str) -> str:
    """A string literal for $filter: quoted, with embedded single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def path_segment(value: str) -> str:
    """One path segment (a UPN may hold '#', e.g. guests' `x_gmail.com#EXT#@tenant`)."""
    return quote(value, safe="@'()=,:")


@dataclass(frozen=True)
class BatchRequest:
    """One GET inside a $batch: a path relative to /v1.0, e.g. "/users/ivan@contoso.example?$select=id"."""

    url: str
    headers: Mapping[str, str] | None = None


@dataclass(frozen=True)
class BatchResponse:
    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def error(self, what: str) -> GraphError:
        return _error_from_body(self.status, self.body, what)

    def object(self, what: str) -> dict[str, Any]:
        """The body as a JSON object (an entity or a collection page); GraphError naming `what` otherwise."""
        if isinstance(self.body, dict) and isinstance(self.body.get("id", ""), str):
            return self.body
        kind = "an object whose id is not a string" if isinstance(self.body, dict) else _json_kind(self.body)
        raise GraphError(f"Microsoft Graph answered a $batch response to {what} with {kind}, not an object")

    def values(self, what: str) -> list[dict[str, Any]]:
        """The `value` of a collection page: a list of objects, each with a string id."""
        value = self.object(what).get("value")
        if not isinstance(value, list) or not all(isinstance(item, dict) and isinstance(item.get("id"), str)
                                                  for item in value):
            raise GraphError(f"Microsoft Graph answered a $batch response to {what} whose `value` items are not "
                             "objects with a string id")
        return value


@dataclass(frozen=True)
class _Retries:
    """How many times a read is sent again, and how long to wait between tries (GraphClient's arguments)."""

    max_retries: int             # after a 5xx, a reset or a read timeout
    max_throttle_retries: int    # after a 429
    backoff: float               # the first wait, doubled at each try, when the server gives no Retry-After
    max_backoff: float
    max_retry_after: float       # a longer Retry-After is an error ("try again later"), not a wait

    def delay(self, attempt: int) -> float:
        # Full jitter: concurrent workers that failed together do not come back together.
        return random.uniform(0, min(self.max_backoff, self.backoff * 2 ** attempt))


@dataclass
class GraphStats:
    """What the client sent, for reports and benchmarks."""

    requests: int = 0            # HTTP requests sent to Graph (a $batch counts once)
    batched_requests: int = 0    # requests carried inside $batch posts
    throttled: int = 0           # 429 answers, including those inside $batch
    retries: int = 0             # requests sent again after a 429, 5xx, reset or expired token


def _error_from_body(status: int, body: Any, what: str) -> GraphError:
    code, message = None, None
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        code = body["error"].get("code")
        message = body["error"].get("message")
    code = str(code) if code else f"HTTP{status}"
    message = str(message).strip() if message else "no error message"
    hint = _PERMISSION_HINT if status == 403 else ""
    kind = GraphNotFoundError if status == 404 else GraphError
    return kind(f"Microsoft Graph answered {status} {code} to {what}: {message}{hint}", status=status, code=code)


class GraphClient:
    """One long-lived client for one tenant's Graph; thread-safe, so a pool of workers can share it."""

    def __init__(
        self,
        *,
        graph_url: str,
        credential: TokenSource,
        http: httpx.Client,
        resolve: Callable[[str], str] = lambda url: url,
        max_retries: int = 5,
        max_throttle_retries: int = 12,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        max_retry_after: float = 300.0,
        page_workers: int = 16,
    ):
        self.graph_url = graph_url.rstrip("/")
        self.base_url = f"{self.graph_url}/{API_VERSION}"
        self._credential = credential
        self._http = http
        self._resolve = resolve
        self._retry = _Retries(max_retries, max_throttle_retries, backoff, max_backoff, max_retry_after)
        self._origins = {self._origin(self.graph_url), self._origin(resolve(self.graph_url))}
        self._stats_lock = threading.Lock()
        self.stats = GraphStats()
        # Page requests run here so that paging overlaps the caller's work (see iter_pages).
        self._page_workers = page_workers
        self._pager: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"<GraphClient {self.base_url} as {self._credential.description}>"

    def close(self) -> None:
        if self._pager is not None:
            self._pager.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> GraphClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------------------------------
    # Public calls

    def get(self, path: str, params: Mapping[str, str | int] | None = None, *,
            headers: Mapping[str, str] | None = None) -> Any:
        """GET /v1.0{path}{?params} and return the JSON object; GraphError on an error answer or anything else."""
        url = self.base_url + path + encode_query(params)
        body = self._send("GET", url, headers=headers)
        if not isinstance(body, dict):  # callers read fields with .get(): a list must stop here, named
            raise GraphError(f"Microsoft Graph answered {_json_kind(body)}, not an object, to GET {urlsplit(url).path}")
        return body

    def action(self, path: str, body: Mapping[str, Any]) -> None:
        """POST /v1.0{path} with a JSON body, for an action whose effect twice is its effect once (removePassword
        of one key ID): a 429, 5xx or reset is sent again as for a read. A repeat of an action the lost answer
        had done answers an error (no such key): the caller reads back to tell."""
        self._send_raw("POST", self.base_url + path, json_body=dict(body), headers={"Content-Type": "application/json"})

    def iter_pages(self, path: str, params: Mapping[str, str | int] | None = None, *,
                   headers: Mapping[str, str] | None = None, item_type: type | None = None) -> Iterator[list[Any]]:
        """Each page's `value` list, following @odata.nextLink to the end.

        `path` is relative to /v1.0, or an absolute nextLink met elsewhere (e.g. inside a $batch answer).
        Items are dicts, each checked to have a string id; with `item_type` (a msgspec Struct naming the
        selected properties) they are decoded straight into it, types checked on the way: no dict is
        built, which halves the CPU a page of 999 users costs.
        """
        what = self.page_request(path, params)
        for raw, link in self.iter_raw_pages(path, params, headers=headers):
            items, page_link = decode_page(raw, item_type, what)
            if page_link != link:
                raise GraphError(f"Microsoft Graph answered a page with two different nextLinks to {what}")
            yield items

    def iter_raw_pages(self, path: str, params: Mapping[str, str | int] | None = None, *,
                       headers: Mapping[str, str] | None = None) -> Iterator[tuple[bytes, str | None]]:
        """Each page as Graph sent it, with the nextLink read from its head: for a caller that decodes
        the pages elsewhere (pages.decode_page reads them, and says what is wrong with one).

        A fetcher thread walks the pages and asks for the next one as soon as it reads the link from
        the head of the current one (Graph writes it before `value`), at most `READ_AHEAD` pages ahead
        of the caller: the walk costs one round trip per page, and the caller's work on a page
        overlaps the wait for the next instead of adding to it.
        """
        url = self._first_page_url(path, params)
        pages: queue.Queue[tuple[bytes | None, str | None, BaseException | None]] = queue.Queue(maxsize=READ_AHEAD)
        stop = threading.Event()
        self._pager_pool().submit(self._fetch_pages, url, headers, pages, stop)
        try:
            while True:
                raw, link, error = pages.get()
                if error is not None:
                    raise error
                if raw is None:
                    return
                yield raw, link
        finally:
            stop.set()
            while not pages.empty():  # unblock a fetcher waiting to hand over a page nobody will read
                pages.get_nowait()

    def page_request(self, path: str, params: Mapping[str, str | int] | None = None) -> str:
        """How messages name the request for the pages at `path` ("GET /v1.0/groups/…/members")."""
        return f"GET {urlsplit(self._first_page_url(path, params)).path}"

    def _first_page_url(self, path: str, params: Mapping[str, str | int] | None) -> str:
        if path.startswith(("https://", "http://")):
            self._check_origin(path)
            return path
        return self.base_url + path + encode_query(params)

    def _fetch_pages(self, url: str | None, headers: Mapping[str, str] | None, pages: queue.Queue,
                     stop: threading.Event) -> None:
        try:
            while url is not None and not stop.is_set():
                raw = self._send_raw("GET", url, headers=headers)
                link = _peek_next_link(raw)
                if link is None and b'"@odata.nextLink"' in raw:
                    # Not before `value`: find it the slow way (a key in a value's text is escaped).
                    body = _json_or_none(raw)
                    link = body.get("@odata.nextLink") if isinstance(body, dict) else None
                if link is not None:
                    self._check_origin(link)
                while not stop.is_set():
                    try:
                        pages.put((raw, link, None), timeout=0.5)
                        break
                    except queue.Full:
                        continue
                url = link
            pages.put((None, None, None))
        except BaseException as error:  # handed to the caller, who raises it
            pages.put((None, None, error))

    def _pager_pool(self) -> ThreadPoolExecutor:
        with self._stats_lock:
            if self._pager is None:
                self._pager = ThreadPoolExecutor(max_workers=self._page_workers, thread_name_prefix="graph-page")
            return self._pager

    def batch(self, requests: Sequence[BatchRequest]) -> list[BatchResponse]:
        """The answers to `requests` (GETs), in order, sent as JSON $batch posts of at most 20.

        A request throttled or failing with 5xx inside a batch is sent again in a later batch (after
        the longest Retry-After among them); other error answers are returned for the caller to judge.
        """
        results: list[BatchResponse | None] = [None] * len(requests)
        for start in range(0, len(requests), BATCH_LIMIT):
            self._batch_chunk(requests[start:start + BATCH_LIMIT], results, start)
        return [r for r in results if r is not None]

    # ---------------------------------------------------------------------------------------------
    # Internals

    @staticmethod
    def _origin(url: str) -> str:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}".lower()

    def _check_origin(self, url: str) -> None:
        if self._origin(url) not in self._origins:
            # Never send the bearer token to a host that is not Graph, whatever a response says.
            raise GraphError(f"Microsoft Graph returned a nextLink to another host ({self._origin(url)}); refused")

    def _count(self, **increments: int) -> None:
        with self._stats_lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def _wait_throttled(self, retry_after: float | None, attempt: int, what: str) -> None:
        if retry_after is not None and retry_after > self._retry.max_retry_after:
            raise GraphError(f"Microsoft Graph throttled {what} and asks to wait {retry_after:.0f} s "
                             f"(more than {self._retry.max_retry_after:.0f} s); try again later", status=429,
                             code="TooManyRequests")
        time.sleep(retry_after if retry_after is not None else self._retry.delay(attempt))

    def _send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
              json_body: Any = None) -> Any:
        raw = self._send_raw(method, url, headers=headers, json_body=json_body)
        body = _json_or_none(raw)
        if body is None:
            raise GraphError(f"Microsoft Graph answered {describe_body(raw)} to {method} {urlsplit(url).path}")
        return body

    def _send_raw(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
                  json_body: Any = None) -> bytes:
        """The body of the first non-retryable answer; GraphError for an error answer or when retries run out."""
        public_path = urlsplit(url).path
        what = f"{method} {public_path}"
        target = require_https(self._resolve(url), what="Microsoft Graph")
        failures = throttles = 0
        refreshed = False
        while True:
            request_headers = {"Accept": "application/json",
                               "Authorization": f"Bearer {self._credential.token(force_refresh=False)}"}
            if headers:
                request_headers.update(headers)
            self._count(requests=1)
            try:
                response = self._http.request(method, target, headers=request_headers,
                                              content=None if json_body is None else json.dumps(json_body))
            except _RETRYABLE_TRANSPORT as exc:
                if failures >= self._retry.max_retries:
                    raise GraphError(f"Microsoft Graph did not answer {what} after {failures + 1} attempts "
                                     f"({type(exc).__name__})") from None
                time.sleep(self._retry.delay(failures))
                failures += 1
                self._count(retries=1)
                continue
            except httpx.HTTPError as exc:
                raise GraphError(f"cannot reach Microsoft Graph for {what} ({type(exc).__name__})") from None
            status = response.status_code
            if status == 429:
                self._count(throttled=1)
                if throttles >= self._retry.max_throttle_retries:
                    raise GraphError(f"Microsoft Graph kept throttling {what} ({throttles + 1} times 429)",
                                     status=429, code="TooManyRequests")
                self._wait_throttled(retry_after_seconds(response.headers), throttles, what)
                throttles += 1
                self._count(retries=1)
                continue
            if status >= 500:
                if failures >= self._retry.max_retries:
                    raise _error_from_body(status, _json_or_none(response), what)
                delay = retry_after_seconds(response.headers)
                time.sleep(min(delay, self._retry.max_backoff) if delay is not None else self._retry.delay(failures))
                failures += 1
                self._count(retries=1)
                continue
            if status == 401 and not refreshed:
                # Tokens live about an hour; a long check on a huge tenant may outlive one.
                self._credential.token(force_refresh=True)
                refreshed = True
                self._count(retries=1)
                continue
            if 300 <= status < 400:
                location = urlsplit(response.headers.get("Location", "")).netloc or "the same host"
                raise GraphError(f"Microsoft Graph answered a redirect ({status}) to {location} for {what}; not "
                                 "followed: the access token is only ever sent to Graph", status=status)
            if status >= 400:
                raise _error_from_body(status, _json_or_none(response), what)
            return response.content

    def _batch_chunk(self, chunk: Sequence[BatchRequest], results: list[BatchResponse | None], offset: int) -> None:
        pending = {str(index): request for index, request in enumerate(chunk)}
        throttled_rounds = failed_rounds = 0
        while pending:
            payload = {"requests": [
                {"id": key, "method": "GET", "url": request.url, **({"headers": dict(request.headers)}
                                                                   if request.headers else {})}
                for key, request in pending.items()
            ]}
            self._count(batched_requests=len(pending))
            body = self._send("POST", f"{self.base_url}/$batch", json_body=payload,
                              headers={"Content-Type": "application/json"})
            answers = body.get("responses") if isinstance(body, dict) else None
            if not isinstance(answers, list):
                raise GraphError("Microsoft Graph answered a $batch without a `responses` list")
            retry_after: float | None = None
            throttled = failed = False
            for answer in answers:
                if not isinstance(answer, dict):
                    raise GraphError("Microsoft Graph answered a $batch whose `responses` hold an item that is not "
                                     f"an object ({type(answer).__name__})")
                key = str(answer.get("id"))
                if key not in pending:
                    continue
                status = _batch_status(answer)
                answer_headers = answer.get("headers") or {}
                if status == 429:
                    throttled = True
                    self._count(throttled=1)
                    wait = retry_after_seconds(answer_headers)
                    if wait is not None:
                        retry_after = max(retry_after or 0.0, wait)
                    continue
                if status >= 500 and failed_rounds < self._retry.max_retries:
                    failed = True
                    continue
                results[offset + int(key)] = BatchResponse(status, answer.get("body"), answer_headers)
                del pending[key]
            if not pending:
                return
            if throttled:
                if throttled_rounds >= self._retry.max_throttle_retries:
                    raise GraphError(f"Microsoft Graph kept throttling requests in a $batch ({throttled_rounds + 1} "
                                     "times 429)", status=429, code="TooManyRequests")
                self._wait_throttled(retry_after, throttled_rounds, "requests in a $batch")
                throttled_rounds += 1
            elif failed:
                time.sleep(self._retry.delay(failed_rounds))
                failed_rounds += 1
            else:
                missing = ", ".join(pending[key].url for key in pending)
                raise GraphError(f"Microsoft Graph answered a $batch without answers for {missing}")
            self._count(retries=len(pending))


def _json_kind(value: Any) -> str:
    return {list: "a JSON list", str: "a JSON string", type(None): "no body", bool: "a JSON boolean"}.get(
        type(value), "a JSON number")


def _batch_status(answer: Mapping[str, Any]) -> int:
    raw = answer.get("status", 0)
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.isdigit():
        return int(raw)
    raise GraphError(f"Microsoft Graph answered a $batch response with status {raw!r}, not a number")


def _json_or_none(content: bytes | httpx.Response) -> Any:
    return json_or_none(content.content if isinstance(content, httpx.Response) else content)


# Graph writes "@odata.nextLink" before "value"; inside a string value its quotes would be escaped.
_NEXT_LINK = re.compile(rb'"@odata\.nextLink"\s*:\s*("(?:[^"\\]|\\.)*")')
_NEXT_LINK_HEAD = 8192


def _peek_next_link(raw: bytes) -> str | None:
    """The nextLink of a page read from its first bytes, without parsing the whole page."""
    head = raw[:_NEXT_LINK_HEAD]
    value_at = head.find(b'"value"')
    match = _NEXT_LINK.search(head, 0, value_at if value_at >= 0 else len(head))
    if match is None:
        return None
    try:
        link = json.loads(match.group(1))
    except ValueError:
        return None
    return link if isinstance(link, str) else None


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Loading the CA bundle costs tens of milliseconds of CPU: once per process, not once per client.
    return httpx.create_ssl_context()


def open_graph(env: Environment, project_dir: Path, *, environ: Mapping[str, str] | None = None, concurrency: int = 16,
               timeout: httpx.Timeout = DEFAULT_TIMEOUT, transport: httpx.BaseTransport | None = None,
               **client_options: Any) -> GraphClient:
    """A GraphClient for an environment: its cloud's hosts (or the sandbox's), credentials from ARM_*.

    One httpx client carries both the token requests and the Graph calls. `environ` defaults to
    the process environment merged with the sandbox's own credentials (`Endpoints.environ`).
    """
    endpoints = endpoints_for(env, project_dir)
    merged = endpoints.environ(environ)
    limits = httpx.Limits(max_connections=concurrency + 4, max_keepalive_connections=concurrency + 4)
    http = httpx.Client(timeout=timeout, limits=limits, transport=transport, follow_redirects=False,
                        verify=_tls_context(), headers={"User-Agent": "sekoia-sso"})
    try:
        hosts = CloudHosts(login_url=endpoints.login_url, graph_url=endpoints.graph_url, resolve=endpoints.resolve)
        credential = graph_token_source(merged, tenant_id=env.config.tenant_id, hosts=hosts, http=http)
    except BaseException:
        http.close()
        raise
    client_options.setdefault("page_workers", concurrency)
    return GraphClient(graph_url=endpoints.graph_url, credential=credential, http=http, resolve=endpoints.resolve,
                       **client_options)
