"""The resource types, over Microsoft Graph v1.0, mapped the way azuread v3.7.0 maps them.

Each type follows the Go source of the real provider (internal/services/**): the same request
bodies (expand*), the same state built from Graph's answers (flatten*, zero values included), the
same IDs, the same replication waits and the same error summaries. Deliberate differences:
- owners are added with `POST .../owners/$ref` after the create instead of `owners@odata.bind`
  with the caller added then removed: same end state, fewer moving parts for the emulator;
- `oauth2_post_response_required` lives on the beta API only: it is kept as configured;
- replication lag is met where the real provider meets it: the create PATCHes the new application twice
  (a temporary display name, then the real one) retrying 404 and 409 like applicationUpdateRetryFunc, and
  the read that ends the create drops an application Graph answers 404 for (Terraform then reports the
  provider's inconsistent result), with no retry of its own.
"""

from __future__ import annotations

import uuid
from typing import Any

from tf.types import Unknown
from tf.utils import Diagnostics

from sandbox.provider.errors import ProviderError, graph_failure
from sandbox.provider.graph_client import GraphAPIError
from sandbox.provider.graph_resource import GUID, GraphResource, IdFormat, password_credential
from sandbox.provider.mapping import (
    flatten_app_roles,
    flatten_features,
    flatten_scopes,
    ids_by_value,
    planned_tags,
)
from sandbox.provider.owners import add_owners_of_new_object, owner_ids
from sandbox.provider.planning import known_strings, known_value, none_if_empty, same_value


class Application(GraphResource):
    type_name = "azuread_application"
    id_format = IdFormat(rf"/applications/({GUID})", "Application ID", "/applications/applicationId")

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
        app = self.create_object("/applications", self._expand(planned, prior=None), "application",
                                 missing_id="Object ID returned for application is nil/empty")
        object_id = app["id"]
        path = f"/applications/{object_id}"
        self.created_state = {"id": path, "object_id": object_id, "client_id": app.get("appId") or ""}
        self._patch_after_create(object_id, str(planned.get("display_name") or ""))
        add_owners_of_new_object(client, path, known_strings(planned.get("owners")),
                                 f"application with object ID {object_id!r}",
                                 caller_id=str(self.provider.object_id or ""))
        state = dict(planned, id=path)
        state["password"] = self._sync_password_block(object_id, None, planned.get("password"))
        return self._read(object_id, state)

    def _patch_after_create(self, object_id: str, display_name: str) -> None:
        """The real create's proof that the application exists: PATCH a temporary display name, then the real
        one, each retried on 404 and 409 (applicationUpdateRetryFunc) until the consistency timeout."""
        path = f"/applications/{object_id}"
        for name in (f"TERRAFORM_UPDATE_{uuid.uuid4()}", display_name):
            try:
                self.client.retry_while(lambda n=name: self.client.patch(path, {"displayName": n}),
                                        lambda exc: exc.status in (404, 409))
            except GraphAPIError as exc:
                if exc.not_found:
                    raise graph_failure("Timed out whilst waiting for new application to be replicated in Azure AD",
                                        exc) from None
                raise graph_failure(f"Failed to patch application with object ID {object_id!r} after creating",
                                    exc) from None

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
            raise graph_failure(f"Could not update application with object ID: {object_id!r}", exc) from None
        self.reconcile_changed_owners(path, current, planned, f"application with object ID {object_id!r}")
        state = dict(planned)
        state["password"] = self._sync_password_block(object_id, current.get("password"), planned.get("password"))
        return self._read(object_id, state)

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        (object_id,) = self.parse_id(current["id"])
        self.delete_object(f"/applications/{object_id}", f"deleting Application (Application: {object_id!r})",
                           awaited=f"application with object ID {object_id!r}")

    # ---------------------------------------------------------------- mapping

    @staticmethod
    def _expand(planned: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any]:
        """The application's Graph body (expandApplication*): every block, zero values included."""
        public_client = _single_block(planned.get("public_client"))
        spa = _single_block(planned.get("single_page_application"))
        return {
            "api": _expand_api(_single_block(planned.get("api"))),
            "appRoles": _expand_app_roles(planned.get("app_role")),
            "description": none_if_empty(planned.get("description")),
            "displayName": planned.get("display_name"),
            "groupMembershipClaims": ",".join(c.strip() for c in known_strings(planned.get("group_membership_claims")))
            or None,
            "identifierUris": known_strings(planned.get("identifier_uris")),
            "info": {
                "marketingUrl": none_if_empty(planned.get("marketing_url")),
                "privacyStatementUrl": none_if_empty(planned.get("privacy_statement_url")),
                "supportUrl": none_if_empty(planned.get("support_url")),
                "termsOfServiceUrl": none_if_empty(planned.get("terms_of_service_url")),
            },
            "isDeviceOnlyAuthSupported": bool(known_value(planned.get("device_only_auth_enabled"), False)),
            "isFallbackPublicClient": bool(known_value(planned.get("fallback_public_client_enabled"), False)),
            "notes": none_if_empty(planned.get("notes")),
            "optionalClaims": _expand_optional_claims(_single_block(planned.get("optional_claims"))),
            "publicClient": {"redirectUris": known_strings(public_client.get("redirect_uris"))},
            "requiredResourceAccess": [
                {
                    "resourceAppId": r.get("resource_app_id"),
                    "resourceAccess": [{"id": a.get("id"), "type": a.get("type")}
                                       for a in known_value(r.get("resource_access"), [])],
                }
                for r in known_value(planned.get("required_resource_access"), [])
            ],
            "serviceManagementReference": none_if_empty(planned.get("service_management_reference")),
            "signInAudience": known_value(planned.get("sign_in_audience"), "AzureADMyOrg"),
            "spa": {"redirectUris": known_strings(spa.get("redirect_uris"))},
            "tags": planned_tags(planned, prior, "feature_tags"),
            "web": _expand_web(_single_block(planned.get("web"))),
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
        prior = known_value(prior, [])
        planned = known_value(planned, [])
        prior_key = prior[0].get("key_id") if prior else None
        wanted = planned[0] if planned else None
        if wanted is not None and prior and known_value(wanted.get("key_id")) == prior_key:
            return [dict(wanted, value=prior[0].get("value"))]
        path = f"/applications/{object_id}"
        if prior_key:
            try:
                self.client.post(f"{path}/removePassword", {"keyId": prior_key})
            except GraphAPIError as exc:
                if not exc.not_found:
                    raise graph_failure(f"Removing password credential {prior_key!r} from application with object ID "
                                f"{object_id!r}", exc) from None
        if wanted is None:
            return []
        credential = password_credential(wanted.get("display_name"), wanted.get("start_date"), wanted.get("end_date"))
        try:
            created = self.client.post(f"{path}/addPassword", {"passwordCredential": credential})
        except GraphAPIError as exc:
            raise graph_failure(f"Adding password for application with object ID {object_id!r}", exc) from None
        return [dict(wanted, key_id=created.get("keyId"), value=created.get("secretText"),
                     start_date=created.get("startDateTime") or "",
                     end_date=created.get("endDateTime") or "")]

    def _read(self, object_id: str, current: dict[str, Any]) -> dict[str, Any] | None:
        client = self.client
        path = f"/applications/{object_id}"
        try:
            app = client.get_or_none(path)
        except GraphAPIError as exc:
            raise graph_failure(f"Retrieving Application (Application: {object_id!r})", exc, "id") from None
        if app is None:
            return None
        try:
            owners = owner_ids(client, path)
        except GraphAPIError as exc:
            raise graph_failure(f"Could not retrieve owners for Application (Application: {object_id!r})", exc,
                        "owners") from None
        return self.flatten(app, owners, current)

    @staticmethod
    def flatten(app: dict[str, Any], owners: list[str], current: dict[str, Any]) -> dict[str, Any]:
        """The state of an application read from Graph (flattenApplication*): every attribute, zero values included."""
        api = app.get("api")
        claims = app.get("optionalClaims")
        info = app.get("info") or {}
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
            "logo_image": known_value(current.get("logo_image"), ""),
            "logo_url": info.get("logoUrl") or "",
            "marketing_url": info.get("marketingUrl") or "",
            "notes": app.get("notes") or "",
            "oauth2_permission_scope_ids": ids_by_value((api or {}).get("oauth2PermissionScopes")),
            "oauth2_post_response_required": known_value(current.get("oauth2_post_response_required"),
                                                    bool(app.get("oauth2RequirePostResponse"))),
            "object_id": app["id"],
            "optional_claims": [] if claims is None else [{
                "access_token": _flatten_claims(claims.get("accessToken")),
                "id_token": _flatten_claims(claims.get("idToken")),
                "saml2_token": _flatten_claims(claims.get("saml2Token")),
            }],
            "owners": owners,
            "password": _flatten_password(app, current),
            "prevent_duplicate_names": known_value(current.get("prevent_duplicate_names"), False),
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
            "web": _flatten_web(app.get("web")),
        }


def _single_block(value: Any) -> dict[str, Any]:
    """The one block of a MaxItems: 1 list, or {} when it is absent or unknown."""
    return (known_value(value, []) or [None])[0] or {}


def _expand_api(api: dict[str, Any]) -> dict[str, Any]:
    return {
        "acceptMappedClaims": bool(known_value(api.get("mapped_claims_enabled"), False)),
        "knownClientApplications": known_strings(api.get("known_client_applications")),
        "oauth2PermissionScopes": [
            {
                "adminConsentDescription": known_value(s.get("admin_consent_description"), ""),
                "adminConsentDisplayName": known_value(s.get("admin_consent_display_name"), ""),
                "id": s.get("id"),
                "isEnabled": bool(known_value(s.get("enabled"), True)),
                "type": known_value(s.get("type"), "User"),
                "userConsentDescription": known_value(s.get("user_consent_description"), ""),
                "userConsentDisplayName": known_value(s.get("user_consent_display_name"), ""),
                "value": known_value(s.get("value"), ""),
            }
            for s in known_value(api.get("oauth2_permission_scope"), [])
        ],
        "requestedAccessTokenVersion": int(known_value(api.get("requested_access_token_version"), 1)),
    }


def _expand_app_roles(roles: Any) -> list[dict[str, Any]]:
    return [
        {
            "allowedMemberTypes": known_strings(r.get("allowed_member_types")),
            "description": known_value(r.get("description"), ""),
            "displayName": known_value(r.get("display_name"), ""),
            "id": r.get("id"),
            "isEnabled": bool(known_value(r.get("enabled"), True)),
            "value": known_value(r.get("value"), ""),
        }
        for r in known_value(roles, [])
    ]


def _expand_optional_claims(claims: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    return {
        key: [
            {
                "name": c.get("name"),
                "essential": bool(known_value(c.get("essential"), False)),
                "additionalProperties": known_strings(c.get("additional_properties")),
                "source": none_if_empty(c.get("source")),
            }
            for c in known_value(claims.get(name), [])
        ]
        for key, name in (("accessToken", "access_token"), ("idToken", "id_token"), ("saml2Token", "saml2_token"))
    }


def _expand_web(web: dict[str, Any]) -> dict[str, Any]:
    implicit = _single_block(web.get("implicit_grant"))
    return {
        "homePageUrl": none_if_empty(web.get("homepage_url")),
        "logoutUrl": none_if_empty(web.get("logout_url")),
        "redirectUris": known_strings(web.get("redirect_uris")),
        "implicitGrantSettings": {
            "enableAccessTokenIssuance": bool(known_value(implicit.get("access_token_issuance_enabled"), False)),
            "enableIdTokenIssuance": bool(known_value(implicit.get("id_token_issuance_enabled"), False)),
        },
    }


def _flatten_claims(items: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "name": c.get("name") or "",
            "essential": bool(c.get("essential")),
            "source": c.get("source") or "",
            "additional_properties": list(c.get("additionalProperties") or []),
        }
        for c in items or []
    ]


def _flatten_password(app: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """The `password` block: the credential the state knows, as Graph lists it, with the value from the state."""
    known = known_value(current.get("password"), [])
    if not known or not isinstance(known[0], dict):
        return []
    key_id = known[0].get("key_id")
    for credential in app.get("passwordCredentials") or []:
        if str(credential.get("keyId", "")).lower() == str(key_id or "").lower():
            return [{
                "display_name": credential.get("displayName") or "",
                "key_id": credential.get("keyId"),
                "start_date": credential.get("startDateTime") or "",
                "end_date": credential.get("endDateTime") or "",
                "value": known[0].get("value"),
            }]
    return []


def _flatten_web(web: dict[str, Any] | None) -> list[dict[str, Any]]:
    if web is None:
        return []
    implicit = web.get("implicitGrantSettings")
    return [{
        "homepage_url": web.get("homePageUrl") or "",
        "logout_url": web.get("logoutUrl") or "",
        "redirect_uris": list(web.get("redirectUris") or []),
        "implicit_grant": [] if implicit is None else [{
            "access_token_issuance_enabled": bool(implicit.get("enableAccessTokenIssuance")),
            "id_token_issuance_enabled": bool(implicit.get("enableIdTokenIssuance")),
        }],
    }]
