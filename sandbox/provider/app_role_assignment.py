"""azuread_app_role_assignment: an app role of a resource service principal, granted to a principal."""

from __future__ import annotations

from typing import Any

from sandbox.provider.errors import graph_failure
from sandbox.provider.graph_client import GraphAPIError
from sandbox.provider.graph_resource import GUID, GraphPathResource, IdFormat


class AppRoleAssignment(GraphPathResource):
    type_name = "azuread_app_role_assignment"
    # v3 ID: /servicePrincipals/{resourceId}/appRoleAssignedTo/{assignmentId} (the assignment ID is
    # not a GUID: Graph derives it from the principal).
    id_format = IdFormat(rf"/servicePrincipals/({GUID})/appRoleAssignedTo/([^/]+)", "App Role Assigned To ID",
                         "/servicePrincipals/servicePrincipalId/appRoleAssignedTo/appRoleAssignmentId")

    def create(self, ctx: Any, planned: dict[str, Any]) -> dict[str, Any]:
        resource_id = planned["resource_object_id"]
        self.require_service_principal(
            resource_id, missing=f"Service principal not found for resource (Object ID: {resource_id!r})",
            failed=f"Could not retrieve service principal for resource (Object ID: {resource_id!r})")
        body = {"appRoleId": planned["app_role_id"], "principalId": planned["principal_object_id"],
                "resourceId": resource_id}

        def retryable(exc: GraphAPIError) -> bool:
            return exc.not_found or (exc.status == 400 and "Not a valid reference update" in (exc.graph_message or ""))

        assignment = self.create_object(f"/servicePrincipals/{resource_id}/appRoleAssignedTo", body,
                                        "app role assignment", retry_on=retryable,
                                        missing_id="ID returned for app role assignment is nil")
        path = f"/servicePrincipals/{assignment.get('resourceId') or resource_id}/appRoleAssignedTo/{assignment['id']}"
        self.created_state = {"id": path}
        state = dict(planned, id=path)
        # The read that ends the create, with no retry: an assignment not listed yet is dropped from the state.
        try:
            found = self._listed(path)
        except GraphAPIError as exc:
            raise graph_failure(f"retrieving {path}", exc) from None
        return None if found is None else self.flatten(found, state)

    def _listed(self, path: str, required: bool = False) -> dict[str, Any] | None:
        resource_id, assignment_id = self.parse_id(path)
        for assignment in self.client.list_all(f"/servicePrincipals/{resource_id}/appRoleAssignedTo"):
            if assignment.get("id") == assignment_id:
                return assignment
        if required:
            raise GraphAPIError(f"app role assignment {assignment_id!r} not found", status=404)
        return None

    def find(self, path: str) -> dict[str, Any] | None:
        try:
            return self._listed(path)
        except GraphAPIError as exc:
            if exc.not_found:  # the resource service principal is gone, and its assignments with it
                return None
            raise graph_failure(f"retrieving {path}", exc) from None

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
