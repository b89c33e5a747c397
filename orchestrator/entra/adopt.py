"""Entra ID objects an interrupted run created but Terraform never recorded: adopted by the next run.

Terraform records an object in its state once the provider's create returns. A run killed in
between (`kill -9`, a CI runner or a machine dying, Terraform dying of a broken pipe when the CLI
is killed) leaves the object in Entra ID and not in the state. The next plan would then create a
second application, or fail for ever on a service principal or an assignment Entra ID already has
("already exists"). So when a plan creates any of these, `apply` first looks for them in Entra ID —
the application by its display name and this environment's tag `sekoia-sso:<env>`, the service
principal by the application's client ID, each assignment by its principal and app role, the
admin consent grant by its client and resource (Entra ID keeps one: a second create would fail for
ever with 409) — and imports what it finds into the state; then it plans again.

Passwords cannot be imported (a secret's value is never readable again), and one the state does
not know is one nobody holds: Sekoia.io only ever gets the secret of the Terraform outputs. Once
Sekoia.io holds the state's secret, the application's `sekoia-sso-*` passwords that the state does
not list are removed, so the application keeps only the secrets Terraform manages.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from orchestrator.config.schema import Environment
from orchestrator.errors import GraphError, UnrecordedObjectsError
from orchestrator.terraform.planview import PlanSummary

if TYPE_CHECKING:
    from orchestrator.entra.graph import GraphClient

MODULE = "module.sekoia_sso."
APPLICATION = MODULE + "azuread_application.this"
SERVICE_PRINCIPAL = MODULE + "azuread_service_principal.this"
ASSIGNMENT = MODULE + "azuread_app_role_assignment.this["
PASSWORD = MODULE + "azuread_application_password.this["
CONSENT_GRANT = MODULE + "azuread_service_principal_delegated_permission_grant.this"
PASSWORD_NAME_PREFIX = "sekoia-sso-"  # the module names each slot's password sekoia-sso-<slot>


def creates(summary: PlanSummary, prefix: str) -> list[Any]:
    return [c for c in summary.resource_changes if c.action == "create" and c.address.startswith(prefix)]


def may_adopt(summary: PlanSummary) -> bool:
    """Whether the plan creates an object an interrupted run may have left in Entra ID unrecorded."""
    return any(creates(summary, prefix) for prefix in (APPLICATION, SERVICE_PRINCIPAL, ASSIGNMENT, CONSENT_GRANT))


def _planned(change: Any, name: str) -> Any:
    """The planned value of a top-level attribute; None when unknown until apply."""
    return next((a.after for a in change.attributes if a.path == name and not a.after_unknown), None)


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def adopt_unrecorded(graph: GraphClient, import_resource: Callable[[str, str], Any], env: Environment,
                     summary: PlanSummary, note: Callable[[str], None]) -> list[str]:
    """Import the objects `summary` would create that Entra ID already has; the addresses imported."""
    imported: list[str] = []
    client_id = None
    service_principal_id = None
    if creates(summary, APPLICATION):
        tag = f"sekoia-sso:{env.name}"
        name = env.config.application.display_name
        found = [app for page in graph.iter_pages("/applications", {
            "$filter": f"displayName eq {_odata_string(name)}", "$select": "id,appId,displayName,tags"})
            for app in page if tag in (app.get("tags") or [])]
        if len(found) > 1:
            raise UnrecordedObjectsError(
                f"Entra ID has {len(found)} applications named {name!r} tagged {tag} and the Terraform state "
                f"knows none of them (object IDs {', '.join(sorted(a['id'] for a in found))}): interrupted runs "
                "left them. Delete all but one in the Entra admin center (App registrations), then re-run; "
                "the one left is adopted"
            )
        if found:
            application = found[0]
            import_resource(APPLICATION, f"/applications/{application['id']}")
            note(f"adopted application {application['id']}: an interrupted run made it, the state had lost it")
            imported.append(APPLICATION)
            client_id = application.get("appId")
    service_principal_creates = creates(summary, SERVICE_PRINCIPAL)
    if service_principal_creates:
        client_id = client_id or _planned(service_principal_creates[0], "client_id")
        if client_id:
            found = [sp for page in graph.iter_pages("/servicePrincipals", {
                "$filter": f"appId eq {_odata_string(client_id)}", "$select": "id"}) for sp in page]
            if found:
                service_principal_id = found[0]["id"]
                import_resource(SERVICE_PRINCIPAL, f"/servicePrincipals/{service_principal_id}")
                note(f"adopted service principal {service_principal_id}: an interrupted run made it")
                imported.append(SERVICE_PRINCIPAL)
    assignment_creates = creates(summary, ASSIGNMENT)
    if assignment_creates:
        resource_id = service_principal_id or _planned(assignment_creates[0], "resource_object_id")
        if resource_id:
            existing = [a for page in graph.iter_pages(f"/servicePrincipals/{resource_id}/appRoleAssignedTo",
                                                       {"$top": 999}) for a in page]
            for change in assignment_creates:
                principal = str(_planned(change, "principal_object_id") or "").lower()
                role = str(_planned(change, "app_role_id") or "").lower()
                match = next((a for a in existing if str(a.get("principalId", "")).lower() == principal
                              and str(a.get("appRoleId", "")).lower() == role), None)
                if principal and match is not None:
                    import_resource(change.address, f"/servicePrincipals/{resource_id}/appRoleAssignedTo/{match['id']}")
                    note(f"adopted the assignment of {match.get('principalDisplayName') or principal}")
                    imported.append(change.address)
    for change in creates(summary, CONSENT_GRANT):
        # Entra ID keeps one tenant-wide grant per client and resource: another create answers 409.
        client = service_principal_id or _planned(change, "service_principal_object_id")
        resource = str(_planned(change, "resource_service_principal_object_id") or "").lower()
        if client and resource:
            match = next((g for page in graph.iter_pages("/oauth2PermissionGrants", {
                "$filter": f"clientId eq {_odata_string(client)}"}) for g in page
                if g.get("consentType") == "AllPrincipals" and str(g.get("resourceId", "")).lower() == resource), None)
            if match is not None:
                import_resource(change.address, f"/oauth2PermissionGrants/{match['id']}")
                note(f"adopted the admin consent grant {match['id']}: an interrupted run made it")
                imported.append(change.address)
    return imported


def remove_unrecorded_passwords(graph: GraphClient, application_object_id: str, recorded_key_ids: Iterable[str],
                                note: Callable[[str], None]) -> list[str]:
    """Remove the application's sekoia-sso-* passwords the state does not list; their key IDs.

    Call it only once Sekoia.io holds the state's secret: a password outside the state is then one
    nobody can be using.
    """
    recorded = {str(k).lower() for k in recorded_key_ids if k}
    path = f"/applications/{application_object_id}"
    application = graph.get(path, {"$select": "id,passwordCredentials"})
    removed = []
    for credential in application.get("passwordCredentials") or []:
        key_id = str(credential.get("keyId") or "")
        if (not key_id or key_id.lower() in recorded
                or not str(credential.get("displayName") or "").startswith(PASSWORD_NAME_PREFIX)):
            continue
        try:
            graph.action(f"{path}/removePassword", {"keyId": key_id})
        except GraphError:
            # A retried removal whose first try had worked answers "no such key": read back to tell.
            left = graph.get(path, {"$select": "id,passwordCredentials"}).get("passwordCredentials") or []
            if any(str(c.get("keyId")) == key_id for c in left):
                raise
        note(f"removed secret {key_id} ({credential.get('displayName')}): an interrupted run made it, no one "
             "holds it")
        removed.append(key_id)
    return removed
