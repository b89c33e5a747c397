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

def _check_redirect_uris(uris: Any, property_name: str, *, public: bool) -> None:
    if not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise bad_request(f"Invalid value specified for property '{property_name}' of resource "
                          "'Application'.")
    if len(uris) > 256:
        raise bad_request(f"Invalid value specified for property '{property_name}' of resource "
                          "'Application'.")
    for uri in uris:
        lowered = uri.lower()
        loopback = lowered.startswith(("http://localhost", "http://127.0.0.1", "http://[::1]"))
        allowed = lowered.startswith("https://") or loopback or (public and "://" in lowered)
        if not allowed or "*" in uri or len(uri) > 256 or " " in uri:
            raise bad_request(f"Invalid value specified for property '{property_name}' of resource "
                              "'Application'.")

def check_application(app: dict) -> None:
    if not isinstance(app.get("displayName"), str) or not app["displayName"].strip():
        raise bad_request("Invalid value specified for property 'displayName' of resource 'Application'.")
    if app.get("signInAudience") not in SIGN_IN_AUDIENCES:
        raise bad_request("Invalid value specified for property 'signInAudience' of resource "
                          "'Application'.")
    web = app.get("web") or {}
    _check_redirect_uris(list(web.get("redirectUris", ())), "web.redirectUris", public=False)
    _check_redirect_uris(list((app.get("spa") or {}).get("redirectUris", ())), "spa.redirectUris",
                              public=False)
    _check_redirect_uris(list((app.get("publicClient") or {}).get("redirectUris", ())),
                              "publicClient.redirectUris", public=True)
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
