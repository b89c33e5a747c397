"""JSON `$batch` of the emulated Graph: the envelope's checks, then each sub-request as a Graph call of its own.

Each sub-request meets the queued faults, throttling and 5xx knobs on its own and is logged on its own;
the envelope itself is never throttled. A sub-request whose `dependsOn` failed answers 424.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from sandbox.graph.handlers import Answer, Caller
from sandbox.graph.odata import GraphError
from sandbox.graph.routes import BATCH_PATH, GRAPH_PREFIX, JSON_CONTENT_TYPE

if TYPE_CHECKING:
    from sandbox.graph.emulator import GraphEmulator

MAX_BATCH_REQUESTS = 20


def checked_requests(payload: Any) -> list[dict[str, Any]]:
    """The sub-requests of a $batch body, or the GraphError (400) Graph answers for the whole batch."""
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    requests = payload["requests"]
    if len(requests) > MAX_BATCH_REQUESTS:
        raise GraphError(400, "BadRequest", f"Invalid batch payload: the number of requests in the batch "
                                            f"({len(requests)}) exceeds the maximum of {MAX_BATCH_REQUESTS}.")
    seen: set[str] = set()
    for item in requests:
        if not isinstance(item, dict) or not all(isinstance(item.get(k), str) and item.get(k)
                                                 for k in ("id", "method", "url")):
            raise GraphError(400, "BadRequest", "Invalid batch payload format: every request needs an id, a "
                                                "method and a url.")
        if item["id"] in seen:
            raise GraphError(400, "BadRequest", f"Batch request id '{item['id']}' is not unique.")
        depends_on = item.get("dependsOn") or []
        if not isinstance(depends_on, list) or any(d not in seen for d in depends_on):
            raise GraphError(400, "BadRequest", f"Request '{item['id']}' depends on a request that is not "
                                                "earlier in the batch.")
        if item.get("body") is not None and not any(k.lower() == "content-type"
                                                    for k in (item.get("headers") or {})):
            raise GraphError(400, "BadRequest", f"Write request id : {item['id']} does not contain "
                                                "Content-Type header or body.")
        if item["url"].lower().startswith(("http://", "https://")):
            raise GraphError(400, "BadRequest", "Invalid request URI: batch requests take URLs relative to "
                                                "the version, e.g. /users.")
        seen.add(item["id"])
    return requests


def run_batch(emulator: GraphEmulator, payload: Any, caller: Caller, base_url: str) -> Answer:
    requests = checked_requests(payload)
    statuses: dict[str, int] = {}
    responses = []
    for item in requests:
        answer = _run_item(emulator, item, statuses, caller, base_url)
        statuses[item["id"]] = answer.status
        response: dict[str, Any] = {"id": item["id"], "status": answer.status,
                                    "headers": {"Content-Type": JSON_CONTENT_TYPE, **answer.headers}}
        if answer.body is not None:
            response["body"] = answer.body
        responses.append(response)
    return Answer(200, {"responses": responses})


def _run_item(emulator: GraphEmulator, item: Mapping[str, Any], statuses: Mapping[str, int], caller: Caller,
              base_url: str) -> Answer:
    method = item["method"].upper()
    relative = item["url"] if item["url"].startswith("/") else "/" + item["url"]
    parts = urlsplit(relative)
    path = GRAPH_PREFIX + parts.path
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if any(statuses.get(d, 200) >= 400 for d in item.get("dependsOn") or ()):
        answer = emulator._error_answer(GraphError(424, "FailedDependency",
                                                   "The dependent request failed, so this request was not run."))
        emulator._record(method, path, query, answer.status)
        return answer
    with emulator._lock:
        queued = emulator._take_queued(method, path)
    if queued is not None:
        answer = emulator._fault_answer(queued.status, retry_after=queued.retry_after, code=queued.code,
                                        message=queued.message)
    elif path == BATCH_PATH:
        answer = emulator._error_answer(GraphError(400, "BadRequest", "A batch cannot contain a batch."))
    else:
        headers = {str(k).lower(): str(v) for k, v in (item.get("headers") or {}).items()}
        answer = emulator._graph_call(method, path, query, headers, item.get("body"), caller, base_url)
    emulator._record(method, path, query, answer.status)
    return answer
