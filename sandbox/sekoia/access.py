"""Who may call a Sekoia.io route: the API key (401s), its community's reach (404, or 403 by knob), the
permission (403).

A key reaches its own community and that community's sub-communities. Any other community answers
404, the same as an unknown one, unless `foreign_community_status` is 403 (see sandbox/sekoia/emulator.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from orchestrator.sekoia.routes import SekoiaRoute
from sandbox.sekoia.replies import Reply, error_reply
from sandbox.sekoia.state import ApiKey, SekoiaState


def authorize(state: SekoiaState, route: SekoiaRoute, params: Mapping[str, str], headers: Mapping[str, str], *,
              foreign_community_status: int) -> Reply | ApiKey:
    """The caller's API key, or the reply refusing the call."""
    key = _api_key(state, headers)
    if isinstance(key, Reply):
        return key
    community_uuid = params.get("community_uuid")
    if community_uuid is not None:
        community = state.communities.get(community_uuid)
        if community is None:
            return error_reply(404, f"Community {community_uuid} not found", "NOT_FOUND")
        if community_uuid not in state.reachable(key):
            if foreign_community_status == 403:
                return error_reply(403, f"This API key cannot access community {community_uuid}", "FORBIDDEN")
            return error_reply(404, f"Community {community_uuid} not found", "NOT_FOUND")
    if route.permission is not None and route.permission not in key.permissions:
        return error_reply(403, f"Missing permission {route.permission}", "FORBIDDEN")
    return key


def _api_key(state: SekoiaState, headers: Mapping[str, str]) -> Reply | ApiKey:
    challenge = {"WWW-Authenticate": "Bearer"}
    header = headers.get("Authorization")
    if not header:
        return error_reply(401, "Missing API key: send 'Authorization: Bearer <API key>'", "UNAUTHORIZED",
                           **challenge)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return error_reply(401, "Authorization must be 'Bearer <API key>'", "UNAUTHORIZED", **challenge)
    key = state.keys.get(token)
    if key is None:
        return error_reply(401, "Invalid API key", "UNAUTHORIZED", **challenge)
    if key.expired:
        return error_reply(401, "API key expired", "UNAUTHORIZED", **challenge)
    return key
