"""The resource types, over Microsoft Graph v1.0, mapped the way azuread v3.7.0 maps them.

Each type follows the Go source of the real provider (internal/services/**): the same request
bodies (expand*), the same state built from Graph's answers (flatten*, zero values included), the
same IDs, the same replication waits and the same error summaries. Deliberate differences:
- owners are added with `POST .../owners/$ref` after the create instead of `owners@odata.bind`
  with the caller added then removed: same end state, fewer moving parts for the emulator;
- `oauth2_post_response_required` lives on the beta API only: it is kept as configured;
- the wait for a new password to show in the application polls until it appears once (the real
  provider waits for 5 consecutive sightings, 1 s apart).
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any, ClassVar

from tf.schema import Schema
from tf.types import Unknown
from tf.utils import Diagnostics

from sandbox.provider.errors import ProviderError
from sandbox.provider.graph_client import GraphAPIError, GraphClient
from sandbox.provider.planning import same_value
from sandbox.provider.schema import TypeSpec, resource_spec
from sandbox.provider.validate import parse_rfc3339, validate_config

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"


class GraphType:
    """What resource and data source types share: a name, a schema from the azuread 3.7.0 data, config
    validation against it, and the provider's Graph client."""

    type_name: ClassVar[str]
    config_label: ClassVar[str] = ""  # how validation messages name the block ("data.x" for a data source)

    def __init__(self, provider: Any):
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return cls.type_name

    @classmethod
    def spec(cls) -> TypeSpec:
        raise NotImplementedError

    @classmethod
    def get_schema(cls) -> Schema:
        return cls.spec().to_tf_schema()

    @property
    def client(self) -> GraphClient:
        return self.provider.client

    def validate(self, diags: Diagnostics, type_name: str, config: dict[str, Any]) -> None:
        validate_config(diags, self.spec(), config, f"{self.config_label}{self.type_name}")


class GraphResource(GraphType):
    """Base of the resource types: `tf`'s Resource protocol plus the hooks the servicer calls."""

    importable: ClassVar[bool] = True

    def __init__(self, provider: Any):
        super().__init__(provider)
        # Set once the object exists in Graph, so a failure later in create still records it.
        self.created_state: dict[str, Any] | None = None

    @classmethod
    def spec(cls) -> TypeSpec:
        return resource_spec(cls.type_name)

    def customize_plan(self, diags: Diagnostics, prior: dict[str, Any] | None,
                       planned: dict[str, Any]) -> dict[str, Any]:
        return planned

    def import_(self, ctx: Any, resource_id: str) -> dict[str, Any] | None:
        # SDKv2's ImporterValidatingResourceId: check the ID's shape, then Terraform reads the object.
        self.parse_id(resource_id)
        return {"id": resource_id}

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        raise NotImplementedError

    def upgrade(self, ctx: Any, version: int, old: dict[str, Any]) -> dict[str, Any]:
        return old


# ------------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------------


def _fail(summary: str, exc: GraphAPIError, attribute: str | None = None) -> ProviderError:
    return ProviderError(summary, str(exc), attribute=attribute)


def _known(value: Any, default: Any = None) -> Any:
    return default if value is None or value is Unknown else value


def _strings(value: Any) -> list[str]:
    return [v for v in _known(value, []) if v is not None and v is not Unknown]


def _none_if_empty(value: Any) -> Any:
    value = _known(value)
    return value if value not in ("", None) else None


def _parse_guid_path(resource_id: str, pattern: str, what: str, example: str) -> tuple[str, ...]:
    match = re.fullmatch(pattern, resource_id or "")
    if match is None:
        raise ProviderError(
            f"parsing {resource_id!r}: parsing the {what}: the number of segments didn't match".replace("'", '"'),
            f"Expected a {what} that matched:\n\n> {example}\n\nHowever this value was provided:\n\n> {resource_id}",
            attribute="id",
        )
    return match.groups()


def directory_object_ref(client: GraphClient, object_id: str) -> dict[str, str]:
    return {"@odata.id": f"{client.graph_url}/v1.0/directoryObjects/{object_id}"}


def owner_ids(client: GraphClient, path: str) -> list[str]:
    return [o["id"] for o in client.list_all(f"{path}/owners") if o.get("id")]


def reconcile_owners(client: GraphClient, path: str, desired: list[str], what: str) -> None:
    existing = owner_ids(client, path)
    wanted = {o.lower() for o in desired}
    have = {o.lower() for o in existing}
    for owner in desired:
        if owner.lower() not in have:
            try:
                client.retry_while(lambda o=owner: client.post(f"{path}/owners/$ref", directory_object_ref(client, o)),
                                   lambda exc: exc.not_found)
            except GraphAPIError as exc:
                raise _fail(f"Could not add owners to {what}", exc) from None
    for owner in existing:
        if owner.lower() not in wanted:
            try:
                client.delete(f"{path}/owners/{owner}/$ref")
            except GraphAPIError as exc:
                if not exc.not_found:
                    raise _fail(f"Could not remove owners from {what}", exc) from None


def wait_for_deletion(client: GraphClient, path: str, what: str) -> None:
    """consistency.WaitForDeletion: the object must stop answering before the delete is done."""

    class _StillThere(GraphAPIError):
        pass

    def check() -> None:
        if client.get_or_none(path) is not None:
            raise _StillThere("still readable", status=200)

    try:
        client.retry_while(check, lambda exc: isinstance(exc, _StillThere))
    except GraphAPIError as exc:
        raise _fail(f"Waiting for deletion of {what}", exc) from None


def keep_same_instant(previous: Any, returned: str) -> str:
    """Graph's timestamp, or the configured spelling of the same instant (2026-01-01T00:00:00Z vs ...Z.000)."""
    if isinstance(previous, str) and previous and returned:
        a, b = parse_rfc3339(previous), parse_rfc3339(_trim_fraction(returned))
        if a is not None and b is not None and a == b:
            return previous
    return returned


def _trim_fraction(value: str) -> str:
    return re.sub(r"(\.\d{6})\d+", r"\1", value)


def flatten_app_roles(roles: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "id": r.get("id") or "",
            "allowed_member_types": list(r.get("allowedMemberTypes") or []),
            "description": r.get("description") or "",
            "display_name": r.get("displayName") or "",
            "enabled": bool(r.get("isEnabled")),
            "value": r.get("value") or "",
        }
        for r in roles or []
    ]


def flatten_scopes(scopes: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "admin_consent_description": s.get("adminConsentDescription") or "",
            "admin_consent_display_name": s.get("adminConsentDisplayName") or "",
            "id": s.get("id") or "",
            "enabled": bool(s.get("isEnabled")),
            "type": s.get("type") or "",
            "user_consent_description": s.get("userConsentDescription") or "",
            "user_consent_display_name": s.get("userConsentDisplayName") or "",
            "value": s.get("value") or "",
        }
        for s in scopes or []
    ]


def ids_by_value(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {i["value"]: i["id"] for i in items or [] if i.get("value") and i.get("id")}


_FEATURE_TAGS = {
    "custom_single_sign_on": "WindowsAzureActiveDirectoryCustomSingleSignOnApplication",
    "enterprise": "WindowsAzureActiveDirectoryIntegratedApp",
    "gallery": "WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1",
    "hide": "HideApp",
}
_DEPRECATED_FEATURES = {
    "custom_single_sign_on_app": "custom_single_sign_on",
    "enterprise_application": "enterprise",
    "gallery_application": "gallery",
}


def flatten_features(tags: list[str] | None, deprecated: bool = False) -> list[dict[str, bool]]:
    lowered = {t.lower() for t in tags or []}
    current = {name: tag.lower() in lowered for name, tag in _FEATURE_TAGS.items()}
    if not deprecated:
        return [current]
    return [{
        "custom_single_sign_on_app": current["custom_single_sign_on"],
        "enterprise_application": current["enterprise"],
        "gallery_application": current["gallery"],
        "visible_to_users": not current["hide"],
    }]


def expand_features(blocks: Any) -> list[str]:
    if not blocks or blocks is Unknown or not isinstance(blocks[0], dict):
        return []
    features = blocks[0]
    tags = []
    for name, tag in _FEATURE_TAGS.items():
        legacy = next((old for old, new in _DEPRECATED_FEATURES.items() if new == name), None)
        if features.get(name) is True or (legacy and features.get(legacy) is True):
            tags.append(tag)
    if "hide" not in features and features.get("visible_to_users") is False and "HideApp" not in tags:
        tags.append("HideApp")
    return tags


def _features_set(blocks: Any) -> bool:
    return bool(blocks) and blocks is not Unknown and any(
        v is True or (k == "visible_to_users" and v is False) for b in blocks if isinstance(b, dict)
        for k, v in b.items()
    )


def password_credential(display_name: Any, start_date: Any, end_date: Any) -> dict[str, Any]:
    """credentials.PasswordCredential: display name and RFC 3339 dates. (end_date_relative is accepted
    by the schema and, as in the real v3.7.0 code, never reaches the request.)"""
    credential: dict[str, Any] = {}
    if _known(display_name) is not None:
        credential["displayName"] = display_name
    for key, value in (("startDateTime", start_date), ("endDateTime", end_date)):
        value = _known(value)
        if value:
            parsed = parse_rfc3339(value)
            if parsed is None:
                attribute = "start_date" if key == "startDateTime" else "end_date"
                raise ProviderError(f"Unable to parse the provided {attribute.replace('_', ' ')} {value!r}",
                                    attribute=attribute)
            credential[key] = parsed.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return credential


# ------------------------------------------------------------------------------------------------
# azuread_application
# ------------------------------------------------------------------------------------------------


class Application(GraphResource):
    type_name = "azuread_application"

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        return _parse_guid_path(resource_id, rf"/applications/({_GUID})", "Application ID",
                                "/applications/applicationId")

    def customize_plan(self, diags: Diagnostics, prior: dict[str, Any] | None,
                       planned: dict[str, Any]) -> dict[str, Any]:
        name = planned.get("display_name")
        if planned.get("prevent_duplicate_names") is True and isinstance(name, str) and name and (
                prior is None or prior.get("display_name") != name):
            own_id = prior.get("object_id") if prior else None
            for existing in self._find_by_name(name):
                if existing.get("id") != own_id:
                    raise ProviderError(
                        f"existing Application with object ID {existing.get('id')!r} was found with the same name "
                        f"{name!r}. To be managed via Terraform, this resource needs to be imported into the State.",
                        attribute="display_name",
                    )
        if prior is not None:
            if not same_value(prior.get("app_role"), planned.get("app_role")):
                planned["app_role_ids"] = Unknown
            prior_scopes = (prior.get("api") or [{}])[0].get("oauth2_permission_scope") if prior.get("api") else []
            planned_api = planned.get("api")
            planned_scopes = (planned_api[0].get("oauth2_permission_scope")
                              if isinstance(planned_api, list) and planned_api else [])
            if not same_value(prior_scopes, planned_scopes):
                planned["oauth2_permission_scope_ids"] = Unknown
            if prior.get("logo_image") != planned.get("logo_image"):
                planned["logo_url"] = Unknown
        return planned

    def _find_by_name(self, name: str) -> list[dict[str, Any]]:
        escaped = name.replace("'", "''")
        try:
            return list(self.client.list_all("/applications", params={"$filter": f"displayName eq '{escaped}'"}))
        except GraphAPIError as exc:
            raise ProviderError(f"could not check for existing application(s): {exc}") from None

    # ---------------------------------------------------------------- CRUD

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        try:
            app = client.post("/applications", self._expand(planned, prior=None))
        except GraphAPIError as exc:
            raise _fail("Could not create application", exc) from None
        object_id = app.get("id")
        if not object_id:
            raise ProviderError("Bad API response", "Object ID returned for application is nil/empty")
        path = f"/applications/{object_id}"
        self.created_state = {"id": path, "object_id": object_id, "client_id": app.get("appId") or ""}
        try:
            client.get_after_create(path)
        except GraphAPIError as exc:
            if exc.not_found:
                raise _fail("Timed out whilst waiting for new application to be replicated in Azure AD", exc) from None
            raise _fail(f"Failed to patch application with object ID {object_id!r} after creating", exc) from None
        reconcile_owners(client, path, _strings(planned.get("owners")), f"application with object ID {object_id!r}")
        state = dict(planned, id=path)
        state["password"] = self._sync_password_block(object_id, None, planned.get("password"))
        return self._read(object_id, state)

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        (object_id,) = self.parse_id(current.get("id") or "")
        return self._read(object_id, current)

    def update(self, ctx: Any, current: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        (object_id,) = self.parse_id(current["id"])
        path = f"/applications/{object_id}"
        body = self._expand(planned, prior=current)
        try:
            existing = client.get(path)
            self._disable_removed(path, existing, body)
            client.patch(path, body)
        except GraphAPIError as exc:
            raise _fail(f"Could not update application with object ID: {object_id!r}", exc) from None
        if not same_value(current.get("owners"), planned.get("owners")):
            reconcile_owners(client, path, _strings(planned.get("owners")),
                             f"application with object ID {object_id!r}")
        state = dict(planned)
        state["password"] = self._sync_password_block(object_id, current.get("password"), planned.get("password"))
        return self._read(object_id, state)

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        (object_id,) = self.parse_id(current["id"])
        path = f"/applications/{object_id}"
        try:
            self.client.delete(path)
        except GraphAPIError as exc:
            if exc.not_found:
                return
            raise _fail(f"deleting Application (Application: {object_id!r})", exc, "id") from None
        wait_for_deletion(self.client, path, f"application with object ID {object_id!r}")

    # ---------------------------------------------------------------- mapping

    def _expand(self, planned: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any]:
        api = (_known(planned.get("api"), []) or [None])[0] or {}
        web = (_known(planned.get("web"), []) or [None])[0] or {}
        implicit = (_known(web.get("implicit_grant"), []) or [None])[0] or {}
        claims = (_known(planned.get("optional_claims"), []) or [None])[0] or {}
        public_client = (_known(planned.get("public_client"), []) or [None])[0] or {}
        spa = (_known(planned.get("single_page_application"), []) or [None])[0] or {}

        feature_tags = planned.get("feature_tags")
        if prior is None:
            use_features = _features_set(feature_tags)
        else:
            use_features = _features_set(feature_tags) and not same_value(prior.get("feature_tags"), feature_tags)
        tags = expand_features(feature_tags) if use_features else _strings(planned.get("tags"))

        return {
            "api": {
                "acceptMappedClaims": bool(_known(api.get("mapped_claims_enabled"), False)),
                "knownClientApplications": _strings(api.get("known_client_applications")),
                "oauth2PermissionScopes": [
                    {
                        "adminConsentDescription": _known(s.get("admin_consent_description"), ""),
                        "adminConsentDisplayName": _known(s.get("admin_consent_display_name"), ""),
                        "id": s.get("id"),
                        "isEnabled": bool(_known(s.get("enabled"), True)),
                        "type": _known(s.get("type"), "User"),
                        "userConsentDescription": _known(s.get("user_consent_description"), ""),
                        "userConsentDisplayName": _known(s.get("user_consent_display_name"), ""),
                        "value": _known(s.get("value"), ""),
                    }
                    for s in _known(api.get("oauth2_permission_scope"), [])
                ],
                "requestedAccessTokenVersion": int(_known(api.get("requested_access_token_version"), 1)),
            },
            "appRoles": [
                {
                    "allowedMemberTypes": _strings(r.get("allowed_member_types")),
                    "description": _known(r.get("description"), ""),
                    "displayName": _known(r.get("display_name"), ""),
                    "id": r.get("id"),
                    "isEnabled": bool(_known(r.get("enabled"), True)),
                    "value": _known(r.get("value"), ""),
                }
                for r in _known(planned.get("app_role"), [])
            ],
            "description": _none_if_empty(planned.get("description")),
            "displayName": planned.get("display_name"),
            "groupMembershipClaims": ",".join(c.strip() for c in _strings(planned.get("group_membership_claims")))
            or None,
            "identifierUris": _strings(planned.get("identifier_uris")),
            "info": {
                "marketingUrl": _none_if_empty(planned.get("marketing_url")),
                "privacyStatementUrl": _none_if_empty(planned.get("privacy_statement_url")),
                "supportUrl": _none_if_empty(planned.get("support_url")),
                "termsOfServiceUrl": _none_if_empty(planned.get("terms_of_service_url")),
            },
            "isDeviceOnlyAuthSupported": bool(_known(planned.get("device_only_auth_enabled"), False)),
            "isFallbackPublicClient": bool(_known(planned.get("fallback_public_client_enabled"), False)),
            "notes": _none_if_empty(planned.get("notes")),
            "optionalClaims": {
                key: [
                    {
                        "name": c.get("name"),
                        "essential": bool(_known(c.get("essential"), False)),
                        "additionalProperties": _strings(c.get("additional_properties")),
                        "source": _none_if_empty(c.get("source")),
                    }
                    for c in _known(claims.get(name), [])
                ]
                for key, name in (("accessToken", "access_token"), ("idToken", "id_token"),
                                  ("saml2Token", "saml2_token"))
            },
            "publicClient": {"redirectUris": _strings(public_client.get("redirect_uris"))},
            "requiredResourceAccess": [
                {
                    "resourceAppId": r.get("resource_app_id"),
                    "resourceAccess": [{"id": a.get("id"), "type": a.get("type")}
                                       for a in _known(r.get("resource_access"), [])],
                }
                for r in _known(planned.get("required_resource_access"), [])
            ],
            "serviceManagementReference": _none_if_empty(planned.get("service_management_reference")),
            "signInAudience": _known(planned.get("sign_in_audience"), "AzureADMyOrg"),
            "spa": {"redirectUris": _strings(spa.get("redirect_uris"))},
            "tags": tags,
            "web": {
                "homePageUrl": _none_if_empty(web.get("homepage_url")),
                "logoutUrl": _none_if_empty(web.get("logout_url")),
                "redirectUris": _strings(web.get("redirect_uris")),
                "implicitGrantSettings": {
                    "enableAccessTokenIssuance": bool(_known(implicit.get("access_token_issuance_enabled"), False)),
                    "enableIdTokenIssuance": bool(_known(implicit.get("id_token_issuance_enabled"), False)),
                },
            },
        }

    def _disable_removed(self, path: str, existing: dict[str, Any], body: dict[str, Any]) -> None:
        """Graph refuses to delete an enabled app role or scope: disable the ones going away first."""
        keep_roles = {r["id"] for r in body["appRoles"]}
        roles = existing.get("appRoles") or []
        if any(r.get("isEnabled") and r.get("id") not in keep_roles for r in roles):
            self.client.patch(path, {"appRoles": [
                dict(r, isEnabled=False) if r.get("id") not in keep_roles else r for r in roles
            ]})
        keep_scopes = {s["id"] for s in body["api"]["oauth2PermissionScopes"]}
        scopes = (existing.get("api") or {}).get("oauth2PermissionScopes") or []
        if any(s.get("isEnabled") and s.get("id") not in keep_scopes for s in scopes):
            api = dict(existing.get("api") or {})
            api["oauth2PermissionScopes"] = [
                dict(s, isEnabled=False) if s.get("id") not in keep_scopes else s for s in scopes
            ]
            self.client.patch(path, {"api": api})

    def _sync_password_block(self, object_id: str, prior: Any, planned: Any) -> list[dict[str, Any]]:
        """The `password` block (a set of at most one): remove the old credential, add the new one."""
        prior = _known(prior, [])
        planned = _known(planned, [])
        prior_key = prior[0].get("key_id") if prior else None
        wanted = planned[0] if planned else None
        if wanted is not None and prior and _known(wanted.get("key_id")) == prior_key:
            return [dict(wanted, value=prior[0].get("value"))]
        path = f"/applications/{object_id}"
        if prior_key:
            try:
                self.client.post(f"{path}/removePassword", {"keyId": prior_key})
            except GraphAPIError as exc:
                if not exc.not_found:
                    raise _fail(f"Removing password credential {prior_key!r} from application with object ID "
                                f"{object_id!r}", exc) from None
        if wanted is None:
            return []
        credential = password_credential(wanted.get("display_name"), wanted.get("start_date"), wanted.get("end_date"))
        try:
            created = self.client.post(f"{path}/addPassword", {"passwordCredential": credential})
        except GraphAPIError as exc:
            raise _fail(f"Adding password for application with object ID {object_id!r}", exc) from None
        return [dict(wanted, key_id=created.get("keyId"), value=created.get("secretText"),
                     start_date=keep_same_instant(wanted.get("start_date"), created.get("startDateTime") or ""),
                     end_date=keep_same_instant(wanted.get("end_date"), created.get("endDateTime") or ""))]

    def _read(self, object_id: str, current: dict[str, Any]) -> dict[str, Any] | None:
        client = self.client
        path = f"/applications/{object_id}"
        try:
            app = client.get_or_none(path)
        except GraphAPIError as exc:
            raise _fail(f"Retrieving Application (Application: {object_id!r})", exc, "id") from None
        if app is None:
            return None
        try:
            owners = owner_ids(client, path)
        except GraphAPIError as exc:
            raise _fail(f"Could not retrieve owners for Application (Application: {object_id!r})", exc,
                        "owners") from None
        return self.flatten(app, owners, current)

    @staticmethod
    def flatten(app: dict[str, Any], owners: list[str], current: dict[str, Any]) -> dict[str, Any]:
        api = app.get("api")
        web = app.get("web")
        claims = app.get("optionalClaims")
        info = app.get("info") or {}
        implicit = (web or {}).get("implicitGrantSettings")

        def claim_list(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
            return [
                {
                    "name": c.get("name") or "",
                    "essential": bool(c.get("essential")),
                    "source": c.get("source") or "",
                    "additional_properties": list(c.get("additionalProperties") or []),
                }
                for c in items or []
            ]

        password = []
        known = _known(current.get("password"), [])
        if known and isinstance(known[0], dict):
            key_id = known[0].get("key_id")
            for credential in app.get("passwordCredentials") or []:
                if str(credential.get("keyId", "")).lower() == str(key_id or "").lower():
                    password = [{
                        "display_name": credential.get("displayName") or "",
                        "key_id": credential.get("keyId"),
                        "start_date": keep_same_instant(known[0].get("start_date"),
                                                        credential.get("startDateTime") or ""),
                        "end_date": keep_same_instant(known[0].get("end_date"), credential.get("endDateTime") or ""),
                        "value": known[0].get("value"),
                    }]
                    break

        return {
            "id": f"/applications/{app['id']}",
            "api": [] if api is None else [{
                "known_client_applications": list(api.get("knownClientApplications") or []),
                "mapped_claims_enabled": bool(api.get("acceptMappedClaims")),
                "oauth2_permission_scope": flatten_scopes(api.get("oauth2PermissionScopes")),
                "requested_access_token_version": api.get("requestedAccessTokenVersion") or 1,
            }],
            "app_role": flatten_app_roles(app.get("appRoles")),
            "app_role_ids": ids_by_value(app.get("appRoles")),
            "client_id": app.get("appId") or "",
            "description": app.get("description") or "",
            "device_only_auth_enabled": bool(app.get("isDeviceOnlyAuthSupported")),
            "disabled_by_microsoft": app.get("disabledByMicrosoftStatus") or "",
            "display_name": app.get("displayName") or "",
            "fallback_public_client_enabled": bool(app.get("isFallbackPublicClient")),
            "feature_tags": flatten_features(app.get("tags")),
            "group_membership_claims": [c.strip() for c in (app.get("groupMembershipClaims") or "").split(",")
                                        if c.strip()],
            "identifier_uris": list(app.get("identifierUris") or []),
            "logo_image": _known(current.get("logo_image"), ""),
            "logo_url": info.get("logoUrl") or "",
            "marketing_url": info.get("marketingUrl") or "",
            "notes": app.get("notes") or "",
            "oauth2_permission_scope_ids": ids_by_value((api or {}).get("oauth2PermissionScopes")),
            "oauth2_post_response_required": _known(current.get("oauth2_post_response_required"),
                                                    bool(app.get("oauth2RequirePostResponse"))),
            "object_id": app["id"],
            "optional_claims": [] if claims is None else [{
                "access_token": claim_list(claims.get("accessToken")),
                "id_token": claim_list(claims.get("idToken")),
                "saml2_token": claim_list(claims.get("saml2Token")),
            }],
            "owners": owners,
            "password": password,
            "prevent_duplicate_names": _known(current.get("prevent_duplicate_names"), False),
            "privacy_statement_url": info.get("privacyStatementUrl") or "",
            "public_client": [] if app.get("publicClient") is None else [{
                "redirect_uris": list(app["publicClient"].get("redirectUris") or []),
            }],
            "publisher_domain": app.get("publisherDomain") or "",
            "required_resource_access": [
                {
                    "resource_app_id": r.get("resourceAppId") or "",
                    "resource_access": [{"id": a.get("id") or "", "type": a.get("type") or ""}
                                        for a in r.get("resourceAccess") or []],
                }
                for r in app.get("requiredResourceAccess") or []
            ],
            "service_management_reference": app.get("serviceManagementReference") or "",
            "sign_in_audience": app.get("signInAudience") or "",
            "single_page_application": [] if app.get("spa") is None else [{
                "redirect_uris": list(app["spa"].get("redirectUris") or []),
            }],
            "support_url": info.get("supportUrl") or "",
            "tags": list(app.get("tags") or []),
            "template_id": app.get("applicationTemplateId") or "",
            "terms_of_service_url": info.get("termsOfServiceUrl") or "",
            "timeouts": current.get("timeouts"),
            "web": [] if web is None else [{
                "homepage_url": web.get("homePageUrl") or "",
                "logout_url": web.get("logoutUrl") or "",
                "redirect_uris": list(web.get("redirectUris") or []),
                "implicit_grant": [] if implicit is None else [{
                    "access_token_issuance_enabled": bool(implicit.get("enableAccessTokenIssuance")),
                    "id_token_issuance_enabled": bool(implicit.get("enableIdTokenIssuance")),
                }],
            }],
        }


# ------------------------------------------------------------------------------------------------
# azuread_application_password
# ------------------------------------------------------------------------------------------------


class ApplicationPassword(GraphResource):
    type_name = "azuread_application_password"
    importable = False  # the real resource has no importer: a secret's value cannot be read back

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        return _parse_guid_path(resource_id, rf"({_GUID})/password/({_GUID})", "Password ID",
                                "{objectId}/password/{keyId}")

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        application_id = planned["application_id"]
        match = re.fullmatch(rf"/applications/({_GUID})", application_id or "")
        if match is None:
            raise ProviderError(f"Parsing `application_id`: {application_id!r} is not an application resource ID "
                                "(/applications/{objectId})", attribute="application_id")
        object_id = match.group(1)
        credential = password_credential(planned.get("display_name"), planned.get("start_date"),
                                         planned.get("end_date"))
        path = f"/applications/{object_id}"
        try:
            # The application may have been created a moment ago in this same apply.
            client.get_after_create(path)
        except GraphAPIError as exc:
            if exc.not_found:
                raise ProviderError(f"Application (Application: {object_id!r}) was not found".replace("'", '"'),
                                    attribute="application_id") from None
            raise _fail(f"Retrieving Application (Application: {object_id!r})", exc, "application_id") from None
        try:
            created = client.post(f"{path}/addPassword", {"passwordCredential": credential})
        except GraphAPIError as exc:
            raise _fail(f"Adding password for Application (Application: {object_id!r})", exc) from None
        key_id = created.get("keyId")
        if not key_id:
            raise ProviderError("API error adding password", "nil or empty keyId received")
        secret = created.get("secretText")
        if not secret:
            raise ProviderError("API error adding password", "nil or empty password received")
        resource_id = f"{object_id}/password/{key_id}"
        self.created_state = {"id": resource_id, "key_id": key_id, "value": secret}

        def appeared() -> None:
            app = client.get(path)
            if not any(str(c.get("keyId", "")).lower() == key_id.lower() for c in app.get("passwordCredentials") or []):
                raise GraphAPIError("password credential not found in application manifest", status=404)

        try:
            client.retry_while(appeared, lambda exc: exc.not_found)
        except GraphAPIError as exc:
            raise _fail(f"Waiting for password credential for Application (Application: {object_id!r})", exc) from None
        state = dict(planned, id=resource_id, key_id=key_id, value=secret)
        return self.read(ctx, state) or state

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        object_id, key_id = self.parse_id(current.get("id") or "")
        try:
            app = self.client.get_or_none(f"/applications/{object_id}")
        except GraphAPIError as exc:
            raise _fail(f"Retrieving Application (Application: {object_id!r})", exc, "application_id") from None
        if app is None:
            return None
        credential = next((c for c in app.get("passwordCredentials") or []
                           if str(c.get("keyId", "")).lower() == key_id.lower()), None)
        if credential is None:
            return None  # removed behind Terraform's back: dropped from state, so it is planned again
        state = dict(current)
        state.update(
            application_id=f"/applications/{object_id}",
            key_id=key_id,
            start_date=keep_same_instant(current.get("start_date"), credential.get("startDateTime") or ""),
            end_date=keep_same_instant(current.get("end_date"), credential.get("endDateTime") or ""),
        )
        if credential.get("displayName") is not None:
            state["display_name"] = credential["displayName"]
        return state

    def update(self, ctx: Any, current: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
        # Every argument forces a new password: an update only ever changes `timeouts`.
        return dict(current, timeouts=planned.get("timeouts"))

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        object_id, key_id = self.parse_id(current["id"])
        path = f"/applications/{object_id}"
        try:
            self.client.post(f"{path}/removePassword", {"keyId": key_id})
        except GraphAPIError as exc:
            if exc.not_found:
                return
            raise _fail(f"Removing password credential {key_id!r} from Application (Application: {object_id!r})",
                        exc) from None

        class _StillThere(GraphAPIError):
            pass

        def gone() -> None:
            app = self.client.get_or_none(path)
            if app and any(str(c.get("keyId", "")).lower() == key_id.lower()
                           for c in app.get("passwordCredentials") or []):
                raise _StillThere("still listed", status=200)

        try:
            self.client.retry_while(gone, lambda exc: isinstance(exc, _StillThere))
        except GraphAPIError as exc:
            raise _fail(f"Waiting for deletion of password credential {key_id!r}", exc) from None


# ------------------------------------------------------------------------------------------------
# azuread_service_principal
# ------------------------------------------------------------------------------------------------


def flatten_service_principal(sp: dict[str, Any], owners: list[str] | None, current: dict[str, Any],
                              data_source: bool = False) -> dict[str, Any]:
    app_id = sp.get("appId") or ""
    saml = sp.get("samlSingleSignOnSettings")
    state = {
        "id": f"/servicePrincipals/{sp['id']}",
        "account_enabled": bool(sp.get("accountEnabled")),
        "alternative_names": list(sp.get("alternativeNames") or []),
        "app_role_assignment_required": bool(sp.get("appRoleAssignmentRequired")),
        "app_role_ids": ids_by_value(sp.get("appRoles")),
        "app_roles": flatten_app_roles(sp.get("appRoles")),
        "application_tenant_id": sp.get("appOwnerOrganizationId") or "",
        "client_id": app_id,
        "description": sp.get("description") or "",
        "display_name": sp.get("displayName") or "",
        "feature_tags": flatten_features(sp.get("tags")),
        "features": flatten_features(sp.get("tags"), deprecated=True),
        "homepage_url": sp.get("homepage") or "",
        "login_url": sp.get("loginUrl") or "",
        "logout_url": sp.get("logoutUrl") or "",
        "notes": sp.get("notes") or "",
        "notification_email_addresses": list(sp.get("notificationEmailAddresses") or []),
        "oauth2_permission_scope_ids": ids_by_value(sp.get("oauth2PermissionScopes")),
        "oauth2_permission_scopes": flatten_scopes(sp.get("oauth2PermissionScopes")),
        "object_id": sp["id"],
        "preferred_single_sign_on_mode": sp.get("preferredSingleSignOnMode") or "",
        "redirect_uris": list(sp.get("replyUrls") or []),
        "saml_metadata_url": sp.get("samlMetadataUrl") or "",
        "saml_single_sign_on": [] if saml is None else [{"relay_state": saml.get("relayState") or ""}],
        "service_principal_names": [n for n in sp.get("servicePrincipalNames") or [] if n.lower() != app_id.lower()],
        "sign_in_audience": sp.get("signInAudience") or "",
        "tags": list(sp.get("tags") or []),
        "type": sp.get("servicePrincipalType") or "",
    }
    if not data_source:
        state["owners"] = owners or []
        state["use_existing"] = _known(current.get("use_existing"))
        state["timeouts"] = current.get("timeouts")
    return state


class ServicePrincipal(GraphResource):
    type_name = "azuread_service_principal"

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        return _parse_guid_path(resource_id, rf"/servicePrincipals/({_GUID})", "Service Principal ID",
                                "/servicePrincipals/servicePrincipalId")

    def _body(self, planned: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any]:
        feature_tags, features = planned.get("feature_tags"), planned.get("features")
        if _features_set(feature_tags) and (prior is None or not same_value(prior.get("feature_tags"), feature_tags)):
            tags = expand_features(feature_tags)
        elif _features_set(features) and (prior is None or not same_value(prior.get("features"), features)):
            tags = expand_features(features)
        else:
            tags = _strings(planned.get("tags"))
        saml = (_known(planned.get("saml_single_sign_on"), []) or [None])[0]
        return {
            "accountEnabled": bool(_known(planned.get("account_enabled"), True)),
            "alternativeNames": _strings(planned.get("alternative_names")),
            "appRoleAssignmentRequired": bool(_known(planned.get("app_role_assignment_required"), False)),
            "description": _none_if_empty(planned.get("description")),
            "loginUrl": _none_if_empty(planned.get("login_url")),
            "notes": _none_if_empty(planned.get("notes")),
            "notificationEmailAddresses": _strings(planned.get("notification_email_addresses")),
            "preferredSingleSignOnMode": _none_if_empty(planned.get("preferred_single_sign_on_mode")),
            "samlSingleSignOnSettings": None if saml is None else {"relayState": _none_if_empty(saml.get("relay_state"))},
            "tags": tags,
        }

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        client_id = planned["client_id"]
        try:
            existing = list(client.list_all("/servicePrincipals", params={"$filter": f"appId eq '{client_id}'"}))
        except GraphAPIError as exc:
            raise _fail("Could not list existing service principals", exc) from None
        if len(existing) > 1:
            raise ProviderError("Could not list existing service principals",
                                f"unexpected number of service principals returned (expected: 1, received: "
                                f"{len(existing)}")
        if existing:
            sp_id = existing[0]["id"]
            if planned.get("use_existing") is True:
                self.created_state = {"id": f"/servicePrincipals/{sp_id}", "object_id": sp_id}
                return self.update(ctx, dict(planned, id=f"/servicePrincipals/{sp_id}", owners=None), planned)
            raise ProviderError(
                f'A resource with the ID "{sp_id}" already exists',
                'To be managed via Terraform, this resource needs to be imported into the State. Please see the '
                'resource documentation for "azuread_service_principal" for more information.',
                attribute="id",
            )
        body = dict(self._body(planned, None), appId=client_id)

        def not_replicated(exc: GraphAPIError) -> bool:
            message = exc.graph_message or ""
            return (exc.status == 400 and re.search(r"The appId '.+' of the service principal does not reference "
                                                    r"a valid application object", message) is not None) or (
                exc.status == 403 and "backing application of the service principal being created must in the "
                "local tenant" in message)

        try:
            sp = client.retry_while(lambda: client.post("/servicePrincipals", body), not_replicated)
        except GraphAPIError as exc:
            raise _fail("Could not create service principal", exc) from None
        sp_id = sp.get("id")
        if not sp_id:
            raise ProviderError("Bad API response", "Object ID returned for service principal is nil")
        path = f"/servicePrincipals/{sp_id}"
        self.created_state = {"id": path, "object_id": sp_id}
        try:
            client.get_after_create(path)
        except GraphAPIError as exc:
            if exc.not_found:
                raise _fail("Timed out whilst waiting for new service principal to be replicated in Azure AD",
                            exc) from None
            raise _fail("Failed to patch service principal after creating", exc) from None
        reconcile_owners(client, path, _strings(planned.get("owners")), f"Service Principal (Object ID: {sp_id!r})")
        return self._read(sp_id, dict(planned, id=path))

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        (sp_id,) = self.parse_id(current.get("id") or "")
        return self._read(sp_id, current)

    def _read(self, sp_id: str, current: dict[str, Any]) -> dict[str, Any] | None:
        path = f"/servicePrincipals/{sp_id}"
        try:
            sp = self.client.get_or_none(path)
            if sp is None:
                return None
            owners = owner_ids(self.client, path)
        except GraphAPIError as exc:
            raise _fail(f"Retrieving Service Principal (Object ID: {sp_id!r})", exc) from None
        return flatten_service_principal(sp, owners, current)

    def update(self, ctx: Any, current: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
        (sp_id,) = self.parse_id(current["id"])
        path = f"/servicePrincipals/{sp_id}"
        try:
            self.client.patch(path, self._body(planned, current))
        except GraphAPIError as exc:
            raise _fail(f"Updating Service Principal (Object ID: {sp_id!r})", exc) from None
        if not same_value(current.get("owners"), planned.get("owners")):
            reconcile_owners(self.client, path, _strings(planned.get("owners")),
                             f"Service Principal (Object ID: {sp_id!r})")
        return self._read(sp_id, dict(planned, id=path))

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        (sp_id,) = self.parse_id(current["id"])
        path = f"/servicePrincipals/{sp_id}"
        try:
            self.client.delete(path)
        except GraphAPIError as exc:
            if exc.not_found or current.get("use_existing") is True:
                return
            raise _fail(f"Deleting Service Principal (Object ID: {sp_id!r})", exc, "id") from None
        if current.get("use_existing") is not True:
            wait_for_deletion(self.client, path, f"Service Principal (Object ID: {sp_id!r})")


# ------------------------------------------------------------------------------------------------
# azuread_app_role_assignment
# ------------------------------------------------------------------------------------------------


class AppRoleAssignment(GraphResource):
    type_name = "azuread_app_role_assignment"

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        # v3 ID: /servicePrincipals/{resourceId}/appRoleAssignedTo/{assignmentId} (the assignment ID is
        # not a GUID: Graph derives it from the principal).
        return _parse_guid_path(resource_id, rf"/servicePrincipals/({_GUID})/appRoleAssignedTo/([^/]+)",
                                "App Role Assigned To ID",
                                "/servicePrincipals/servicePrincipalId/appRoleAssignedTo/appRoleAssignmentId")

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        resource_id = planned["resource_object_id"]
        try:
            client.get_after_create(f"/servicePrincipals/{resource_id}")
        except GraphAPIError as exc:
            if exc.not_found:
                raise _fail(f"Service principal not found for resource (Object ID: {resource_id!r})", exc,
                            "principal_object_id") from None
            raise _fail(f"Could not retrieve service principal for resource (Object ID: {resource_id!r})",
                        exc) from None
        body = {"appRoleId": planned["app_role_id"], "principalId": planned["principal_object_id"],
                "resourceId": resource_id}

        def retryable(exc: GraphAPIError) -> bool:
            return exc.not_found or (exc.status == 400 and "Not a valid reference update" in (exc.graph_message or ""))

        try:
            assignment = client.retry_while(
                lambda: client.post(f"/servicePrincipals/{resource_id}/appRoleAssignedTo", body), retryable)
        except GraphAPIError as exc:
            raise _fail("Could not create app role assignment", exc) from None
        if not assignment.get("id"):
            raise ProviderError("Bad API response", "ID returned for app role assignment is nil")
        path = f"/servicePrincipals/{assignment.get('resourceId') or resource_id}/appRoleAssignedTo/{assignment['id']}"
        self.created_state = {"id": path}
        state = dict(planned, id=path)
        try:
            found = client.retry_while(lambda: self._get(path, required=True), lambda exc: exc.not_found)
        except GraphAPIError as exc:
            raise _fail(f"retrieving {path}", exc) from None
        return self.flatten(found, state)

    def _get(self, path: str, required: bool = False) -> dict[str, Any] | None:
        resource_id, assignment_id = self.parse_id(path)
        for assignment in self.client.list_all(f"/servicePrincipals/{resource_id}/appRoleAssignedTo"):
            if assignment.get("id") == assignment_id:
                return assignment
        if required:
            raise GraphAPIError(f"app role assignment {assignment_id!r} not found", status=404)
        return None

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        path = current.get("id") or ""
        self.parse_id(path)
        try:
            assignment = self._get(path)
        except GraphAPIError as exc:
            if exc.not_found:  # the resource service principal is gone, and its assignments with it
                return None
            raise _fail(f"retrieving {path}", exc) from None
        return None if assignment is None else self.flatten(assignment, current)

    @staticmethod
    def flatten(assignment: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        return dict(
            current,
            id=f"/servicePrincipals/{assignment.get('resourceId')}/appRoleAssignedTo/{assignment.get('id')}",
            app_role_id=assignment.get("appRoleId") or "",
            principal_display_name=assignment.get("principalDisplayName") or "",
            principal_object_id=assignment.get("principalId") or "",
            principal_type=assignment.get("principalType") or "",
            resource_display_name=assignment.get("resourceDisplayName") or "",
            resource_object_id=assignment.get("resourceId") or "",
        )

    def update(self, ctx: Any, current: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
        return dict(current, timeouts=planned.get("timeouts"))

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        path = current["id"]
        self.parse_id(path)
        try:
            self.client.delete(path)
        except GraphAPIError as exc:
            if not exc.not_found:
                raise _fail(f"Deleting {path}", exc, "id") from None


# ------------------------------------------------------------------------------------------------
# azuread_service_principal_delegated_permission_grant
# ------------------------------------------------------------------------------------------------


class DelegatedPermissionGrant(GraphResource):
    type_name = "azuread_service_principal_delegated_permission_grant"

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        return _parse_guid_path(resource_id, r"/oauth2PermissionGrants/([^/]+)", "OAuth2 Permission Grant ID",
                                "/oauth2PermissionGrants/oAuth2PermissionGrantId")

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        client_sp = planned["service_principal_object_id"]
        resource_sp = planned["resource_service_principal_object_id"]
        for sp_id, suffix in ((client_sp, ""), (resource_sp, " for resource")):
            try:
                client.get_after_create(f"/servicePrincipals/{sp_id}")
            except GraphAPIError as exc:
                if exc.not_found:
                    raise _fail(f"Service Principal (Object ID: {sp_id!r}) was not found{suffix}", exc,
                                "principal_object_id") from None
                raise _fail(f"Could not retrieve Service Principal (Object ID: {sp_id!r}){suffix}", exc) from None
        body: dict[str, Any] = {
            "clientId": client_sp,
            "resourceId": resource_sp,
            "scope": " ".join(_strings(planned.get("claim_values"))) or None,
        }
        user = _none_if_empty(planned.get("user_object_id"))
        if user:
            body.update(principalId=user, consentType="Principal")
        else:
            body["consentType"] = "AllPrincipals"

        def retryable(exc: GraphAPIError) -> bool:
            return exc.not_found or (exc.status == 400 and "does not exist or one of its queried reference-property "
                                     "objects are not present" in (exc.graph_message or ""))

        try:
            grant = client.retry_while(lambda: client.post("/oauth2PermissionGrants", body), retryable)
        except GraphAPIError as exc:
            raise _fail("Could not create delegated permission grant", exc) from None
        if not grant.get("id"):
            raise ProviderError("Bad API response", "ID returned for delegated permission grant is nil")
        path = f"/oauth2PermissionGrants/{grant['id']}"
        self.created_state = {"id": path}
        try:
            found = client.get_after_create(path)
        except GraphAPIError as exc:
            raise _fail(f"Retrieving Delegated Permission Grant with ID {path!r}", exc, "id") from None
        return self.flatten(found, dict(planned, id=path))

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        path = current.get("id") or ""
        self.parse_id(path)
        try:
            grant = self.client.get_or_none(path)
        except GraphAPIError as exc:
            raise _fail(f"Retrieving Delegated Permission Grant with ID {path!r}", exc, "id") from None
        return None if grant is None else self.flatten(grant, current)

    @staticmethod
    def flatten(grant: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        return dict(
            current,
            id=f"/oauth2PermissionGrants/{grant['id']}",
            claim_values=(grant.get("scope") or "").split(),
            resource_service_principal_object_id=grant.get("resourceId") or "",
            service_principal_object_id=grant.get("clientId") or "",
            user_object_id=grant.get("principalId") or "",
        )

    def update(self, ctx: Any, current: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
        path = current["id"]
        self.parse_id(path)
        try:
            self.client.patch(path, {"scope": " ".join(_strings(planned.get("claim_values"))) or None})
        except GraphAPIError as exc:
            raise _fail(f"Updating {path}", exc) from None
        return self.read(ctx, dict(planned, id=path)) or dict(planned, id=path)

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        path = current["id"]
        self.parse_id(path)
        try:
            self.client.delete(path)
        except GraphAPIError as exc:
            if not exc.not_found:
                raise _fail(f"Deleting {path}", exc, "id") from None


RESOURCES = (Application, ApplicationPassword, ServicePrincipal, AppRoleAssignment, DelegatedPermissionGrant)


