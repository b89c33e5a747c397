"""Every example of the module (terraform/modules/sekoia-sso/examples/*) as a user runs it, with real
Terraform on the sandbox: init, plan, apply, a second plan that must be empty, destroy.

Each example runs on a copy of the module (the checkout may be read-only) against the emulated
tenant, which holds the groups and user the examples name.
"""

from __future__ import annotations

import json
import re

import hcl2
import pytest

from tests.harness.fixtures_sandbox import run_terraform
from tests.harness.module import EXAMPLES, MODULE, copy_module, tenant_objects

pytestmark = pytest.mark.timeout(300)

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_there_are_the_two_documented_examples():
    assert EXAMPLES == ["complete", "minimal"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_says_its_versions_and_outputs(example):
    directory = MODULE / "examples" / example
    with (directory / "versions.tf").open() as handle:
        terraform = hcl2.load(handle)["terraform"][0]
    azuread = terraform["required_providers"][0]["azuread"]
    assert (azuread["source"], azuread["version"]) == ('"hashicorp/azuread"', '">= 3.7, < 4.0"')  # hcl2 keeps quotes
    assert terraform["required_version"] == '">= 1.5.0"'
    with (directory / "outputs.tf").open() as handle:
        outputs = {name.strip('"') for block in hcl2.load(handle)["output"] for name in block}
    assert {"client_id", "tenant_endpoint", "client_secret"} <= outputs


@pytest.mark.parametrize("example", EXAMPLES)
def test_each_example_applies_replans_empty_and_destroys(example, sandbox, graph_emulator, tmp_path):
    before = tenant_objects(graph_emulator)
    workdir = copy_module(tmp_path) / "examples" / example
    run_terraform(sandbox, workdir, "init")
    run_terraform(sandbox, workdir, "plan", "-out=example.tfplan")
    applied = run_terraform(sandbox, workdir, "apply", "example.tfplan", timeout=180)
    assert "Apply complete!" in applied.stdout

    outputs = json.loads(run_terraform(sandbox, workdir, "output", "-json").stdout)
    client_id = outputs["client_id"]["value"]
    assert GUID.match(client_id)
    assert outputs["tenant_endpoint"]["value"] == f"https://login.microsoftonline.com/{graph_emulator.tenant_id}/"
    assert outputs["client_secret"]["sensitive"] is True
    application = next(a for a in graph_emulator.state.applications.values() if a.get("appId") == client_id)
    assert len(application["passwordCredentials"]) == 2  # both secret slots
    secret = outputs["client_secret"]["value"]
    assert secret and secret not in applied.stdout + applied.stderr  # shown only on request

    # A second plan of an untouched tenant changes nothing: -detailed-exitcode says 0, not 2.
    replanned = run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(0,))
    assert "No changes." in replanned.stdout

    run_terraform(sandbox, workdir, "destroy", "-auto-approve", timeout=180)
    assert tenant_objects(graph_emulator) == before  # nothing left behind
    assert graph_emulator.internal_errors == []


def test_the_complete_example_assigns_every_principal_and_grants_consent(sandbox, graph_emulator, tmp_path):
    state = graph_emulator.state
    by_name = {g["displayName"]: g["id"] for g in state.groups}
    extra_user = next(u["id"] for u in state.users if u["userPrincipalName"] != "ivan@contoso.example")
    workdir = copy_module(tmp_path) / "examples" / "complete"
    run_terraform(sandbox, workdir, "init")
    variables = ("-var", f'extra_group_object_ids=["{by_name["SOC Tier 2"]}"]',
                 "-var", f'extra_user_object_ids=["{extra_user}"]',
                 "-var", f'owner_object_ids=["{graph_emulator.principal_object_id}"]')
    run_terraform(sandbox, workdir, "apply", "-auto-approve", *variables, timeout=180)
    shown = json.loads(run_terraform(sandbox, workdir, "output", "-json").stdout)
    outputs = {name: output["value"] for name, output in shown.items()}

    ivan = state.users_by_upn["ivan@contoso.example"]["id"]
    assigned = {(a["principalId"], a["appRoleId"]) for a in state.app_role_assignments.values()
                if a["resourceId"] == outputs["service_principal_object_id"]}
    assert assigned == {(principal, "00000000-0000-0000-0000-000000000000") for principal in
                        (by_name["SOC Analysts"], by_name["SOC Leads"], by_name["SOC Tier 2"], ivan, extra_user)}
    grants = [grant for grant in state.oauth2_permission_grants.values()
              if grant["clientId"] == outputs["service_principal_object_id"]]
    assert len(grants) == 1 and set(grants[0]["scope"].split()) == {"openid", "profile", "email", "User.Read"}
    assert outputs["module_version"] == "1.0.0"
    assert sorted(outputs["secrets"]) == ["blue", "green"] and outputs["active_secret_slot"] in ("blue", "green")
    assert outputs["client_secret"] == outputs["secret_values"][outputs["active_secret_slot"]]

    # The consumer holds the other slot's secret: client_secret follows it, and nothing in Entra ID changes.
    other = "green" if outputs["active_secret_slot"] == "blue" else "blue"
    held = ("-var", f"active_secret_key_id={outputs['secrets'][other]['key_id']}")
    run_terraform(sandbox, workdir, "plan", "-out=held.tfplan", *variables, *held)
    planned = json.loads(run_terraform(sandbox, workdir, "show", "-json", "held.tfplan").stdout)
    assert {tuple(change["change"]["actions"]) for change in planned["resource_changes"]} == {("no-op",)}
    run_terraform(sandbox, workdir, "apply", "-auto-approve", *variables, *held, timeout=180)
    moved = json.loads(run_terraform(sandbox, workdir, "output", "-json", "active_secret_slot").stdout)
    assert moved == other
    run_terraform(sandbox, workdir, "destroy", "-auto-approve", *variables, *held, timeout=180)


def test_a_group_named_twice_in_two_cases_stops_the_plan_before_anything_is_created(sandbox, graph_emulator,
                                                                                      tmp_path):
    before = tenant_objects(graph_emulator)
    leads = next(g["id"] for g in graph_emulator.state.groups if g["displayName"] == "SOC Leads")
    workdir = copy_module(tmp_path) / "examples" / "complete"
    run_terraform(sandbox, workdir, "init")
    refused = run_terraform(sandbox, workdir, "apply", "-auto-approve",
                            "-var", f'extra_group_object_ids=["{leads}", "{leads.upper()}"]', ok=(1,))
    said = " ".join(refused.stderr.split())  # Terraform wraps long messages
    assert "group_object_ids must not name one object ID twice (they are compared without case)." in said
    assert re.search(r'on main\.tf line \d+, in module "sekoia_sso"', said)  # where: the caller's line that passes it
    assert tenant_objects(graph_emulator) == before
