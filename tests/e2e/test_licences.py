"""End to end (#16 §3, §4): a tenant without Entra ID P1/P2 cannot assign groups, and the tool says so before
it writes anything; Graph's spelling of endDateTime leaves the module's plans empty. Real Terraform, both
emulators, the CLI as a process.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.harness.e2e import apply, error_paragraph, tenant_counts

pytestmark = pytest.mark.timeout(600)


def graph_writes(graph_emulator) -> list:
    return [r for r in graph_emulator.requests if r.method != "GET" and r.path != "/v1.0/$batch"
            and "/oauth2/" not in r.path]


def refusal_said(err: str) -> None:
    paragraph = " ".join(error_paragraph(err))
    for fragment in ("envs/sandbox.yaml", "access.groups lists 2 group(s)", "no Entra ID P1 or P2 licence",
                     "access.users", "Nothing was changed"):
        assert fragment in paragraph, paragraph


@pytest.fixture
def unlicensed(graph_emulator):
    graph_emulator.state.entra_id_premium = False
    graph_emulator.clear_requests()
    return graph_emulator


def test_preflight_says_the_tenant_cannot_assign_groups(runs, unlicensed):
    told = runs("preflight", "sandbox")
    assert told.returncode == 1, told.err
    assert "Group assignment: this tenant CANNOT assign groups" in told.out
    assert "assign their users under access.users" in told.out
    refusal_said(told.err)
    machine = runs("preflight", "sandbox", "--format", "json", "--warn-only")
    assert machine.returncode == 0, machine.err
    report = json.loads(machine.out)
    assert report["groupAssignment"] == {"licensed": False, "premiumPlans": [], "unknownBecause": None}
    assert report["ok"] is False
    assert graph_writes(unlicensed) == []


def test_plan_says_apply_will_refuse(runs, unlicensed):
    text = runs("plan", "sandbox")
    assert text.returncode == 0, text.err
    assert ("Entra ID licence: this tenant CANNOT assign groups: it has no Entra ID P1 or P2 licence: apply will "
            "refuse") in text.out
    machine = runs("plan", "sandbox", "--json")
    assert json.loads(machine.out)["group_assignment"]["licensed"] is False
    assert graph_writes(unlicensed) == []


@pytest.mark.parametrize("extra", [(), ("--skip-preflight",)], ids=["with-preflight", "skip-preflight"])
def test_apply_refuses_before_any_write(runs, unlicensed, sekoia_emulator, extra):
    sekoia_emulator.clear_requests()
    refused = apply(runs, *extra)
    assert refused.returncode == 1, refused.err
    refusal_said(refused.err)
    shown = refused.out + refused.err
    assert "Entra ID licence:" in shown and "CANNOT assign groups" in shown
    # nothing written anywhere: no Entra object, no Graph write, no Sekoia.io write, no saved plan left
    assert tenant_counts(unlicensed) == {"applications": 0, "service_principals": 0, "passwords": 0,
                                         "assignments": 0}
    assert graph_writes(unlicensed) == []
    assert sekoia_emulator.write_requests == []
    assert not list(runs.project.rglob("*.tfplan"))


def test_a_licence_lapsed_after_the_groups_were_assigned_blocks_no_rerun(runs, graph_emulator):
    assert apply(runs).returncode == 0
    graph_emulator.state.entra_id_premium = False
    graph_emulator.clear_requests()
    again = apply(runs)
    assert again.returncode == 0, again.err
    assert "Nothing to do" in again.err and "CANNOT assign groups" in again.out + again.err
    assert graph_writes(graph_emulator) == []
    assert runs("preflight", "sandbox").returncode == 1  # the preflight still says so


def test_a_licensed_tenant_applies_and_graphs_end_date_spelling_keeps_plans_empty(runs, graph_emulator):
    done = apply(runs)
    assert done.returncode == 0, done.err
    assert "this tenant can assign groups (Entra ID AAD_PREMIUM)" in done.out + done.err
    assert tenant_counts(graph_emulator)["assignments"] == 3  # two groups and a user
    # The state holds Graph's spelling, verbatim, as the real provider keeps it: whole seconds for the
    # end date the module asks for (no fraction), seven digits for the start Graph picked itself.
    state = json.loads(runs.state_path.read_text())
    passwords = [instance["attributes"] for resource in state["resources"]
                 if resource["type"] == "azuread_application_password" for instance in resource["instances"]]
    assert len(passwords) == 2
    credentials = {c["keyId"]: c for app in graph_emulator.state.applications.values()
                   for c in app.get("passwordCredentials") or ()}
    for password in passwords:
        graph = credentials[password["key_id"]]
        assert password["end_date"] == graph["endDateTime"]
        assert password["start_date"] == graph["startDateTime"]
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", password["end_date"])
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z", password["start_date"])
    assert not runs.plain_plan().has_changes
    # Graph spelling an end date with its fraction (another instant's spelling than the configured one)
    # replaces no password: ignore_changes = [end_date] holds; only the outputs that show it follow
    for credential in credentials.values():
        credential["endDateTime"] = credential["endDateTime"].replace("Z", ".1234567Z")
    runner = runs.runner()
    summary = runner.show_plan(runs.plain_plan().plan_path)
    assert summary.resource_changes == ()
    assert {change.name for change in summary.output_changes} <= {"client_secret_end_date", "secrets"}
