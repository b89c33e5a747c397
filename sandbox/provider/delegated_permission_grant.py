"""azuread_service_principal_delegated_permission_grant: delegated (OAuth2) permissions granted to a client."""

from __future__ import annotations

from typing import Any

from sandbox.provider.errors import graph_failure
from sandbox.provider.graph_client import GraphAPIError
from sandbox.provider.graph_resource import GraphPathResource, IdFormat
from sandbox.provider.planning import known_strings, none_if_empty


class DelegatedPermissionGrant(GraphPathResource):
    type_name = "azuread_service_principal_delegated_permission_grant"
    id_format = IdFormat(r"/oauth2PermissionGrants/([^/]+)", "OAuth2 Permission Grant ID",
                         "/oauth2PermissionGrants/oAuth2PermissionGrantId")

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        """Both service principals must answer first; a grant of the user named, else of all principals."""
        client_sp = planned["service_principal_object_id"]
        resource_sp = planned["resource_service_principal_object_id"]
        for sp_id, suffix in ((client_sp, ""), (resource_sp, " for resource")):
            self.require_service_principal(
                sp_id, missing=f"Service Principal (Object ID: {sp_id!r}) was not found{suffix}",
                failed=f"Could not retrieve Service Principal (Object ID: {sp_id!r}){suffix}")
        body: dict[str, Any] = {
            "clientId": client_sp,
            "resourceId": resource_sp,
            "scope": " ".join(known_strings(planned.get("claim_values"))) or None,
        }
        user = none_if_empty(planned.get("user_object_id"))
        if user:
            body.update(principalId=user, consentType="Principal")
        else:
            body["consentType"] = "AllPrincipals"

        def retryable(exc: GraphAPIError) -> bool:
            return exc.not_found or (exc.status == 400 and "does not exist or one of its queried reference-property "
                                     "objects are not present" in (exc.graph_message or ""))

        grant = self.create_object("/oauth2PermissionGrants", body, "delegated permission grant", retry_on=retryable,
                                   missing_id="ID returned for delegated permission grant is nil")
        path = f"/oauth2PermissionGrants/{grant['id']}"
        self.created_state = {"id": path}
        try:
            found = self.client.get_or_none(path)  # the read that ends the create: 404 drops it from the state
        except GraphAPIError as exc:
            raise graph_failure(f"Retrieving Delegated Permission Grant with ID {path!r}", exc, "id") from None
        return None if found is None else self.flatten(found, dict(planned, id=path))

    def find(self, path: str) -> dict[str, Any] | None:
        try:
            return self.client.get_or_none(path)
        except GraphAPIError as exc:
            raise graph_failure(f"Retrieving Delegated Permission Grant with ID {path!r}", exc, "id") from None

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
            self.client.patch(path, {"scope": " ".join(known_strings(planned.get("claim_values"))) or None})
        except GraphAPIError as exc:
            raise graph_failure(f"Updating {path}", exc) from None
        return self.read(ctx, dict(planned, id=path)) or dict(planned, id=path)
