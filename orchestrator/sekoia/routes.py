"""The Sekoia.io API routes this project calls, as data: the one table the client and the emulator share.

Read ../shared/reference/sekoia-api.md for the sources. Two kinds of route live here:

- confirmed: named by Sekoia.io's public documentation or OpenAPI file (key check, communities, roles);
- assumed: the domain and SSO routes, which no public source names. Their paths follow the REST
  style of the documented ones. When the real API answers 404 or 405 on one of them, the client
  stops that step and prints the manual steps of the UI instead of guessing another path.

Permissions: only `COMMUNITY_WRITE_ROLE` for configuring SSO is documented. `COMMUNITY_READ_ROLE`
("Read roles" in Sekoia's permission list) is the closest documented name for reading roles, and
is assumed for reading domains and the SSO configuration. Routes with no permission only need a
valid key whose community is the one asked for.

A route missing on the server answers like Sekoia's FastAPI services do for any unknown path:
404 `{"detail": "Not Found"}`, or 405 `{"detail": "Method Not Allowed"}` when the path exists
with other methods. Errors of a route that exists carry `{"message", "code"}` instead; that is
how a client tells "no SSO configured yet" (404 with a code) from "no such route" (404 detail).

Pure data: no HTTP code and no imports beyond the standard library, so the CLI stays fast.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

PERMISSION_READ = "COMMUNITY_READ_ROLE"
PERMISSION_WRITE = "COMMUNITY_WRITE_ROLE"

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class SekoiaRoute:
    name: str
    method: str
    path: str  # template relative to the region's API base, e.g. "/v1/communities/{community_uuid}"
    confirmed: bool  # True: named by public docs; False: the assumed contract
    permission: str | None  # permission the key must carry, None: any valid key that reaches the community
    success_status: int
    description: str

    @property
    def safe(self) -> bool:
        """A safe request may be retried after a 429 or 5xx; a write may not."""
        return self.method in SAFE_METHODS

    @property
    def params(self) -> tuple[str, ...]:
        return tuple(_PLACEHOLDER.findall(self.path))

    def format(self, **params: str) -> str:
        """The path with each placeholder filled in and percent-encoded."""
        wanted = set(self.params)
        if set(params) != wanted:
            missing = sorted(wanted - set(params))
            extra = sorted(set(params) - wanted)
            raise ValueError(f"route {self.name} takes {sorted(wanted)}; missing {missing}, unexpected {extra}")
        return _PLACEHOLDER.sub(lambda m: quote(str(params[m.group(1)]), safe=""), self.path)


ROUTES: dict[str, SekoiaRoute] = {
    r.name: r
    for r in (
        SekoiaRoute("me", "GET", "/v1/me", True, None, 200,
                    "the key's user: uuid, email, firstname, lastname; the key check"),
        SekoiaRoute("my_communities", "GET", "/v1/me/communities", True, None, 200,
                    "communities the key reaches: {total, items: [{uuid, name, subcommunities, ...}]}"),
        SekoiaRoute("community", "GET", "/v1/communities/{community_uuid}", True, None, 200,
                    "one community: uuid, name, is_parent, parent_community_uuid, subcommunities, disabled"),
        SekoiaRoute("community_roles", "GET", "/v1/communities/{community_uuid}/roles", True,
                    PERMISSION_READ, 200,
                    "the community's roles: {total, items: [{uuid, name, community_uuid, permissions}]}"),
        SekoiaRoute("list_domains", "GET", "/v1/communities/{community_uuid}/domains", False,
                    PERMISSION_READ, 200,
                    "email domains: {total, items: [{uuid, name, status, created_at, rejection_reason}]}"),
        SekoiaRoute("add_domain", "POST", "/v1/communities/{community_uuid}/domains", False,
                    PERMISSION_WRITE, 201,
                    "send a domain for verification: {name} -> item with status pending; 409 if present"),
        SekoiaRoute("remove_domain", "DELETE", "/v1/communities/{community_uuid}/domains/{domain_uuid}",
                    False, PERMISSION_WRITE, 204, "remove a domain from the community"),
        SekoiaRoute("read_sso", "GET", "/v1/communities/{community_uuid}/sso", False, PERMISSION_READ, 200,
                    "OIDC settings without the secret: enabled, provider_url, client_id, jit_provisioning, "
                    "default_role_uuid, login_url; 404 with a code when none"),
        SekoiaRoute("write_sso", "PUT", "/v1/communities/{community_uuid}/sso", False, PERMISSION_WRITE, 200,
                    "set all OIDC settings, client_secret included; answers as read_sso"),
        SekoiaRoute("disable_sso", "DELETE", "/v1/communities/{community_uuid}/sso", False,
                    PERMISSION_WRITE, 204, "remove the OIDC settings: users log in with passwords again"),
    )
}


def format_path(name: str, **params: str) -> str:
    """The path of route `name` with its placeholders filled in, e.g. format_path("community", community_uuid=u)."""
    try:
        route = ROUTES[name]
    except KeyError:
        raise KeyError(f"no Sekoia route named {name!r}; known: {', '.join(ROUTES)}") from None
    return route.format(**params)
