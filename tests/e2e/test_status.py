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

from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import apply

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
    # login readiness: authorize answers AADSTS50011 to the redirect URI Sekoia.io sends
    "redirect_uri_removed": (redirect_uri_removed, TERRAFORM | {"entra application", "login readiness"}),
    "redirect_uri_added": (redirect_uri_added, TERRAFORM | {"entra application"}),
    "display_name_changed": (display_name_changed, TERRAFORM),
    "assignment_not_required": (assignment_not_required, TERRAFORM | {"assignment required"}),
    "assignments_removed": (assignments_removed, TERRAFORM | {"assignments", "login readiness"}),  # AADSTS50105
    "owner_added": (owner_added, TERRAFORM),
    "notes_and_tags_edited": (notes_and_tags_edited, TERRAFORM),
    # the one Sekoia.io holds is gone: the token endpoint refuses it
    "secret_deleted": (secret_deleted, TERRAFORM | {"client secret", "login readiness"}),
    "sekoia_sso_edited": (sekoia_sso_edited, {"sekoia oidc", "login readiness"}),  # the login goes to another tenant
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


# `make test` sees every drift: the issue's own case alone, and the rest in two combinations; each drift on its
# own, in `make test-slow` (eleven more applies of the whole sandbox).
IN_MAKE_TEST = {"redirect_uri_removed"}
THE_OTHER_TWO = [name for name in DRIFTS if name not in ALL_AT_ONCE]


@pytest.mark.parametrize("drifts", [
    *(pytest.param([name], id=name, marks=() if name in IN_MAKE_TEST else pytest.mark.slow) for name in DRIFTS),
    pytest.param(ALL_AT_ONCE, id="all_at_once"), pytest.param(THE_OTHER_TWO, id="the_other_two_at_once")])
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


# ----------------------------------------------------------------------------------------------
# a report, not a script


def closed_port_url() -> str:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"  # nothing listens there once closed


def graph_unreachable(runs, graph) -> None:
    """The CLI's Graph calls go nowhere; Terraform's provider (its own address) and the login still work."""
    path = runs.sandbox_dir / "endpoints.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "graph_url": closed_port_url()}))


def sekoia_unreachable(runs, graph) -> None:
    path = runs.sandbox_dir / "endpoints.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "sekoia_url": closed_port_url()}))


def terraform_fails(runs, graph) -> None:
    """Only the provider reads the owners: its refresh fails, nothing the other parts read does."""
    portal = Portal(graph)
    graph.queue_fault(403, path_prefix=f"/v1.0/servicePrincipals/{portal.sp['id']}/owners", times=1000,
                      code="Authorization_RequestDenied", message="Insufficient privileges to complete the operation.")


# The parts of the sandbox's report, in its order.
PARTS = ["rendered HCL", "terraform drift", "terraform plan", "entra application", "assignment required",
         "assignments", "client secret", "discovery document", "login readiness", "domain contoso.example",
         "sekoia oidc"]
BREAKS = {
    "graph_unreachable": (graph_unreachable, {"entra application", "assignment required", "assignments"}),
    "sekoia_unreachable": (sekoia_unreachable, {"sekoia domains", "sekoia oidc", "login readiness"}),
    "terraform_fails": (terraform_fails, {"terraform drift", "terraform plan"}),
}


@pytest.mark.parametrize("broken", list(BREAKS))
def test_a_part_that_cannot_be_read_is_that_parts_problem_and_the_others_still_report(
        runs, graph_emulator, sekoia_emulator, broken):
    assert apply(runs).returncode == 0
    breaks, wanted = BREAKS[broken]
    breaks(runs, graph_emulator)
    code, document, parts = status_json(runs)
    assert code == 1
    assert "Traceback" not in json.dumps(document)
    problems = {part for part, check in parts.items() if check["state"] != "ok"}
    assert problems == wanted, {part: parts[part]["detail"] for part in problems ^ wanted}
    assert all(parts[part]["state"] == "problem" and len(parts[part]["detail"]) > 20 for part in wanted)
    # the parts that could be read report as ever, with their fields
    reported = set(PARTS) - wanted - ({"domain contoso.example"} if "sekoia domains" in wanted else set())
    assert reported <= set(parts) and all(parts[part]["state"] == "ok" for part in reported)
    assert parts["client secret"]["key_id"] == runs.outputs()["client_secret_key_id"]
    if broken == "terraform_fails":
        assert "Insufficient privileges" in parts["terraform plan"]["detail"]
    if broken == "graph_unreachable":
        assert parts["domain contoso.example"]["status"] == "verified"
        assert parts["sekoia oidc"]["secret"]["held_is_current"] is True


def test_the_report_goes_to_stdout_and_json_gives_each_parts_fields(runs, sekoia_emulator):
    assert apply(runs).returncode == 0
    text = runs("status", "sandbox")
    assert text.returncode == 0, text.err
    lines = text.out.splitlines()
    assert [line[:23].rstrip() for line in lines] == PARTS
    assert all(" OK " in line for line in lines)
    assert text.err.strip() == "==> Status of environment sandbox"

    code, document, parts = status_json(runs)
    outputs = runs.outputs()
    assert code == 0 and document["strict"] is False and document["counts"] == {"ok": 11}
    assert set(document) == {"environment", "exit_code", "strict", "counts", "checks"}
    secret = parts["client secret"]
    assert secret["key_id"] == outputs["client_secret_key_id"] and secret["end_date"] == outputs[
        "client_secret_end_date"]
    assert 179 < secret["days_left"] <= 180 and secret["rotate_before_days"] == 30
    assert parts["assignment required"]["wanted"] is True and parts["assignment required"]["actual"] is True
    assert parts["assignments"]["assigned"] == 3 and parts["assignments"]["missing"] == []
    assert parts["entra application"]["client_id"] == outputs["client_id"]
    assert parts["domain contoso.example"]["status"] == "verified"
    oidc = parts["sekoia oidc"]
    sso = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)
    assert oidc["configured"] is True and oidc["changes"] == [] and oidc["login_url"] == sso["login_url"]
    assert oidc["secret"] == {"current_key_id": outputs["client_secret_key_id"],
                              "held_key_id": outputs["client_secret_key_id"], "held_is_current": True}
    assert parts["discovery document"]["issuer"].endswith("/v2.0")


def test_a_secret_inside_its_rotation_window_warns_and_fails_only_with_strict(runs):
    assert apply(runs).returncode == 0
    yaml_path = runs.project / "envs/sandbox.yaml"
    # a window as long as the secret's life: it is inside from its first day (the end date stays as created)
    yaml_path.write_text(yaml_path.read_text().replace("rotate_before_days: 30", "rotate_before_days: 180")
                         .replace("validity_days: 180", "validity_days: 181"))
    assert runs("render", "sandbox").returncode == 0
    code, document, parts = status_json(runs)
    assert code == 0
    secret = parts["client secret"]
    assert secret["state"] == "warning" and "inside the rotation window (180)" in secret["detail"]
    assert "sekoia-sso rotate sandbox" in secret["detail"] and secret["rotate_before_days"] == 180
    assert document["counts"] == {"ok": 10, "warning": 1}
    strict, document, _ = status_json(runs, "--strict")
    assert strict == 1 and document["strict"] is True
    text = runs("status", "sandbox", "--strict")
    assert text.returncode == 1 and "client secret          WARNING" in text.out


def test_the_secret_check_never_raises_on_missing_or_odd_outputs():
    from orchestrator.config.loading import load_environment
    from orchestrator.workflows.status import _check_client_secret
    from tests.harness.project import REPO

    env = load_environment(REPO, "sandbox")
    cases = {
        "unreadable": (None, "problem", "could not be read"),
        "nothing applied": ({}, "problem", "nothing applied yet"),
        "not a date": ({"client_secret_end_date": "soon", "client_secret_key_id": "k"}, "problem", "not a date"),
        "expired": ({"client_secret_end_date": "2000-01-01T00:00:00Z", "client_secret_key_id": "k"}, "problem",
                    "EXPIRED"),
        "fine": ({"client_secret_end_date": "2999-01-01T00:00:00Z", "client_secret_key_id": "k"}, "ok", "days left"),
    }
    for name, (outputs, state, words) in cases.items():
        check = _check_client_secret(outputs, env)
        assert (check.state, words in check.detail) == (state, True), name
        assert check.to_dict()["part"] == "client secret" and "rotate_before_days" in check.to_dict()
