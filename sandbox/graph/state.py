"""The in-memory tenant of the Graph emulator: directory objects and the rules of Entra (shapes: entities.py).

Users and groups come from the fixture and are read-only through the API. Applications, service
principals, app role assignments, delegated permission grants, owners and password credentials are
created, changed and deleted through the API, with the checks Entra makes (a service principal needs
its application, an app role must exist, a duplicate assignment is refused, deleting an application
deletes its service principal and what hangs off it).

`reset()` brings the tenant back to its fixture quickly: the fixture's users and groups are copied
shallowly (their strings are shared), everything else is small.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import random
import re
import secrets
import string
import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox.graph.entities import (
    APP_ROLE_ASSIGNMENT,
    APPLICATION,
    APPLICATION_WRITABLE,
    DEFAULT_ACCESS_APP_ROLE_ID,
    GUID,
    MICROSOFT_GRAPH_APP_ID,
    OAUTH2_PERMISSION_GRANT,
    PASSWORD_CREDENTIAL,
    SERVICE_PRINCIPAL,
    SERVICE_PRINCIPAL_WRITABLE,
)
from sandbox.graph.licences import refuse_group_without_premium
from sandbox.graph.odata import GraphError, bad_request, not_found
from sandbox.graph.validation import check_application, check_body, merge_changes


def now_iso(moment: datetime | None = None) -> str:
    """As Graph writes a DateTimeOffset: UTC, 0-7 fractional digits (100 ns ticks), no trailing zero."""
    if moment is None:
        nanoseconds = time.time_ns()
        moment, ticks = datetime.fromtimestamp(nanoseconds // 10**9, UTC), nanoseconds % 10**9 // 100
    else:
        moment, ticks = moment.astimezone(UTC), moment.microsecond * 10
    fraction = f"{ticks:07d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def parse_datetime(value: Any, property_name: str) -> datetime:
    if not isinstance(value, str):
        raise bad_request(f"Invalid value specified for property '{property_name}'.")
    text = value.strip().replace("Z", "+00:00")
    # Graph writes seven fractional digits; fromisoformat takes at most six
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise bad_request(f"Invalid value specified for property '{property_name}'.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def new_secret_text() -> str:
    """A client secret shaped like Entra's: 40 characters, a `~` at index 5 (`xxx8Q~...`)."""
    alphabet = string.ascii_letters + string.digits + "_-.~"
    head = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(3))
    return head + secrets.choice(string.digits) + "Q~" + "".join(secrets.choice(alphabet) for _ in range(34))


class TenantState:
    """One tenant, seeded from a fixture dict (see sandbox/fixtures/tenant.json for the format)."""

    def __init__(self, fixture: Mapping[str, Any], *, seed: int = 0, principal_secret: str | None = None):
        self._fixture = fixture
        self.seed = seed
        tenant = fixture["tenant"]
        self.tenant_id: str = tenant["id"]
        self.tenant: Mapping[str, Any] = tenant
        self.principal: Mapping[str, Any] = fixture["terraformPrincipal"]
        self.principal_secret = principal_secret or new_secret_text()
        self.reset()

    # ------------------------------------------------------------------ reset and indexes

    def reset(self) -> None:
        fixture = self._fixture
        self._rng = random.Random(f"graph-ids:{self.seed}")
        self.users: list[dict] = [dict(user) for user in fixture.get("users", ())]
        self.users_by_id: dict[str, dict] = {}
        self.users_by_upn: dict[str, dict] = {}
        self.user_positions: dict[str, int] = {}
        self.upn_positions: dict[str, int] = {}
        for position, user in enumerate(self.users):
            self.users_by_id[user["id"]] = user
            self.user_positions[user["id"]] = position
            upn = (user.get("userPrincipalName") or "").casefold()
            self.users_by_upn[upn] = user
            self.upn_positions[upn] = position
        self.groups: list[dict] = []
        self.group_members: dict[str, list[str]] = {}
        for group in fixture.get("groups", ()):
            stored = {key: value for key, value in group.items() if key != "members"}
            self.groups.append(stored)
            self.group_members[stored["id"]] = list(group.get("members", ()))
        self.groups_by_id = {group["id"]: group for group in self.groups}
        self._transitive: dict[str, list[str]] = {}
        self.applications: dict[str, dict] = {a["id"]: copy.deepcopy(a) for a in fixture.get("applications", ())}
        self.service_principals: dict[str, dict] = {
            sp["id"]: copy.deepcopy(sp) for sp in fixture.get("servicePrincipals", ())}
        self.app_role_assignments: dict[str, dict] = {
            a["id"]: dict(a) for a in fixture.get("appRoleAssignments", ())}
        self.oauth2_permission_grants: dict[str, dict] = {
            g["id"]: dict(g) for g in fixture.get("oauth2PermissionGrants", ())}
        self.owners: dict[str, list[str]] = {key: list(value) for key, value in fixture.get("owners", {}).items()}
        # secretText of every password credential, by keyId: Entra keeps them (to check logins), the
        # API never shows them again after addPassword; tests read them here.
        self.password_secrets: dict[str, str] = {}
        # A new password logs in only once it has reached every replica: monotonic time, by keyId.
        self.secret_propagation_s = 0.0
        self.secret_propagation_jitter_s = 0.0  # each new password waits propagation + uniform(0, jitter)
        self._propagation_rng = random.Random(f"graph-secret-propagation:{self.seed}")
        self.secret_usable_at: dict[str, float] = {}
        self.visible_at: dict[str, float] = {}
        self.entra_id_premium = bool(self.tenant.get("entraIdPremium", True))  # P1/P2: groups assignable (licences.py)
        self.replication = Replication(self.seed)
        principal_app = self.application_by_app_id(self.principal["appId"])
        for credential in (principal_app or {}).get("passwordCredentials", ()):
            if credential["keyId"] == self.principal.get("passwordKeyId"):
                self.password_secrets[credential["keyId"]] = self.principal_secret

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _new_opaque_id(self) -> str:
        # appRoleAssignment and oauth2PermissionGrant ids are 43-character base64url strings
        raw = hashlib.sha256(self._rng.getrandbits(256).to_bytes(32, "big")).digest()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")[:43]

    # ------------------------------------------------------------------ replication delay

    def mark_created(self, object_id: str, replication_delay_s: float) -> None:
        lag = self.replication.lag_of_new_object(replication_delay_s)
        if lag > 0:
            self.visible_at[object_id] = time.monotonic() + lag

    def is_visible(self, object_id: str) -> bool:
        visible_at = self.visible_at.get(object_id)
        if visible_at is None:
            return True
        if time.monotonic() >= visible_at:
            del self.visible_at[object_id]
            return True
        return self.replication.seen_by_this_request()

    # ------------------------------------------------------------------ lookups

    def user(self, key: str) -> dict | None:
        return self.users_by_id.get(key) or self.users_by_upn.get(key.casefold())

    def application_by_app_id(self, app_id: str) -> dict | None:
        return next((a for a in self.applications.values() if a.get("appId", "").lower() == app_id.lower()),
                    None)

    def service_principal_by_app_id(self, app_id: str) -> dict | None:
        return next((sp for sp in self.service_principals.values()
                     if sp.get("appId", "").lower() == app_id.lower()), None)

    @property
    def graph_service_principal(self) -> dict | None:
        return self.service_principal_by_app_id(MICROSOFT_GRAPH_APP_ID)

    @property
    def principal_service_principal(self) -> dict | None:
        return self.service_principals.get(self.principal["servicePrincipalId"])

    def directory_object(self, object_id: str) -> tuple[str, dict] | None:
        """(type name, object) of any directory object by id."""
        for kind, table in (("user", self.users_by_id), ("group", self.groups_by_id),
                            ("servicePrincipal", self.service_principals),
                            ("application", self.applications)):
            found = table.get(object_id)
            if found is not None:
                return kind, found
        return None

    def transitive_members(self, group_id: str) -> list[str]:
        """Every member reached through nested groups, each once, nested groups included."""
        cached = self._transitive.get(group_id)
        if cached is not None:
            return cached
        seen: set[str] = set()
        ordered: list[str] = []
        stack = list(reversed(self.group_members.get(group_id, ())))
        while stack:
            member = stack.pop()
            if member in seen or member == group_id:
                continue
            seen.add(member)
            ordered.append(member)
            if member in self.group_members:
                stack.extend(reversed(self.group_members[member]))
        self._transitive[group_id] = ordered
        return ordered

    def roles_of(self, service_principal_id: str) -> set[str]:
        """Graph application permissions (app role values) granted to a service principal."""
        graph = self.graph_service_principal
        if graph is None:
            return set()
        values = {role["id"]: role["value"] for role in graph.get("appRoles", ())}
        return {values[a["appRoleId"]] for a in self.app_role_assignments.values()
                if a["principalId"] == service_principal_id and a["resourceId"] == graph["id"]
                and a["appRoleId"] in values}

    def _bind_owners(self, body: Mapping[str, Any]) -> list[str]:
        owners = []
        for reference in body.get("owners@odata.bind", ()) or ():
            owner_id = str(reference).rstrip("/").rsplit("/", 1)[-1]
            found = self.directory_object(owner_id)
            if found is None or found[0] not in ("user", "servicePrincipal"):
                raise not_found(owner_id)
            if owner_id not in owners:
                owners.append(owner_id)
        return owners

    # ------------------------------------------------------------------ applications

    def _application_defaults(self) -> dict:
        app = {name: copy.deepcopy(value) for name, value in APPLICATION.properties.items()}
        for name, value in app.items():
            if isinstance(value, tuple):
                app[name] = list(value)
            elif isinstance(value, dict):
                app[name] = {k: list(v) if isinstance(v, tuple) else v for k, v in value.items()}
        return app

    def create_application(self, body: Any, *, creator_id: str | None, creator_is_owner: bool,
                           replication_delay_s: float = 0) -> dict:
        changes = check_body(body, APPLICATION, APPLICATION_WRITABLE)
        owners = self._bind_owners(body)
        app = self._application_defaults()
        merge_changes(app, changes)
        app["id"] = self.new_id()
        app["appId"] = self.new_id()
        app["createdDateTime"] = now_iso()
        app["publisherDomain"] = self.tenant.get("initialDomain")
        app["passwordCredentials"] = []
        self._sync_redirect_settings(app)
        check_application(app)
        return self._register(self.applications, app, owners, creator_id if creator_is_owner else None,
                              replication_delay_s)

    def _register(self, table: dict[str, dict], created: dict, owners: list[str], creator_id: str | None,
                  replication_delay_s: float) -> dict:
        """A new application or service principal joins its table, with its owners (the creator among them
        when it is given: an OwnedBy caller owns what it creates)."""
        if creator_id and creator_id not in owners:
            owners.append(creator_id)
        table[created["id"]] = created
        self.owners[created["id"]] = owners
        self.mark_created(created["id"], replication_delay_s)
        return created

    @staticmethod
    def _sync_redirect_settings(app: dict) -> None:
        web = app.get("web")
        if isinstance(web, dict):
            web["redirectUriSettings"] = [{"uri": uri, "index": None} for uri in web.get("redirectUris") or ()]

    def update_application(self, app: dict, body: Any) -> None:
        changes = check_body(body, APPLICATION, APPLICATION_WRITABLE)
        candidate = copy.deepcopy(app)
        merge_changes(candidate, changes)
        self._sync_redirect_settings(candidate)
        check_application(candidate)
        app.clear()
        app.update(candidate)
        for sp in self.service_principals.values():
            if sp.get("appId") == app["appId"]:
                self._mirror_application(sp, app)

    def delete_application(self, app: dict) -> None:
        for sp in [sp for sp in self.service_principals.values() if sp.get("appId") == app["appId"]]:
            self.delete_service_principal(sp)
        for credential in app.get("passwordCredentials", ()):
            self.password_secrets.pop(credential["keyId"], None)
        del self.applications[app["id"]]
        self._forget(app["id"])

    def _forget(self, object_id: str) -> None:
        self.owners.pop(object_id, None)
        self.visible_at.pop(object_id, None)
        for owners in self.owners.values():
            if object_id in owners:
                owners.remove(object_id)

    # ------------------------------------------------------------------ password credentials

    def add_password(self, owner: dict, body: Any) -> dict:
        """addPassword on an application or a service principal: the only time secretText is shown."""
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
        requested = body.get("passwordCredential") or {}
        if not isinstance(requested, dict):
            raise bad_request("Invalid value specified for property 'passwordCredential'.")
        unknown = set(requested) - set(PASSWORD_CREDENTIAL.properties) - {"@odata.type"}
        if unknown:
            raise bad_request(f"Property '{sorted(unknown)[0]}' does not exist as a declared property or "
                              "extension property.")
        start_text = now_iso(parse_datetime(requested["startDateTime"], "startDateTime")
                             if requested.get("startDateTime") else None)  # now: in 100 ns ticks, as Graph
        start = parse_datetime(start_text, "startDateTime")
        end = (parse_datetime(requested["endDateTime"], "endDateTime")
               if requested.get("endDateTime") else start + timedelta(days=730))
        if end <= start:
            raise bad_request("Invalid value specified for property 'endDateTime'. It must be later than "
                              "'startDateTime'.", code="Request_BadRequest")
        secret_text = new_secret_text()
        credential = {
            "customKeyIdentifier": None,
            "displayName": requested.get("displayName"),
            "endDateTime": now_iso(end),
            "hint": secret_text[:3],
            "keyId": self.new_id(),
            "secretText": None,
            "startDateTime": start_text,
        }
        owner.setdefault("passwordCredentials", []).append(credential)
        self.password_secrets[credential["keyId"]] = secret_text
        delay = self.secret_propagation_s + (self._propagation_rng.uniform(0, self.secret_propagation_jitter_s)
                                             if self.secret_propagation_jitter_s > 0 else 0.0)
        if delay > 0:
            self.secret_usable_at[credential["keyId"]] = time.monotonic() + delay
        return dict(credential, secretText=secret_text)

    def usable_credentials(self, client_id: str, secret: str) -> list[dict]:
        """The password credentials of app `client_id` whose secret is `secret`, unexpired and propagated:
        what the token endpoint accepts (tests watch Sekoia.io's secret with it)."""
        app = self.application_by_app_id(client_id)
        sp = self.service_principal_by_app_id(client_id)
        if app is None:
            return []
        now, clock = datetime.now(UTC), time.monotonic()
        return [c for c in [*app.get("passwordCredentials", ()), *(sp or {}).get("passwordCredentials", ())]
                if self.password_secrets.get(c["keyId"]) == secret
                and parse_datetime(c["endDateTime"], "endDateTime") > now
                and self.secret_usable_at.get(c["keyId"], 0.0) <= clock]

    def remove_password(self, owner: dict, body: Any) -> None:
        key_id = body.get("keyId") if isinstance(body, dict) else None
        if not isinstance(key_id, str) or not GUID.match(key_id):
            raise bad_request("Invalid value specified for property 'keyId'.")
        credentials = owner.get("passwordCredentials", [])
        match = next((c for c in credentials if c["keyId"].lower() == key_id.lower()), None)
        if match is None:
            raise not_found(key_id)
        credentials.remove(match)
        self.password_secrets.pop(match["keyId"], None)

    # ------------------------------------------------------------------ service principals

    def _mirror_application(self, sp: dict, app: Mapping[str, Any]) -> None:
        web = app.get("web") or {}
        sp["appDisplayName"] = app.get("displayName")
        sp["appDescription"] = app.get("description")
        sp["appRoles"] = copy.deepcopy(list(app.get("appRoles") or ()))
        sp["oauth2PermissionScopes"] = copy.deepcopy(
            list((app.get("api") or {}).get("oauth2PermissionScopes") or ()))
        sp["replyUrls"] = (list(web.get("redirectUris") or ()) + list((app.get("spa") or {}).get(
            "redirectUris") or ()) + list((app.get("publicClient") or {}).get("redirectUris") or ()))
        sp["servicePrincipalNames"] = [app["appId"], *list(app.get("identifierUris") or ())]
        sp["signInAudience"] = app.get("signInAudience")
        sp["info"] = copy.deepcopy(app.get("info"))
        sp["homepage"] = web.get("homePageUrl")
        sp["logoutUrl"] = web.get("logoutUrl")

    def create_service_principal(self, body: Any, *, creator_id: str | None, creator_is_owner: bool,
                                 replication_delay_s: float = 0, check_visibility: bool = True) -> dict:
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
        app_id = body.get("appId")
        rest = {key: value for key, value in body.items() if key != "appId"}
        changes = check_body(rest, SERVICE_PRINCIPAL, SERVICE_PRINCIPAL_WRITABLE)
        owners = self._bind_owners(body)
        if not isinstance(app_id, str) or not GUID.match(app_id):
            raise bad_request("Invalid value specified for property 'appId' of resource 'ServicePrincipal'.")
        app = self.application_by_app_id(app_id)
        if app is None or (check_visibility and not self.is_visible(app["id"])):
            message = f"The appId '{app_id}' of the service principal does not reference a valid application object."
            raise GraphError(400, "Request_BadRequest", message, details=[
                {"code": "NoBackingApplicationObject", "message": message, "target": "appId"}])
        if self.service_principal_by_app_id(app_id) is not None:
            raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue",
                             "Another object with the same value for property servicePrincipalNames already "
                             "exists.")
        sp = {name: (list(value) if isinstance(value, tuple) else copy.deepcopy(value))
              for name, value in SERVICE_PRINCIPAL.properties.items()}
        sp.update(id=self.new_id(), appId=app["appId"], createdDateTime=now_iso(),
                  appOwnerOrganizationId=self.tenant_id, displayName=app.get("displayName"),
                  passwordCredentials=[])
        self._mirror_application(sp, app)
        merge_changes(sp, changes)
        return self._register(self.service_principals, sp, owners, creator_id if creator_is_owner else None,
                              replication_delay_s)

    def update_service_principal(self, sp: dict, body: Any) -> None:
        changes = check_body(body, SERVICE_PRINCIPAL, SERVICE_PRINCIPAL_WRITABLE)
        merge_changes(sp, changes)

    def delete_service_principal(self, sp: dict) -> None:
        for assignment_id in [a["id"] for a in self.app_role_assignments.values()
                              if sp["id"] in (a["principalId"], a["resourceId"])]:
            del self.app_role_assignments[assignment_id]
        for grant_id in [g["id"] for g in self.oauth2_permission_grants.values()
                         if sp["id"] in (g["clientId"], g["resourceId"])]:
            del self.oauth2_permission_grants[grant_id]
        for credential in sp.get("passwordCredentials", ()):
            self.password_secrets.pop(credential["keyId"], None)
        del self.service_principals[sp["id"]]
        self._forget(sp["id"])

    # ------------------------------------------------------------------ owners

    def add_owner(self, object_id: str, body: Any) -> None:
        reference = body.get("@odata.id") if isinstance(body, dict) else None
        if not isinstance(reference, str):
            raise bad_request("Invalid value specified for property '@odata.id'.")
        owner_id = reference.rstrip("/").rsplit("/", 1)[-1]
        found = self.directory_object(owner_id)
        if found is None or found[0] not in ("user", "servicePrincipal"):
            raise not_found(owner_id)
        owners = self.owners.setdefault(object_id, [])
        if owner_id in owners:
            raise bad_request("One or more added object references already exist for the following modified "
                              "properties: 'owners'.")
        owners.append(owner_id)

    def remove_owner(self, object_id: str, owner_id: str) -> None:
        owners = self.owners.setdefault(object_id, [])
        if owner_id not in owners:
            raise not_found(owner_id)
        owners.remove(owner_id)

    # ------------------------------------------------------------------ app role assignments

    def create_app_role_assignment(self, body: Any, *, resource_id: str | None = None,
                                   principal_id: str | None = None, replication_delay_s: float = 0) -> dict:
        """POST .../appRoleAssignedTo (resource_id from the path) or .../appRoleAssignments (principal_id)."""
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
        unknown = set(body) - set(APP_ROLE_ASSIGNMENT.properties) - {"@odata.type"}
        if unknown:
            raise bad_request(f"Property '{sorted(unknown)[0]}' does not exist as a declared property or "
                              "extension property.")
        for name in ("principalId", "resourceId", "appRoleId"):
            if not isinstance(body.get(name), str) or not GUID.match(body[name]):
                raise bad_request(f"Invalid value specified for property '{name}' of resource "
                                  "'AppRoleAssignment'.")
        if resource_id is not None and body["resourceId"].lower() != resource_id.lower():
            raise bad_request("The resourceId in the request body must match the service principal in the URL.")
        if principal_id is not None and body["principalId"].lower() != principal_id.lower():
            raise bad_request("The principalId in the request body must match the object in the URL.")
        resource = self.service_principals.get(body["resourceId"])
        if resource is None or not self.is_visible(resource["id"]):
            raise not_found(body["resourceId"])
        principal = self.directory_object(body["principalId"])
        if principal is None or principal[0] == "application" or not self.is_visible(body["principalId"]):
            raise not_found(body["principalId"])
        kind, principal_object = principal
        refuse_group_without_premium(kind, self.entra_id_premium)
        principal_type = {"user": "User", "group": "Group", "servicePrincipal": "ServicePrincipal"}[kind]
        app_role_id = body["appRoleId"].lower()
        if app_role_id != DEFAULT_ACCESS_APP_ROLE_ID:
            role = next((r for r in resource.get("appRoles", ()) if r["id"].lower() == app_role_id), None)
            member_type = "Application" if kind == "servicePrincipal" else "User"
            if (role is None or not role.get("isEnabled", True)
                    or member_type not in role.get("allowedMemberTypes", ())):
                raise bad_request(f"Permission being assigned was not found on application "
                                  f"'{resource.get('appId')}'.")
        if any(a["principalId"] == principal_object["id"] and a["resourceId"] == resource["id"]
               and a["appRoleId"].lower() == app_role_id for a in self.app_role_assignments.values()):
            raise bad_request("Permission being assigned already exists on the object.")
        assignment = {
            "id": self._new_opaque_id(), "deletedDateTime": None, "appRoleId": body["appRoleId"],
            "createdDateTime": now_iso(), "principalDisplayName": principal_object.get("displayName"),
            "principalId": principal_object["id"], "principalType": principal_type,
            "resourceDisplayName": resource.get("displayName"), "resourceId": resource["id"],
        }
        self.app_role_assignments[assignment["id"]] = assignment
        self.mark_created(assignment["id"], replication_delay_s)
        return assignment

    # ------------------------------------------------------------------ delegated permission grants

    def create_grant(self, body: Any, *, replication_delay_s: float = 0) -> dict:
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
        unknown = set(body) - set(OAUTH2_PERMISSION_GRANT.properties) - {"@odata.type", "id"}
        if unknown:
            raise bad_request(f"Property '{sorted(unknown)[0]}' does not exist as a declared property or "
                              "extension property.")
        consent_type = body.get("consentType")
        if consent_type not in ("AllPrincipals", "Principal"):
            raise bad_request("Invalid value specified for property 'consentType' of resource "
                              "'OAuth2PermissionGrant'.")
        for name in ("clientId", "resourceId"):
            if not isinstance(body.get(name), str) or not GUID.match(body[name]):
                raise bad_request(f"Invalid value specified for property '{name}' of resource "
                                  "'OAuth2PermissionGrant'.")
            found = self.service_principals.get(body[name])
            if found is None or not self.is_visible(found["id"]):
                raise not_found(body[name])
        principal_id = body.get("principalId")
        if consent_type == "Principal":
            if not isinstance(principal_id, str) or principal_id not in self.users_by_id:
                raise bad_request("Invalid value specified for property 'principalId' of resource "
                                  "'OAuth2PermissionGrant'.")
        elif principal_id is not None:
            raise bad_request("Invalid value specified for property 'principalId' of resource "
                              "'OAuth2PermissionGrant'.")
        scope = body.get("scope")
        if scope is not None and not isinstance(scope, str):
            raise bad_request("Invalid value specified for property 'scope' of resource 'OAuth2PermissionGrant'.")
        for existing in self.oauth2_permission_grants.values():
            if (existing["clientId"] == body["clientId"] and existing["resourceId"] == body["resourceId"]
                    and existing["consentType"] == consent_type and existing["principalId"] == principal_id):
                raise GraphError(409, "Request_MultipleObjectsWithSameKeyValue", "Permission entry already exists.")
        grant = {"clientId": body["clientId"], "consentType": consent_type, "id": self._new_opaque_id(),
                 "principalId": principal_id, "resourceId": body["resourceId"], "scope": scope or ""}
        self.oauth2_permission_grants[grant["id"]] = grant
        self.mark_created(grant["id"], replication_delay_s)
        return grant

    def update_grant(self, grant: dict, body: Any) -> None:
        if not isinstance(body, dict):
            raise bad_request("Empty Payload. JSON content expected.", code="BadRequest")
        for key in body:
            if key not in ("scope", "@odata.type"):
                if key in OAUTH2_PERMISSION_GRANT.properties:
                    raise bad_request(f"Property '{key}' is read-only and cannot be set.")
                raise bad_request(f"Property '{key}' does not exist as a declared property or extension "
                                  "property.")
        if "scope" in body:
            if not isinstance(body["scope"], str):
                raise bad_request("Invalid value specified for property 'scope' of resource "
                                  "'OAuth2PermissionGrant'.")
            grant["scope"] = body["scope"]

    # ------------------------------------------------------------------ organization

    def organization(self) -> dict:
        return {
            "id": self.tenant_id,
            "displayName": self.tenant.get("displayName"),
            "tenantType": "AAD",
            "countryLetterCode": self.tenant.get("countryLetterCode"),
            "createdDateTime": self.tenant.get("createdDateTime"),
            "verifiedDomains": [
                {"capabilities": "Email, OfficeCommunicationsOnlineService", "isDefault": d.get("isDefault", False),
                 "isInitial": d.get("isInitial", False), "name": d["id"], "type": "Managed"}
                for d in self.tenant.get("domains", ()) if d.get("isVerified")],
        }


class Replication:
    """How long a new object stays unseen, drawn per object from one seeded sequence (Faults'
    replication_* knobs): some objects do not lag at all, the others lag a share of the delay, and while
    one lags some requests already reach a replica that has it."""

    def __init__(self, seed: int):
        self._rng = random.Random(f"graph-replication:{seed}")
        self.lag_share = 1.0
        self.lag_jitter = 0.0
        self.seen_share = 0.0

    def configure(self, faults: Any) -> None:
        self.lag_share = faults.replication_lag_share
        self.lag_jitter = faults.replication_lag_jitter
        self.seen_share = faults.replication_seen_share

    def lag_of_new_object(self, delay_s: float) -> float:
        if delay_s <= 0:
            return 0.0
        if self.lag_share < 1 and self._rng.random() >= self.lag_share:
            return 0.0
        if self.lag_jitter > 0:
            return delay_s * (1 - self.lag_jitter * self._rng.random())
        return delay_s

    def seen_by_this_request(self) -> bool:
        return self.seen_share > 0 and self._rng.random() < self.seen_share
