"""Paging of the emulated Graph's collections, all of it: `$top`, the opaque `$skiptoken`s and `@odata.nextLink`.

A page resumes its scan where the previous one stopped; a `$skiptoken` is only valid for the same
collection and filter (an HMAC binds it), anything else answers 400 Directory_ExpiredPageToken.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote, urlencode

from sandbox.graph.odata import GraphError, bad_request, unsupported_query

MAX_PAGE_SIZE = 999
DEFAULT_PAGE_SIZE = 100


def parse_top(raw: str | None) -> int:
    if raw is None:
        return DEFAULT_PAGE_SIZE
    try:
        top = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}' for query option '$top'.", code="BadRequest") from None
    if not 1 <= top <= MAX_PAGE_SIZE:
        raise unsupported_query(f"Invalid page size specified: '{raw}'. Must be between 1 and "
                                f"{MAX_PAGE_SIZE} inclusive.")
    return top


class PageTokens:
    """Opaque `$skiptoken`s: a position in the collection, bound to its path and filter by an HMAC."""

    def __init__(self, key: bytes):
        self._key = key

    def _mac(self, scope: str, position: int) -> str:
        return hmac.new(self._key, f"{scope}|{position}".encode(), hashlib.sha256).hexdigest()[:16]

    def encode(self, scope: str, position: int) -> str:
        raw = f"{position}:{self._mac(scope, position)}".encode()
        return "RFNwdA" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def decode(self, scope: str, token: str) -> int:
        try:
            if not token.startswith("RFNwdA"):
                raise ValueError
            body = token[len("RFNwdA"):]
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
            position_text, mac = raw.split(":", 1)
            position = int(position_text)
            if position < 0 or not hmac.compare_digest(mac, self._mac(scope, position)):
                raise ValueError
            return position
        except (ValueError, UnicodeDecodeError):
            raise GraphError(400, "Directory_ExpiredPageToken",
                             "The specified page token value has expired and can no longer be included "
                             "in your request.") from None


def take_page(items: Sequence[Any], start: int, top: int, keep: Callable[[Any], bool],
              candidates: Iterable[int] | None = None) -> tuple[list[Any], int | None]:
    """Up to `top` kept items from position `start`, and the position of the next kept one (or None).

    Positions index `items`, so a page resumes its scan where the previous one stopped: walking a
    100,000-user collection page by page costs one pass, not one pass per page.
    """
    positions = candidates if candidates is not None else range(start, len(items))
    page: list[Any] = []
    for position in positions:
        if position < start:
            continue
        item = items[position]
        if not keep(item):
            continue
        if len(page) == top:
            return page, position
        page.append(item)
    return page, None


def next_link(base_url: str, path: str, query: Mapping[str, str], skiptoken: str) -> str:
    params = {name: value for name, value in query.items() if name.lower() != "$skiptoken"}
    params["$skiptoken"] = skiptoken
    quoted_path = quote(path, safe="/@()=,:'$")
    return f"{base_url}/v1.0{quoted_path}?" + urlencode(params, quote_via=quote, safe="$,'()")


def page_of(tokens: PageTokens, items: Sequence[Any], keep: Callable[[Any], bool], *, path: str, base_url: str,
            query: Mapping[str, str], top: int, filter_text: str | None,
            candidates: Iterable[int] | None = None) -> tuple[list[Any], str | None]:
    """The page a request asks for (from its `$skiptoken`, else the start), and the nextLink to the next one."""
    path = unquote(path)  # one spelling for the token's scope and the nextLink, however the client quoted
    scope = f"{path.lower()}|{filter_text or ''}"
    start = tokens.decode(scope, query["$skiptoken"]) if "$skiptoken" in query else 0
    page, following = take_page(items, start, top, keep, candidates)
    if following is None:
        return page, None
    return page, next_link(base_url, path, query, tokens.encode(scope, following))
