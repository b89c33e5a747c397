"""What the Sekoia.io emulator answers: a `Reply` (status, body, headers) and the API's error shapes.

Errors of existing routes are `{"message", "code"}`; a path or method that does not exist answers
FastAPI's `{"detail": ...}`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    waf: bool = False  # answered by the WAF itself: not counted among the errors it watches


RESET = Reply(0)  # marker: drop the connection instead of answering


def json_reply(status: int, payload: Any, **headers: str) -> Reply:
    return Reply(status, json.dumps(payload).encode(), headers=dict(headers))


def error_reply(status: int, message: str, code: str, **headers: str) -> Reply:
    return json_reply(status, {"message": message, "code": code}, **headers)


def detail_reply(status: int, detail: str, **headers: str) -> Reply:
    return json_reply(status, {"detail": detail}, **headers)


def retry_after_header(seconds: float) -> str:
    return str(max(0, math.ceil(seconds)))
