"""Entra's checks of a write body: unknown or read-only properties, complex properties' keys, and the
rules an application must keep (display name, sign-in audience, redirect and identifier URIs, roles
and scopes), with the 400 messages Graph answers."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.graph.entities import COMPLEX_KEYS, GROUP_MEMBERSHIP_CLAIMS, GUID, SIGN_IN_AUDIENCES
from sandbox.graph.odata import EntityType, bad_request


def check_body(body: Any, entity: EntityType, writable: frozenset[str]) -> dict:
    if not isinstance(body, dict):
        raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
    cleaned = {}
    for key, value in body.items():
        if key == "@odata.type" or key.endswith("@odata.bind"):
            continue
        name = key if key in entity.properties else None
        if name is None:
            raise bad_request(f"Property '{key}' does not exist as a declared property or extension "
                              "property.")
        if name not in writable:
            raise bad_request(f"Property '{name}' is read-only and cannot be set.")
        if name in COMPLEX_KEYS and value is not None:
            if not isinstance(value, dict):
                raise bad_request(f"Invalid value specified for property '{name}' of resource "
                                  f"'{entity.resource_label}'.")
            for inner in value:
                if inner not in COMPLEX_KEYS[name] and inner != "@odata.type":
                    raise bad_request(f"Property '{inner}' does not exist as a declared property or "
                                      "extension property.")
        cleaned[name] = value
    return cleaned

# Entra's rules on redirect URIs (identity-platform reply-url.md, see sandbox/README.md): at most 256 of
# them (100 for audiences with personal accounts), each at most 256 characters; https, or http for the
# loopback host names; no IPv6 loopback; none of these characters; wildcards for work accounts only.
MAX_REDIRECT_URIS = 256
MAX_REDIRECT_URIS_PERSONAL = 100
MAX_REDIRECT_URI_LENGTH = 256
FORBIDDEN_REDIRECT_CHARACTERS = frozenset("!$'(),;")
WORK_ACCOUNT_AUDIENCES = frozenset({"AzureADMyOrg", "AzureADMultipleOrgs"})
MAX_DISPLAY_NAME_LENGTH = 120


def redirect_uri_problem(uri: str, *, public: bool = False, work_accounts_only: bool = True) -> str | None:
    """Why Entra refuses `uri` as a redirect URI, or None."""
    lowered = uri.lower()
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        return f"longer than {MAX_REDIRECT_URI_LENGTH} characters"
    bad = sorted(FORBIDDEN_REDIRECT_CHARACTERS & set(uri))
    if bad:
        return f"contains {' '.join(bad)}"
    if " " in uri:
        return "contains a space"
    if lowered.startswith(("http://[::1]", "https://[::1]")):
        return "IPv6 loopback"
    loopback = lowered.startswith(("http://localhost", "http://127.0.0.1"))
    if not (lowered.startswith("https://") or loopback or (public and "://" in lowered)):
        return "not https"
    if "*" in uri and not work_accounts_only:
        return "wildcard with personal accounts"
    return None


def _check_redirect_uris(uris: Any, property_name: str, *, public: bool, audience: Any) -> None:
    invalid = bad_request(f"Invalid value specified for property '{property_name}' of resource 'Application'.")
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise invalid
    work_only = audience in WORK_ACCOUNT_AUDIENCES
    if len(uris) > (MAX_REDIRECT_URIS if work_only else MAX_REDIRECT_URIS_PERSONAL):
        raise invalid
    if any(redirect_uri_problem(uri, public=public, work_accounts_only=work_only) for uri in uris):
        raise invalid

def check_application(app: dict) -> None:
    if not isinstance(app.get("displayName"), str) or not app["displayName"].strip():
        raise bad_request("Invalid value specified for property 'displayName' of resource 'Application'.")
    if len(app["displayName"]) > MAX_DISPLAY_NAME_LENGTH:
        raise bad_request("Invalid value specified for property 'displayName' of resource 'Application'.")
    audience = app.get("signInAudience")
    if app.get("signInAudience") not in SIGN_IN_AUDIENCES:
        raise bad_request("Invalid value specified for property 'signInAudience' of resource "
                          "'Application'.")
    web = app.get("web") or {}
    _check_redirect_uris(list(web.get("redirectUris", ())), "web.redirectUris", public=False, audience=audience)
    _check_redirect_uris(list((app.get("spa") or {}).get("redirectUris", ())), "spa.redirectUris",
                         public=False, audience=audience)
    _check_redirect_uris(list((app.get("publicClient") or {}).get("redirectUris", ())),
                              "publicClient.redirectUris", public=True, audience=audience)
    for uri in app.get("identifierUris", ()):
        if not isinstance(uri, str) or "://" not in uri:
            raise bad_request("Invalid value specified for property 'identifierUris' of resource "
                              "'Application'.")
    claims = app.get("groupMembershipClaims")
    if claims is not None and (not isinstance(claims, str) or not {
            part.strip().lower() for part in claims.split(",")} <= GROUP_MEMBERSHIP_CLAIMS):
        raise bad_request("Invalid value specified for property 'groupMembershipClaims' of resource "
                          "'Application'.")
    for access in app.get("requiredResourceAccess", ()):
        if not isinstance(access, dict) or not GUID.match(str(access.get("resourceAppId", ""))):
            raise bad_request("Invalid value specified for property 'requiredResourceAccess' of "
                              "resource 'Application'.")
        for item in access.get("resourceAccess", ()):
            if (not isinstance(item, dict) or item.get("type") not in ("Scope", "Role")
                    or not GUID.match(str(item.get("id", "")))):
                raise bad_request("Invalid value specified for property 'requiredResourceAccess' of "
                                  "resource 'Application'.")
    for collection, label in ((app.get("appRoles", ()), "appRoles"),
                              ((app.get("api") or {}).get("oauth2PermissionScopes", ()),
                               "api.oauth2PermissionScopes")):
        ids, values = set(), set()
        for item in collection:
            if not isinstance(item, dict) or not GUID.match(str(item.get("id", ""))):
                raise bad_request(f"Invalid value specified for property '{label}' of resource "
                                  "'Application'.")
            if item["id"].lower() in ids or (item.get("value") and item["value"] in values):
                raise bad_request(f"Invalid value specified for property '{label}' of resource "
                                  "'Application'.")
            ids.add(item["id"].lower())
            if item.get("value"):
                values.add(item["value"])
            if label == "appRoles" and not set(item.get("allowedMemberTypes") or ()) <= {"User",
                                                                                      "Application"}:
                raise bad_request("Invalid value specified for property 'appRoles' of resource "
                                  "'Application'.")

def merge_changes(target: dict, changes: dict) -> None:
    """PATCH semantics: complex properties merge key by key, everything else is replaced."""
    for name, value in changes.items():
        current = target.get(name)
        if name in COMPLEX_KEYS and isinstance(value, dict) and isinstance(current, dict):
            merged = dict(current)
            merged.update(copy.deepcopy(value))
            target[name] = merged
        else:
            target[name] = copy.deepcopy(value)
