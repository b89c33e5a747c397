"""azuread_service_principal, and the state both it and the azuread_service_principal data source read from Graph."""

from __future__ import annotations

import re
from typing import Any

from sandbox.provider.errors import ProviderError
from sandbox.provider.graph_client import GraphAPIError
from sandbox.provider.graph_resource import (
    GUID,
    GraphResource,
    graph_failure,
    known_strings,
    known_value,
    none_if_empty,
    owner_ids,
    parse_guid_path,
    reconcile_owners,
    wait_for_deletion,
)
from sandbox.provider.mapping import (
    expand_features,
    features_set,
    flatten_app_roles,
    flatten_features,
    flatten_scopes,
    ids_by_value,
)
from sandbox.provider.planning import same_value


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
        state["use_existing"] = known_value(current.get("use_existing"))
        state["timeouts"] = current.get("timeouts")
    return state


class ServicePrincipal(GraphResource):
    type_name = "azuread_service_principal"

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        return parse_guid_path(resource_id, rf"/servicePrincipals/({GUID})", "Service Principal ID",
                                "/servicePrincipals/servicePrincipalId")

    def _body(self, planned: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any]:
        feature_tags, features = planned.get("feature_tags"), planned.get("features")
        if features_set(feature_tags) and (prior is None or not same_value(prior.get("feature_tags"), feature_tags)):
            tags = expand_features(feature_tags)
        elif features_set(features) and (prior is None or not same_value(prior.get("features"), features)):
            tags = expand_features(features)
        else:
            tags = known_strings(planned.get("tags"))
        saml = (known_value(planned.get("saml_single_sign_on"), []) or [None])[0]
        return {
            "accountEnabled": bool(known_value(planned.get("account_enabled"), True)),
            "alternativeNames": known_strings(planned.get("alternative_names")),
            "appRoleAssignmentRequired": bool(known_value(planned.get("app_role_assignment_required"), False)),
            "description": none_if_empty(planned.get("description")),
            "loginUrl": none_if_empty(planned.get("login_url")),
            "notes": none_if_empty(planned.get("notes")),
            "notificationEmailAddresses": known_strings(planned.get("notification_email_addresses")),
            "preferredSingleSignOnMode": none_if_empty(planned.get("preferred_single_sign_on_mode")),
            "samlSingleSignOnSettings": None if saml is None else {"relayState": none_if_empty(saml.get("relay_state"))},
            "tags": tags,
        }

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        client = self.client
        client_id = planned["client_id"]
        try:
            existing = list(client.list_all("/servicePrincipals", params={"$filter": f"appId eq '{client_id}'"}))
        except GraphAPIError as exc:
            raise graph_failure("Could not list existing service principals", exc) from None
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
            raise graph_failure("Could not create service principal", exc) from None
        sp_id = sp.get("id")
        if not sp_id:
            raise ProviderError("Bad API response", "Object ID returned for service principal is nil")
        path = f"/servicePrincipals/{sp_id}"
        self.created_state = {"id": path, "object_id": sp_id}
        try:
            client.get_after_create(path)
        except GraphAPIError as exc:
            if exc.not_found:
                raise graph_failure("Timed out whilst waiting for new service principal to be replicated in Azure AD",
                            exc) from None
            raise graph_failure("Failed to patch service principal after creating", exc) from None
        reconcile_owners(client, path, known_strings(planned.get("owners")), f"Service Principal (Object ID: {sp_id!r})")
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
            raise graph_failure(f"Retrieving Service Principal (Object ID: {sp_id!r})", exc) from None
        return flatten_service_principal(sp, owners, current)

    def update(self, ctx: Any, current: dict[str, Any], planned: dict[str, Any]) -> dict[str, Any]:
        (sp_id,) = self.parse_id(current["id"])
        path = f"/servicePrincipals/{sp_id}"
        try:
            self.client.patch(path, self._body(planned, current))
        except GraphAPIError as exc:
            raise graph_failure(f"Updating Service Principal (Object ID: {sp_id!r})", exc) from None
        if not same_value(current.get("owners"), planned.get("owners")):
            reconcile_owners(self.client, path, known_strings(planned.get("owners")),
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
            raise graph_failure(f"Deleting Service Principal (Object ID: {sp_id!r})", exc, "id") from None
        if current.get("use_existing") is not True:
            wait_for_deletion(self.client, path, f"Service Principal (Object ID: {sp_id!r})")
