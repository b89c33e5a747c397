"""azuread_service_principal_delegated_permission_grant: delegated (OAuth2) permissions granted to a client."""

from __future__ import annotations

from typing import Any

from sandbox.provider.errors import ProviderError
from sandbox.provider.graph_client import GraphAPIError
from sandbox.provider.graph_resource import (
    GraphResource,
    graph_failure,
    known_strings,
    none_if_empty,
    parse_guid_path,
)


class DelegatedPermissionGrant(GraphResource):
    type_name = "azuread_service_principal_delegated_permission_grant"

    def parse_id(self, resource_id: str) -> tuple[str, ...]:
        return parse_guid_path(resource_id, r"/oauth2PermissionGrants/([^/]+)", "OAuth2 Permission Grant ID",
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
                    raise graph_failure(f"Service Principal (Object ID: {sp_id!r}) was not found{suffix}", exc,
                                "principal_object_id") from None
                raise graph_failure(f"Could not retrieve Service Principal (Object ID: {sp_id!r}){suffix}", exc) from None
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

        try:
            grant = client.retry_while(lambda: client.post("/oauth2PermissionGrants", body), retryable)
        except GraphAPIError as exc:
            raise graph_failure("Could not create delegated permission grant", exc) from None
        if not grant.get("id"):
            raise ProviderError("Bad API response", "ID returned for delegated permission grant is nil")
        path = f"/oauth2PermissionGrants/{grant['id']}"
        self.created_state = {"id": path}
        try:
            found = client.get_after_create(path)
        except GraphAPIError as exc:
            raise graph_failure(f"Retrieving Delegated Permission Grant with ID {path!r}", exc, "id") from None
        return self.flatten(found, dict(planned, id=path))

    def read(self, ctx: Any, current: dict[str, Any]) -> dict[str, Any] | None:
        path = current.get("id") or ""
        self.parse_id(path)
        try:
            grant = self.client.get_or_none(path)
        except GraphAPIError as exc:
            raise graph_failure(f"Retrieving Delegated Permission Grant with ID {path!r}", exc, "id") from None
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
            self.client.patch(path, {"scope": " ".join(known_strings(planned.get("claim_values"))) or None})
        except GraphAPIError as exc:
            raise graph_failure(f"Updating {path}", exc) from None
        return self.read(ctx, dict(planned, id=path)) or dict(planned, id=path)

    def delete(self, ctx: Any, current: dict[str, Any]) -> None:
        self._delete_at_id(current)
