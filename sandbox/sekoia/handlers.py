"""One handler per route of `orchestrator.sekoia.routes.ROUTES`, over the emulator's state.

A handler is `handler(emulator, key, params, query, body) -> Reply`: the caller's API key (already
authorized for the route), the path's parameters, the parsed query string and the raw body. It runs
under the emulator's lock.

SSO: the secret is never answered; `provider_url` must be https, http being accepted for loopback hosts
only (`allow_loopback_http`), because in the sandbox the tenant endpoint is the Graph emulator on 127.0.0.1.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from orchestrator.endpoints import is_loopback
from orchestrator.sekoia.routes import ROUTES
from orchestrator.sekoia.settings import SSO_BODY_FIELDS, sso_body_problems
from sandbox.sekoia.replies import Reply, error_reply, json_reply
from sandbox.sekoia.state import ApiKey

if TYPE_CHECKING:
    from sandbox.sekoia.emulator import SekoiaEmulator

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")
_PAGE_LIMIT_MAX = 1000

Handler = Callable[["SekoiaEmulator", ApiKey, dict, dict, bytes], Reply]


def _page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> Reply:
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
        return error_reply(400, "limit and offset are integers", "VALIDATION_ERROR")
    if not 1 <= limit <= _PAGE_LIMIT_MAX or offset < 0:
        return error_reply(400, f"limit is 1 to {_PAGE_LIMIT_MAX}, offset 0 or more", "VALIDATION_ERROR")
    return json_reply(200, {"items": items[offset:offset + limit], "total": len(items)})


def _body(body: bytes, allowed: tuple[str, ...]) -> dict[str, Any] | Reply:
    try:
        payload = json.loads(body or b"null")
    except ValueError:
        return error_reply(400, "The body is not valid JSON", "VALIDATION_ERROR")
    if not isinstance(payload, dict):
        return error_reply(400, "The body must be a JSON object", "VALIDATION_ERROR")
    unknown = sorted(set(payload) - set(allowed))
    if unknown:
        return error_reply(400, f"Unknown field(s): {', '.join(unknown)}", "VALIDATION_ERROR")
    return payload


def _sso_not_configured() -> Reply:
    return error_reply(404, "SSO is not configured for this community", "NOT_FOUND")


# ---- communities and roles ------------------------------------------------------------------

def me(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    return json_reply(200, dict(key.user))


def my_communities(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    state = emulator.state
    return _page([state.community_view(state.communities[u]) for u in state.reachable(key)], query)


def community(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    state = emulator.state
    return json_reply(200, state.community_view(state.communities[params["community_uuid"]]))


def community_roles(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    items = [{"uuid": r.uuid, "name": r.name, "community_uuid": r.community_uuid,
              "permissions": list(r.permissions)}
             for r in emulator.state.roles.values() if r.community_uuid == params["community_uuid"]]
    return _page(items, query)


# ---- email domains --------------------------------------------------------------------------

def list_domains(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    return _page(emulator.domains(params["community_uuid"]), query)


def add_domain(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    payload = _body(body, ("name",))
    if isinstance(payload, Reply):
        return payload
    name = payload.get("name")
    if not isinstance(name, str) or not _DOMAIN.match(name.strip().lower()):
        return error_reply(400, "name must be a domain name such as example.com", "VALIDATION_ERROR")
    name = name.strip().lower()
    community_uuid = params["community_uuid"]
    state = emulator.state
    if any(d.name == name and d.community_uuid == community_uuid for d in state.domains.values()):
        return error_reply(409, f"Domain {name} already exists in this community", "CONFLICT")
    domain = state.create_domain(community_uuid, name, "pending", None)
    return json_reply(201, state.domain_view(domain, emulator.domain_verification_delay))


def remove_domain(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    domains = emulator.state.domains
    domain = domains.get(params["domain_uuid"])
    if domain is None or domain.community_uuid != params["community_uuid"]:
        return error_reply(404, f"Domain {params['domain_uuid']} not found", "NOT_FOUND")
    del domains[domain.uuid]
    return Reply(204)


# ---- SSO ------------------------------------------------------------------------------------

def read_sso(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    sso = emulator.state.sso.get(params["community_uuid"])
    if sso is None:
        return _sso_not_configured()
    return json_reply(200, emulator.state.sso_view(sso, emulator.app_url))


def write_sso(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    payload = _body(body, SSO_BODY_FIELDS)
    if isinstance(payload, Reply):
        return payload
    community_uuid = params["community_uuid"]
    problems = _sso_problems(emulator, payload, community_uuid)
    if problems:
        # never echo a value: the body holds the secret
        return error_reply(400, "Invalid SSO configuration: " + "; ".join(problems), "VALIDATION_ERROR")
    sso = emulator.state.push_sso(community_uuid, payload)
    return json_reply(200, emulator.state.sso_view(sso, emulator.app_url))


def _sso_problems(emulator: SekoiaEmulator, payload: dict[str, Any], community_uuid: str) -> list[str]:
    # The body's fields and their types, as the payload defines them (orchestrator/sekoia/settings.py);
    # what follows are the server's own rules on the values.
    problems = sso_body_problems(payload)
    if "provider_url" in payload and not _provider_url_ok(payload["provider_url"], emulator.allow_loopback_http):
        problems.append("provider_url must be an https URL such as https://login.microsoftonline.com/<tenant>/")
    client_id = payload.get("client_id")
    if "client_id" in payload and not (isinstance(client_id, str) and _GUID.match(client_id)):
        problems.append("client_id must be a GUID")
    role = payload.get("default_role_uuid")
    if role is None:
        if payload.get("jit_provisioning") is True:
            problems.append("default_role_uuid is required when jit_provisioning is true")
    elif role not in emulator.roles(community_uuid).values():
        problems.append("default_role_uuid must be the uuid of one of the community's roles")
    return problems


def _provider_url_ok(value: Any, allow_loopback_http: bool) -> bool:
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
    return parts.scheme == "http" and allow_loopback_http and is_loopback(value)


def disable_sso(emulator: SekoiaEmulator, key: ApiKey, params: dict, query: dict, body: bytes) -> Reply:
    community_uuid = params["community_uuid"]
    state = emulator.state
    if state.sso.pop(community_uuid, None) is None:
        return _sso_not_configured()
    state.secrets.pop(community_uuid, None)
    return Reply(204)


HANDLERS: dict[str, Handler] = {
    "me": me,
    "my_communities": my_communities,
    "community": community,
    "community_roles": community_roles,
    "list_domains": list_domains,
    "add_domain": add_domain,
    "remove_domain": remove_domain,
    "read_sso": read_sso,
    "write_sso": write_sso,
    "disable_sso": disable_sso,
}

if set(HANDLERS) != set(ROUTES):  # a route added to the table without a handler
    raise ImportError(f"Sekoia emulator handlers {sorted(HANDLERS)} != routes {sorted(ROUTES)}")
