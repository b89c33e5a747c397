"""azuread_service_principal, and the state both it and the azuread_service_principal data source read from Graph."""

from __future__ import annotations

import re
from typing import Any

from sandbox.provider.errors import ProviderError, graph_failure
from sandbox.provider.graph_client import GraphAPIError
from sandbox.provider.graph_resource import GUID, GraphResource, IdFormat
from sandbox.provider.mapping import flatten_service_principal, planned_tags
from sandbox.provider.owners import add_owners_of_new_object, owner_ids
from sandbox.provider.planning import known_strings, known_value, none_if_empty


class ServicePrincipal(GraphResource):
    type_name = "azuread_service_principal"
    id_format = IdFormat(rf"/servicePrincipals/({GUID})", "Service Principal ID",
                         "/servicePrincipals/servicePrincipalId")

    def _body(self, planned: dict[str, Any], prior: dict[str, Any] | None) -> dict[str, Any]:
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
            "samlSingleSignOnSettings": None if saml is None
            else {"relayState": none_if_empty(saml.get("relay_state"))},
            "tags": planned_tags(planned, prior, "feature_tags", "features"),
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

        sp_id = self.create_object("/servicePrincipals", body, "service principal", retry_on=not_replicated,
                                   missing_id="Object ID returned for service principal is nil")["id"]
        path = f"/servicePrincipals/{sp_id}"
        self.created_state = {"id": path, "object_id": sp_id}
        # The real create's proof that the service principal exists: one PATCH of its description, with no
        # retry on 404 (DefaultUpdateServicePrincipalOperationOptions): replication lag fails the create here
        # (azuread issues #1802, #1811), and the object stays in the state, tainted.
        try:
            client.patch(path, {"description": none_if_empty(planned.get("description"))})
        except GraphAPIError as exc:
            if exc.not_found:
                raise graph_failure("Timed out whilst waiting for new service principal to be replicated in Azure AD",
                                    exc) from None
            raise graph_failure("Failed to patch service principal after creating", exc) from None
        add_owners_of_new_object(client, path, known_strings(planned.get("owners")),
                                 f"Service Principal (Object ID: {sp_id!r})",
                                 caller_id=str(self.provider.object_id or ""))
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
        self.reconcile_changed_owners(path, current, planned, f"Service Principal (Object ID: {sp_id!r})")
        return self._read(sp_id, dict(planned, id=path))

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        (sp_id,) = self.parse_id(current["id"])
        # A service principal adopted with use_existing is only let go: no wait, and a refusal is no failure.
        adopted = current.get("use_existing") is True
        self.delete_object(f"/servicePrincipals/{sp_id}", f"Deleting Service Principal (Object ID: {sp_id!r})",
                           awaited=None if adopted else f"Service Principal (Object ID: {sp_id!r})",
                           ignore_errors=adopted)
