"""The URL grammar of the emulated Graph v1.0: path segments (with `set(key='value')` alternate keys),
the route table (method, pattern, handler name, the app roles that open it) and route matching."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote

GRAPH_PREFIX = "/v1.0"
BATCH_PATH = "/v1.0/$batch"
JSON_CONTENT_TYPE = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;" \
                    "charset=utf-8"
_KEYED_SEGMENT = re.compile(r"^(?P<set>[A-Za-z0-9]+)\((?P<name>[A-Za-z]+)=(?:'(?P<quoted>[^']*)'|(?P<bare>[^)]*))\)$")

# Graph application permissions (app role values) that open each family of routes.
USER_READ = frozenset({"User.Read.All", "User.ReadWrite.All", "User.ReadBasic.All", "Directory.Read.All",
                       "Directory.ReadWrite.All"})
GROUP_READ = frozenset({"Group.Read.All", "Group.ReadWrite.All", "GroupMember.Read.All",
                        "GroupMember.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"})
APP_READ = frozenset({"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy",
                      "Directory.Read.All", "Directory.ReadWrite.All"})
APP_WRITE = frozenset({"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"})
ASSIGNMENT_WRITE = frozenset({"AppRoleAssignment.ReadWrite.All"})
GRANT_READ = frozenset({"Directory.Read.All", "Directory.ReadWrite.All", "DelegatedPermissionGrant.Read.All",
                        "DelegatedPermissionGrant.ReadWrite.All"})
# subscribedSkus: LicenseAssignment.Read.All is the least privileged (microsoft-graph-docs subscribedsku-list.md)
SKU_READ = frozenset({"LicenseAssignment.Read.All", "Organization.Read.All", "Organization.ReadWrite.All",
                      "Directory.Read.All", "Directory.ReadWrite.All"})
GRANT_WRITE = frozenset({"DelegatedPermissionGrant.ReadWrite.All", "Directory.ReadWrite.All"})


@dataclass(frozen=True)
class KeyRef:
    """An alternate key in the path, e.g. `applications(appId='...')`."""

    name: str
    value: str


def split_path(path: str) -> list[str | KeyRef]:
    segments: list[str | KeyRef] = []
    for raw in path.strip("/").split("/"):
        if not raw:
            continue
        segment = unquote(raw)
        keyed = _KEYED_SEGMENT.match(segment)
        if keyed:
            segments.append(keyed.group("set"))
            value = keyed.group("quoted") if keyed.group("quoted") is not None else keyed.group("bare")
            segments.append(KeyRef(keyed.group("name"), value))
        else:
            segments.append(segment)
    return segments


@dataclass(frozen=True)
class Route:
    method: str
    pattern: tuple[str, ...]
    handler: str
    roles: frozenset[str] | None     # None: any valid token


def _route(method: str, pattern: str, handler: str, roles: frozenset[str] | None) -> Route:
    return Route(method, tuple(pattern.split("/")), handler, roles)


ROUTES: tuple[Route, ...] = (
    _route("GET", "users", "list_users", USER_READ),
    _route("GET", "users/{user}", "get_user", USER_READ),
    _route("GET", "users/{user}/appRoleAssignments", "list_principal_assignments", USER_READ),
    _route("GET", "users/{user}/manager", "get_manager", USER_READ),
    _route("GET", "groups", "list_groups", GROUP_READ),
    _route("GET", "groups/{group}", "get_group", GROUP_READ),
    _route("GET", "groups/{group}/members", "list_members", GROUP_READ),
    _route("GET", "groups/{group}/members/{cast}", "list_members", GROUP_READ),
    _route("GET", "groups/{group}/transitiveMembers", "list_transitive_members", GROUP_READ),
    _route("GET", "groups/{group}/transitiveMembers/{cast}", "list_transitive_members", GROUP_READ),
    _route("GET", "groups/{group}/appRoleAssignments", "list_principal_assignments", GROUP_READ),
    _route("GET", "groups/{group}/owners", "list_owners", GROUP_READ),
    _route("GET", "applications", "list_applications", APP_READ),
    _route("POST", "applications", "create_application", APP_WRITE),
    _route("GET", "applications/{app}", "get_application", APP_READ),
    _route("PATCH", "applications/{app}", "update_application", APP_WRITE),
    _route("DELETE", "applications/{app}", "delete_application", APP_WRITE),
    _route("POST", "applications/{app}/addPassword", "add_password", APP_WRITE),
    _route("POST", "applications/{app}/removePassword", "remove_password", APP_WRITE),
    _route("GET", "applications/{app}/owners", "list_owners", APP_READ),
    _route("POST", "applications/{app}/owners/$ref", "add_owner", APP_WRITE),
    _route("DELETE", "applications/{app}/owners/{owner}/$ref", "remove_owner", APP_WRITE),
    _route("GET", "servicePrincipals", "list_service_principals", APP_READ),
    _route("POST", "servicePrincipals", "create_service_principal", APP_WRITE),
    _route("GET", "servicePrincipals/{sp}", "get_service_principal", APP_READ),
    _route("PATCH", "servicePrincipals/{sp}", "update_service_principal", APP_WRITE),
    _route("DELETE", "servicePrincipals/{sp}", "delete_service_principal", APP_WRITE),
    _route("POST", "servicePrincipals/{sp}/addPassword", "add_password", APP_WRITE),
    _route("POST", "servicePrincipals/{sp}/removePassword", "remove_password", APP_WRITE),
    _route("GET", "servicePrincipals/{sp}/owners", "list_owners", APP_READ),
    _route("POST", "servicePrincipals/{sp}/owners/$ref", "add_owner", APP_WRITE),
    _route("DELETE", "servicePrincipals/{sp}/owners/{owner}/$ref", "remove_owner", APP_WRITE),
    _route("GET", "servicePrincipals/{sp}/appRoleAssignedTo", "list_assigned_to", APP_READ),
    _route("POST", "servicePrincipals/{sp}/appRoleAssignedTo", "create_assigned_to", ASSIGNMENT_WRITE),
    _route("GET", "servicePrincipals/{sp}/appRoleAssignedTo/{assignment}", "get_assigned_to", APP_READ),
    _route("DELETE", "servicePrincipals/{sp}/appRoleAssignedTo/{assignment}", "delete_assigned_to",
           ASSIGNMENT_WRITE),
    _route("GET", "servicePrincipals/{sp}/appRoleAssignments", "list_principal_assignments", APP_READ),
    _route("POST", "servicePrincipals/{sp}/appRoleAssignments", "create_assignment_of", ASSIGNMENT_WRITE),
    _route("GET", "servicePrincipals/{sp}/appRoleAssignments/{assignment}", "get_assignment_of", APP_READ),
    _route("DELETE", "servicePrincipals/{sp}/appRoleAssignments/{assignment}", "delete_assignment_of",
           ASSIGNMENT_WRITE),
    _route("GET", "oauth2PermissionGrants", "list_grants", GRANT_READ),
    _route("POST", "oauth2PermissionGrants", "create_grant", GRANT_WRITE),
    _route("GET", "oauth2PermissionGrants/{grant}", "get_grant", GRANT_READ),
    _route("PATCH", "oauth2PermissionGrants/{grant}", "update_grant", GRANT_WRITE),
    _route("DELETE", "oauth2PermissionGrants/{grant}", "delete_grant", GRANT_WRITE),
    _route("GET", "organization", "list_organization", None),
    _route("GET", "domains", "list_domains", None),
    _route("GET", "subscribedSkus", "list_subscribed_skus", SKU_READ),
    _route("GET", "domains/{domain}", "get_domain", None),
    _route("GET", "directoryObjects/{object}", "get_directory_object", None),
)


def match_route(segments: Sequence[str | KeyRef]) -> tuple[list[Route], dict[str, str | KeyRef]]:
    """Routes whose pattern fits the segments (any method), with the placeholders they bind."""
    matches: list[Route] = []
    bound: dict[str, str | KeyRef] = {}
    for route in ROUTES:
        if len(route.pattern) != len(segments):
            continue
        params: dict[str, str | KeyRef] = {}
        for expected, actual in zip(route.pattern, segments, strict=True):
            if expected.startswith("{"):
                params[expected[1:-1]] = actual
            elif isinstance(actual, KeyRef) or expected.lower() != actual.lower():
                break
        else:
            matches.append(route)
            bound = params
    return matches, bound


def first_unknown_segment(segments: Sequence[str | KeyRef]) -> str:
    """The segment where the path leaves every route, as Graph names it in its 400."""
    for length in range(1, len(segments) + 1):
        prefix = segments[:length]
        if not any(len(route.pattern) >= length and all(
                expected.startswith("{") or (isinstance(actual, str) and expected.lower() == actual.lower())
                for expected, actual in zip(route.pattern, prefix, strict=False)) for route in ROUTES):
            last = prefix[-1]
            return last if isinstance(last, str) else f"{prefix[-2]}({last.name}='{last.value}')"
    return str(segments[-1])
