"""Graph's JSON answers read with msgspec: any body, and collection pages (`value` + `@odata.nextLink`).

Shared by the Graph client (graph.py) and the preflight's page checker, whose child process
imports this module: it loads msgspec and orchestrator.errors, nothing heavy (no httpx).
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from orchestrator.errors import GraphError

_ANY_JSON = msgspec.json.Decoder()
_Item = TypeVar("_Item")


def json_or_none(content: bytes) -> Any:
    """The JSON value of `content`; None for no body or one that is not JSON."""
    if not content:
        return None
    try:
        # msgspec: a 100,000-user check parses about 25 MB of pages, in a third of stdlib json's CPU time.
        return _ANY_JSON.decode(content)
    except msgspec.DecodeError:  # invalid JSON or UTF-8, integers past 64 bits
        return None


def describe_body(content: bytes) -> str:
    """What a body that is not JSON looks like, for messages (never the body itself: it may be huge)."""
    if not content:
        return "an empty body"
    if content.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
        return "an HTML page, not JSON (a proxy or gateway answered?)"
    return f"a body that is not JSON ({len(content):,} bytes, truncated?)"


class _Page(msgspec.Struct, Generic[_Item], gc=False):
    value: list[_Item]
    next_link: str | None = msgspec.field(default=None, name="@odata.nextLink")


_PAGE_DECODERS: dict[type, msgspec.json.Decoder] = {}


def decode_page(raw: bytes, item_type: type | None, what: str) -> tuple[list[Any], str | None]:
    """A collection page's items and nextLink; GraphError naming what is wrong with anything else.

    Items are dicts, each checked to have a string id; with `item_type` (a msgspec Struct naming the
    selected properties) they are decoded straight into it, types checked on the way."""
    if item_type is not None:
        # _Page is parametrised at run time with the caller's struct, a type no static checker can follow
        decoder = _PAGE_DECODERS.get(item_type) or _PAGE_DECODERS.setdefault(
            item_type, msgspec.json.Decoder(_Page[item_type]))  # type: ignore[valid-type]
        try:
            page = decoder.decode(raw)
        except msgspec.DecodeError as exc:
            detail = str(exc)  # msgspec names the place and the types, never a value
        else:
            return page.value, page.next_link
    body = json_or_none(raw)
    if not isinstance(body, dict) or not isinstance(body.get("value"), list):
        found = "a page without a `value` list" if body is not None else describe_body(raw)
        raise GraphError(f"Microsoft Graph answered {found} to {what}")
    # Graph's entities are objects with a string id; anything else would be a TypeError further on.
    if not all(isinstance(item, dict) and isinstance(item.get("id", ""), str) for item in body["value"]):
        raise GraphError(f"Microsoft Graph answered a page to {what} whose `value` items are not objects with a "
                         "string id")
    if item_type is not None:
        raise GraphError(f"Microsoft Graph answered a page to {what} that does not have the types Graph documents: "
                         f"{detail}")
    return body["value"], body.get("@odata.nextLink")
