"""End to end: `sekoia-sso status` as a report, and drift repairs that converge.

Each drift is made the way a person makes it behind the tool's back: in the portal (Microsoft
Graph calls on the emulator, with an administrator's token) or in Sekoia.io's UI (the emulator's
API, or `edit_sso` for a change of the form that keeps the secret it holds). Then `status` must
see it, one `apply` must repair it, and `status` must then exit 0: the two agree.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from sandbox.sekoia import DEMO_COMMUNITY_UUID
from tests.e2e import apply

pytestmark = pytest.mark.timeout(900)

CALLBACK = "https://app.sekoia.io/user/callback"
COMMUNITY = f"/v1/communities/{DEMO_COMMUNITY_UUID}"
TERRAFORM = {"terraform drift", "terraform plan"}


class Portal:
    """What an administrator does in the Entra portal: Graph calls on the emulator, as the portal makes them."""

    def __init__(self, graph):
        self.graph = graph
        self.http = httpx.Client(base_url=graph.graph_url, timeout=10,
                                 headers={"Authorization": f"Bearer {graph.issue_token()}"})
        self.app = next(a for a in graph.state.applications.values() if "sekoia-sso" in (a.get("tags") or []))
        self.sp = next(sp for sp in graph.state.service_principals.values() if sp.get("appId") == self.app["appId"])

    def call(self, method: str, path: str, body: dict | None = None) -> None:
        self.http.request(method, path, json=body).raise_for_status()

    def user_id(self, upn: str) -> str:
        return next(u["id"] for u in self.graph.state.users if u.get("userPrincipalName") == upn)


class SekoiaUI:
    """What a community admin does in Sekoia.io's UI, on the emulator."""

    def __init__(self, sekoia):
        self.sekoia = sekoia
        self.http = httpx.Client(base_url=sekoia.url, timeout=10,
                                 headers={"Authorization": f"Bearer {sekoia.demo_api_key}"})

    def call(self, method: str, path: str) -> None:
        self.http.request(method, path).raise_for_status()


def redirect_uri_removed(portal: Portal, ui: SekoiaUI) -> None:
    portal.call("PATCH", f"/applications/{portal.app['id']}", {"web": {"redirectUris": []}})


def redirect_uri_added(portal: Portal, ui: SekoiaUI) -> None:
    portal.call("PATCH", f"/applications/{portal.app['id']}",
                {"web": {"redirectUris": [CALLBACK, "https://evil.example/callback"]}})


def display_name_changed(portal: Portal, ui: SekoiaUI) -> None:
    portal.call("PATCH", f"/applications/{portal.app['id']}", {"displayName": "Renamed in the portal"})


def assignment_not_required(portal: Portal, ui: SekoiaUI) -> None:
    portal.call("PATCH", f"/servicePrincipals/{portal.sp['id']}", {"appRoleAssignmentRequired": False})


def assignments_removed(portal: Portal, ui: SekoiaUI) -> None:
    for assignment in [a for a in portal.graph.state.app_role_assignments.values()
                       if a.get("resourceId") == portal.sp["id"]]:
        portal.call("DELETE", f"/servicePrincipals/{portal.sp['id']}/appRoleAssignedTo/{assignment['id']}")


def owner_added(portal: Portal, ui: SekoiaUI) -> None:
    reference = {"@odata.id": f"{portal.graph.graph_url}/directoryObjects/{portal.user_id('ivan@contoso.example')}"}
    portal.call("POST", f"/applications/{portal.app['id']}/owners/$ref", reference)
    portal.call("POST", f"/servicePrincipals/{portal.sp['id']}/owners/$ref", reference)


def notes_and_tags_edited(portal: Portal, ui: SekoiaUI) -> None:
    portal.call("PATCH", f"/applications/{portal.app['id']}",
                {"notes": "edited in the portal", "tags": ["sekoia-sso", "edited-in-the-portal"]})
    portal.call("PATCH", f"/servicePrincipals/{portal.sp['id']}", {"notes": "edited in the portal",
                                                                   "tags": ["sekoia-sso"]})


def secret_deleted(portal: Portal, ui: SekoiaUI) -> None:
    for credential in list(portal.app.get("passwordCredentials") or []):
        portal.call("POST", f"/applications/{portal.app['id']}/removePassword", {"keyId": credential["keyId"]})


def sekoia_sso_edited(portal: Portal, ui: SekoiaUI) -> None:
    ui.sekoia.edit_sso(DEMO_COMMUNITY_UUID, jit_provisioning=False,
                       provider_url="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/")


def sekoia_sso_disabled(portal: Portal, ui: SekoiaUI) -> None:
    ui.call("DELETE", f"{COMMUNITY}/sso")


def sekoia_domain_removed(portal: Portal, ui: SekoiaUI) -> None:
    for domain in ui.sekoia.domains(DEMO_COMMUNITY_UUID):
        ui.call("DELETE", f"{COMMUNITY}/domains/{domain['uuid']}")


# (the drift, the parts of status that must report it as drift)
DRIFTS: dict[str, tuple[Callable[[Portal, SekoiaUI], None], set[str]]] = {
    "redirect_uri_removed": (redirect_uri_removed, TERRAFORM | {"entra application"}),
    "redirect_uri_added": (redirect_uri_added, TERRAFORM | {"entra application"}),
    "display_name_changed": (display_name_changed, TERRAFORM),
    "assignment_not_required": (assignment_not_required, TERRAFORM | {"assignment required"}),
    "assignments_removed": (assignments_removed, TERRAFORM | {"assignments"}),
    "owner_added": (owner_added, TERRAFORM),
    "notes_and_tags_edited": (notes_and_tags_edited, TERRAFORM),
    "secret_deleted": (secret_deleted, TERRAFORM),
    "sekoia_sso_edited": (sekoia_sso_edited, {"sekoia oidc"}),
    "sekoia_sso_disabled": (sekoia_sso_disabled, {"sekoia oidc"}),
    "sekoia_domain_removed": (sekoia_domain_removed, {"domain contoso.example"}),
}
# Everything at once, in an order a person could: a disabled SSO cannot be edited afterwards.
ALL_AT_ONCE = [name for name in DRIFTS if name not in ("sekoia_sso_edited", "redirect_uri_added")]


def status_json(runs, *args: str) -> tuple[int, dict, dict[str, dict]]:
    done = runs("status", "sandbox", "--json", *args)
    document = json.loads(done.out)
    assert document["exit_code"] == done.returncode, done.err
    return done.returncode, document, {check["part"]: check for check in document["checks"]}


@pytest.mark.parametrize("drifts", [*([name] for name in DRIFTS), ALL_AT_ONCE],
                         ids=[*DRIFTS, "all_at_once"])
def test_status_sees_each_drift_and_one_apply_repairs_it_so_status_then_exits_0(
        runs, graph_emulator, sekoia_emulator, drifts):
    assert apply(runs).returncode == 0
    portal, ui = Portal(graph_emulator), SekoiaUI(sekoia_emulator)
    for name in drifts:
        DRIFTS[name][0](portal, ui)
    wanted = set().union(*(DRIFTS[name][1] for name in drifts))

    code, _, parts = status_json(runs)
    assert code == 1
    drifted = {part for part, check in parts.items() if check["state"] in ("drift", "problem")}
    assert drifted == wanted, {part: parts[part]["detail"] for part in drifted ^ wanted}

    repaired = apply(runs)
    assert repaired.returncode == 0, repaired.err
    code, document, parts = status_json(runs)
    assert code == 0, {part: check["detail"] for part, check in parts.items() if check["state"] != "ok"}
    assert {check["state"] for check in document["checks"]} == {"ok"}
    assert parts["terraform drift"]["resources"] == [] and parts["terraform plan"]["counts"] == {}
    assert parts["entra application"]["redirect_uris"] == {"wanted": [CALLBACK], "actual": [CALLBACK],
                                                           "missing": [], "extra": []}
    if drifts in (["redirect_uri_removed"], ALL_AT_ONCE):  # the case: apply and status agree
        again = apply(runs)
        assert again.returncode == 0 and "Nothing to do" in again.err, again.err


def test_a_service_principal_attribute_that_follows_its_application_is_not_drift(runs, graph_emulator):
    # The portal edit drifts the service principal's redirect_uris too (they follow the application's);
    # apply repairs the application, the next refresh sees the service principal's change back, and
    # nothing sets or reads that attribute: it is not drift, in status nor in the plan apply shows.
    assert apply(runs).returncode == 0
    redirect_uri_removed(Portal(graph_emulator), None)
    assert apply(runs).returncode == 0
    done = runs("status", "sandbox")
    assert done.returncode == 0, done.out
    assert "terraform drift        OK       Entra ID objects match the state" in done.out
    assert "azuread_service_principal" not in done.out
    planned = runs("plan", "sandbox", "--json")
    assert planned.returncode == 0, planned.err
    assert json.loads(planned.out)["drift"] == []
