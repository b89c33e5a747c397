"""The emulated azuread provider under real Terraform, against the Graph emulator.

Every test runs the Terraform binary on a root module in a temporary directory, with the
provider installed from the sandbox's filesystem mirror: what is checked is what Terraform sees
(schema, diagnostics, plans, state) and what lands in the emulated tenant.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tf.gen import tfplugin_pb2 as pb
from tf.types import Unknown

from sandbox.graph.emulator import GraphEmulator
from sandbox.provider.planning import plan
from sandbox.provider.provider import AzureADProvider
from sandbox.provider.schema import (
    DATA_SOURCE_TYPES,
    RESOURCE_TYPES,
    SCHEMA_VERSIONS,
    parse_type,
    resource_spec,
    schema_data,
)
from sandbox.provider.server import CERT_CACHE_FILE, MAGIC_COOKIE_KEY, MAGIC_COOKIE_VALUE, Servicer
from sandbox.up import Sandbox
from tests.harness.e2e import alive
from tests.harness.fixtures_sandbox import run_terraform
from tests.harness.module import tenant_objects

pytestmark = pytest.mark.timeout(240)

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"
OPENID = "37f7f235-527c-4136-accd-4a02d197296e"
EMAIL = "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"

HEADER = """
terraform {
  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = "3.7.0"
    }
  }
}

provider "azuread" {}
"""

# Every resource type and data source the sekoia-sso module uses, set the way the module sets them.
ROOT = HEADER + """
data "azuread_client_config" "current" {}

data "azuread_group" "analysts" {
  display_name     = "SOC Analysts"
  security_enabled = true
}

data "azuread_user" "ivan" {
  user_principal_name = "ivan@contoso.example"
}

data "azuread_service_principal" "graph" {
  client_id = "00000003-0000-0000-c000-000000000000"
}

resource "azuread_application" "sso" {
  display_name     = "Sekoia.io SSO"
  sign_in_audience = "AzureADMyOrg"
  owners           = [data.azuread_client_config.current.object_id]
  notes            = "Sekoia.io single sign-on; managed by Terraform."
  tags             = ["sekoia-sso"]

  web {
    redirect_uris = ["https://app.sekoia.io/user/callback"]

    implicit_grant {
      access_token_issuance_enabled = false
      id_token_issuance_enabled     = false
    }
  }

  optional_claims {
    id_token {
      name      = "email"
      essential = true
    }
    id_token {
      name      = "given_name"
      essential = true
    }
  }

  required_resource_access {
    resource_app_id = "00000003-0000-0000-c000-000000000000"

    resource_access {
      id   = "37f7f235-527c-4136-accd-4a02d197296e"
      type = "Scope"
    }
    resource_access {
      id   = "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"
      type = "Scope"
    }
  }
}

resource "azuread_application_password" "sso" {
  application_id = azuread_application.sso.id
  display_name   = "PASSWORD_NAME"
  end_date       = "2030-01-01T00:00:00Z"
}

resource "azuread_service_principal" "sso" {
  client_id                    = azuread_application.sso.client_id
  app_role_assignment_required = true
  owners                       = [data.azuread_client_config.current.object_id]
  notes                        = "Sekoia.io single sign-on; managed by Terraform."
  tags                         = ["sekoia-sso"]
}

resource "azuread_app_role_assignment" "analysts" {
  app_role_id         = "00000000-0000-0000-0000-000000000000"
  principal_object_id = data.azuread_group.analysts.object_id
  resource_object_id  = azuread_service_principal.sso.object_id
}

resource "azuread_app_role_assignment" "ivan" {
  app_role_id         = "00000000-0000-0000-0000-000000000000"
  principal_object_id = data.azuread_user.ivan.object_id
  resource_object_id  = azuread_service_principal.sso.object_id
}

resource "azuread_service_principal_delegated_permission_grant" "consent" {
  service_principal_object_id          = azuread_service_principal.sso.object_id
  resource_service_principal_object_id = data.azuread_service_principal.graph.object_id
  claim_values                         = ["openid", "email"]
}

output "ids" {
  value = {
    application_object_id       = azuread_application.sso.object_id
    client_id                   = azuread_application.sso.client_id
    service_principal_object_id = azuread_service_principal.sso.object_id
    password_key_id             = azuread_application_password.sso.key_id
  }
}

output "client_secret" {
  value     = azuread_application_password.sso.value
  sensitive = true
}
"""


def flat(text: str) -> str:
    """Terraform wraps diagnostics at 78 columns: compare texts with whitespace runs as one space."""
    return " ".join(text.split())


def write_root(workdir: Path, hcl: str) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "main.tf").write_text(hcl)
    return workdir


def outputs(sandbox: Sandbox, workdir: Path) -> dict:
    """The root's outputs by name, with the members of its `ids` object as outputs of their own."""
    result = run_terraform(sandbox, workdir, "output", "-json")
    values = {name: item["value"] for name, item in json.loads(result.stdout).items()}
    return {**values.pop("ids"), **values}


def assignments_of(graph: GraphEmulator, resource_id: str) -> set[tuple[str, str]]:
    return {(a["principalId"], a["appRoleId"]) for a in graph.state.app_role_assignments.values()
            if a["resourceId"] == resource_id}


# ------------------------------------------------------------------------------------------------
# Schema as Terraform sees it
# ------------------------------------------------------------------------------------------------


def _cty_json(cty):
    """parse_type's form → the form of `terraform providers schema -json`."""
    if isinstance(cty, str):
        return cty
    kind, element = cty
    if kind == "object":
        return ["object", {name: _cty_json(t) for name, t in element.items()}]
    return [kind, _cty_json(element)]


def _object_of(raw_block: dict) -> list:
    members = {name: _cty_json(parse_type(a["type"])) for name, a in raw_block.get("attributes", {}).items()}
    for name, nested in raw_block.get("blocks", {}).items():
        members[name] = ["list", _object_of(nested)]
    return ["object", members]


def _compare_block(served: dict, raw: dict, where: str, problems: list[str]) -> None:
    flags = {"R": ("required",), "O": ("optional",), "OC": ("optional", "computed"), "C": ("computed",)}
    attributes = served.get("attributes", {})
    blocks = served.get("block_types", {})
    expected_attributes = dict(raw.get("attributes", {}))
    for name, attr in expected_attributes.items():
        got = attributes.get(name)
        if got is None:
            problems.append(f"{where}.{name}: attribute missing")
            continue
        for flag in ("required", "optional", "computed"):
            if bool(got.get(flag)) != (flag in flags[attr["mode"]]):
                problems.append(f"{where}.{name}: {flag}={bool(got.get(flag))}, schema data mode {attr['mode']}")
        if bool(got.get("sensitive")) != bool(attr.get("sensitive")):
            problems.append(f"{where}.{name}: sensitive={bool(got.get('sensitive'))}")
        if got["type"] != _cty_json(parse_type(attr["type"])):
            problems.append(f"{where}.{name}: type {got['type']} != {attr['type']}")
    for name, block in raw.get("blocks", {}).items():
        if block["mode"] == "C":
            got = attributes.get(name)
            if got is None or not got.get("computed") or got.get("optional") or got.get("required"):
                problems.append(f"{where}.{name}: computed-only block not served as a computed attribute")
            elif got["type"] != ["list", _object_of(block)]:
                problems.append(f"{where}.{name}: type {got['type']}")
            continue
        got = blocks.get(name)
        if got is None:
            problems.append(f"{where}.{name}: block missing")
            continue
        if got["nesting_mode"] != block["nesting"]:
            problems.append(f"{where}.{name}: nesting {got['nesting_mode']} != {block['nesting']}")
        if got.get("max_items") != block.get("max_items"):
            problems.append(f"{where}.{name}: max_items {got.get('max_items')} != {block.get('max_items')}")
        expected_min = block.get("min_items", 1 if block["mode"] == "R" else None)
        if got.get("min_items") != expected_min:
            problems.append(f"{where}.{name}: min_items {got.get('min_items')} != {expected_min}")
        _compare_block(got["block"], block, f"{where}.{name}", problems)
    expected_names = set(expected_attributes) | {n for n, b in raw.get("blocks", {}).items() if b["mode"] == "C"}
    extra = set(attributes) - expected_names
    if extra:
        problems.append(f"{where}: attributes not in the schema data: {sorted(extra)}")
    extra_blocks = set(blocks) - {n for n, b in raw.get("blocks", {}).items() if b["mode"] != "C"} - {"timeouts"}
    if extra_blocks:
        problems.append(f"{where}: blocks not in the schema data: {sorted(extra_blocks)}")


def test_terraform_sees_the_azuread_3_7_0_schema_of_the_schema_data(sandbox, tmp_path):
    workdir = write_root(tmp_path, HEADER)
    run_terraform(sandbox, workdir, "init")
    served = json.loads(run_terraform(sandbox, workdir, "providers", "schema", "-json").stdout)
    provider = served["provider_schemas"]["registry.terraform.io/hashicorp/azuread"]
    data = schema_data()
    problems: list[str] = []

    assert sorted(provider["resource_schemas"]) == sorted(RESOURCE_TYPES)
    assert sorted(provider["data_source_schemas"]) == sorted(DATA_SOURCE_TYPES)
    for name in RESOURCE_TYPES:
        schema = provider["resource_schemas"][name]
        assert schema["version"] == SCHEMA_VERSIONS[name]
        _compare_block(schema["block"], data["resources"][name], name, problems)
        timeouts = schema["block"]["block_types"]["timeouts"]
        assert timeouts["nesting_mode"] == "single"
        assert sorted(timeouts["block"]["attributes"]) == sorted(data["resources"][name]["timeouts"])
    for name in DATA_SOURCE_TYPES:
        _compare_block(provider["data_source_schemas"][name]["block"], data["data_sources"][name],
                       f"data.{name}", problems)
    provider_block = {"attributes": {k: v for k, v in data["provider_block"]["attributes"].items() if k != "alias"}}
    _compare_block(provider["provider"]["block"], provider_block, "provider", problems)
    assert problems == []

    # The shapes a module author meets first, spelled out.
    application = provider["resource_schemas"]["azuread_application"]["block"]
    assert application["block_types"]["web"]["nesting_mode"] == "list"
    assert application["block_types"]["web"]["max_items"] == 1
    assert application["block_types"]["web"]["block"]["block_types"]["implicit_grant"]["max_items"] == 1
    assert application["block_types"]["required_resource_access"]["nesting_mode"] == "set"
    assert application["attributes"]["client_id"] == {"type": "string", "description_kind": "markdown",
                                                      "computed": True}
    password = provider["resource_schemas"]["azuread_application_password"]["block"]["attributes"]
    assert password["value"]["sensitive"] is True
    assert password["application_id"]["required"] is True
    service_principal = provider["resource_schemas"]["azuread_service_principal"]["block"]["attributes"]
    assert service_principal["app_roles"]["computed"] is True


# ------------------------------------------------------------------------------------------------
# terraform validate: the errors the real schema and the real provider's checks give
# ------------------------------------------------------------------------------------------------

INVALID_CONFIGS = {
    "misspelled attribute": (
        'resource "azuread_application" "x" {\n  display_nam = "x"\n}\n',
        ["Error: Unsupported argument", 'An argument named "display_nam" is not expected here. Did you mean',
         '"display_name"?'],
    ),
    "missing required attribute": (
        'resource "azuread_service_principal" "x" {\n  app_role_assignment_required = true\n}\n',
        ["Error: Missing required argument", 'The argument "client_id" is required'],
    ),
    "computed-only attribute set": (
        'resource "azuread_application" "x" {\n  display_name = "x"\n  client_id    = "abc"\n}\n',
        ["Error: Computed attributes cannot be set",
         'Computed attributes cannot be set, but a value was set for "client_id".'],
    ),
    "computed-only block set as an attribute": (
        'resource "azuread_service_principal" "x" {\n'
        '  client_id = "00000000-0000-0000-0000-000000000001"\n  app_roles = []\n}\n',
        ['Computed attributes cannot be set, but a value was set for "app_roles".'],
    ),
    "too many web blocks": (
        'resource "azuread_application" "x" {\n  display_name = "x"\n  web {}\n  web {}\n}\n',
        ["Error: Too many web blocks", 'No more than 1 "web" blocks are allowed'],
    ),
    "v2-style password application_id (a GUID)": (
        'resource "azuread_application_password" "x" {\n'
        '  application_id = "00000000-0000-0000-0000-000000000001"\n}\n',
        ["parsing the Application ID", "> /applications/applicationId"],
    ),
    "redirect URI without path or trailing slash": (
        'resource "azuread_application" "x" {\n  display_name = "x"\n'
        '  web {\n    redirect_uris = ["https://app.sekoia.io"]\n  }\n}\n',
        ['URI must have a trailing slash when there is no path segment for "web.0.redirect_uris.0"'],
    ),
    "sign_in_audience outside its values": (
        'resource "azuread_application" "x" {\n  display_name = "x"\n  sign_in_audience = "common"\n}\n',
        ['expected sign_in_audience to be one of ["AzureADMyOrg" "AzureADMultipleOrgs"'],
    ),
    "two lookups on one user": (
        'data "azuread_user" "x" {\n  mail = "a@contoso.example"\n'
        '  user_principal_name = "a@contoso.example"\n}\n',
        ["Error: Invalid combination of arguments",
         "only one of `employee_id,mail,mail_nickname,object_id,user_principal_name` can be specified"],
    ),
}


@pytest.mark.parametrize("case", sorted(INVALID_CONFIGS))
def test_validate_rejects_what_the_real_provider_rejects(sandbox, tmp_path, case):
    hcl, expected = INVALID_CONFIGS[case]
    workdir = write_root(tmp_path, HEADER + hcl)
    run_terraform(sandbox, workdir, "init")
    result = run_terraform(sandbox, workdir, "validate", ok=(1,))
    for text in expected:
        assert flat(text) in flat(result.stderr)
    assert "Plugin error" not in result.stderr and "Traceback" not in result.stderr


def test_validate_accepts_the_module_shapes(sandbox, tmp_path):
    workdir = write_root(tmp_path, ROOT.replace("PASSWORD_NAME", "sekoia-sso"))
    run_terraform(sandbox, workdir, "init")
    result = run_terraform(sandbox, workdir, "validate")
    assert "Success! The configuration is valid." in result.stdout


# ------------------------------------------------------------------------------------------------
# init / plan / apply / drift / destroy against the Graph emulator
# ------------------------------------------------------------------------------------------------


def test_apply_drift_and_destroy(sandbox, graph_emulator, graph_client: httpx.Client, tmp_path):
    before = tenant_objects(graph_emulator)
    workdir = write_root(tmp_path, ROOT.replace("PASSWORD_NAME", "sekoia-sso"))
    run_terraform(sandbox, workdir, "init")
    applied = run_terraform(sandbox, workdir, "apply", "-auto-approve")
    assert "Apply complete! Resources: 6 added, 0 changed, 0 destroyed." in applied.stdout

    # The objects are in the tenant as configured.
    out = outputs(sandbox, workdir)
    state = graph_emulator.state
    app = state.applications[out["application_object_id"]]
    principal = graph_emulator.principal_object_id
    assert app["displayName"] == "Sekoia.io SSO"
    assert app["signInAudience"] == "AzureADMyOrg"
    assert app["web"]["redirectUris"] == ["https://app.sekoia.io/user/callback"]
    assert app["web"]["implicitGrantSettings"] == {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False}
    assert [(c["name"], c["essential"]) for c in app["optionalClaims"]["idToken"]] == [("email", True),
                                                                                      ("given_name", True)]
    assert app["requiredResourceAccess"] == [{"resourceAppId": MICROSOFT_GRAPH_APP_ID, "resourceAccess": [
        {"id": OPENID, "type": "Scope"}, {"id": EMAIL, "type": "Scope"}]}]
    assert app["tags"] == ["sekoia-sso"]
    assert app["notes"] == "Sekoia.io single sign-on; managed by Terraform."
    assert state.owners[app["id"]] == [principal]
    [credential] = app["passwordCredentials"]
    assert credential["keyId"] == out["password_key_id"]
    assert credential["displayName"] == "sekoia-sso"
    assert credential["endDateTime"].startswith("2030-01-01T00:00:00")

    sp = state.service_principals[out["service_principal_object_id"]]
    assert sp["appId"] == out["client_id"] == app["appId"]
    assert sp["appRoleAssignmentRequired"] is True
    assert state.owners[sp["id"]] == [principal]
    analysts = next(g["id"] for g in state.groups if g["displayName"] == "SOC Analysts")
    ivan = state.user("ivan@contoso.example")["id"]
    assert assignments_of(graph_emulator, sp["id"]) == {(analysts, DEFAULT_ACCESS), (ivan, DEFAULT_ACCESS)}
    [grant] = [g for g in state.oauth2_permission_grants.values() if g["clientId"] == sp["id"]]
    assert grant["resourceId"] == state.graph_service_principal["id"]
    assert grant["consentType"] == "AllPrincipals"
    assert set(grant["scope"].split()) == {"openid", "email"}

    # The secret in state is the one Graph made: it logs the application in.
    secret = json.loads(run_terraform(sandbox, workdir, "output", "-json", "client_secret").stdout)
    login = httpx.post(f"{graph_emulator.url}/{graph_emulator.tenant_id}/oauth2/v2.0/token", data={
        "grant_type": "client_credentials", "client_id": out["client_id"], "client_secret": secret,
        "scope": "https://graph.microsoft.com/.default"})
    assert login.status_code == 200, login.text

    # Nothing changed: the next plan is empty.
    run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(0,))

    # A force-new argument changed: the password is replaced, nothing else moves.
    (workdir / "main.tf").write_text(ROOT.replace("PASSWORD_NAME", "sekoia-sso-2"))
    replaced = run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(2,))
    assert "# azuread_application_password.sso must be replaced" in replaced.stdout
    assert "# forces replacement" in replaced.stdout
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in replaced.stdout
    (workdir / "main.tf").write_text(ROOT.replace("PASSWORD_NAME", "sekoia-sso"))

    # The password is removed behind Terraform's back: it is planned again and re-created.
    response = graph_client.post(f"/v1.0/applications/{app['id']}/removePassword",
                                 json={"keyId": out["password_key_id"]})
    assert response.status_code == 204, response.text
    drift = run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(2,))
    assert "# azuread_application_password.sso will be created" in drift.stdout
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in drift.stdout
    run_terraform(sandbox, workdir, "apply", "-auto-approve")
    new_key = outputs(sandbox, workdir)["password_key_id"]
    assert new_key != out["password_key_id"]
    assert [c["keyId"] for c in state.applications[app["id"]]["passwordCredentials"]] == [new_key]
    run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(0,))

    # The application is deleted behind Terraform's back (its service principal goes with it):
    # everything that hangs on it is planned again, and re-created.
    response = graph_client.delete(f"/v1.0/applications/{app['id']}")
    assert response.status_code == 204, response.text
    drift = run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(2,))
    assert "# azuread_application.sso will be created" in drift.stdout
    assert "# azuread_service_principal.sso will be created" in drift.stdout
    run_terraform(sandbox, workdir, "apply", "-auto-approve")
    recreated = outputs(sandbox, workdir)
    assert recreated["application_object_id"] != app["id"]
    assert recreated["application_object_id"] in state.applications
    assert assignments_of(graph_emulator, recreated["service_principal_object_id"]) == {
        (analysts, DEFAULT_ACCESS), (ivan, DEFAULT_ACCESS)}
    run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(0,))

    # In-place updates: a second redirect URI, assignment no longer required, one more consented scope.
    updated_hcl = (ROOT.replace("PASSWORD_NAME", "sekoia-sso")
                   .replace('["https://app.sekoia.io/user/callback"]',
                            '["https://app.sekoia.io/user/callback", "https://app.fra2.sekoia.io/user/callback"]')
                   .replace("app_role_assignment_required = true", "app_role_assignment_required = false")
                   .replace('claim_values                         = ["openid", "email"]',
                            'claim_values                         = ["openid", "email", "profile"]'))
    (workdir / "main.tf").write_text(updated_hcl)
    updated = run_terraform(sandbox, workdir, "apply", "-auto-approve")
    assert "Resources: 0 added, 3 changed, 0 destroyed." in updated.stdout
    app = state.applications[recreated["application_object_id"]]
    assert sorted(app["web"]["redirectUris"]) == ["https://app.fra2.sekoia.io/user/callback",
                                                   "https://app.sekoia.io/user/callback"]
    assert state.service_principals[recreated["service_principal_object_id"]]["appRoleAssignmentRequired"] is False
    [grant] = [g for g in state.oauth2_permission_grants.values()
               if g["clientId"] == recreated["service_principal_object_id"]]
    assert set(grant["scope"].split()) == {"openid", "email", "profile"}
    run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(0,))

    # Destroy leaves the tenant as it was.
    run_terraform(sandbox, workdir, "destroy", "-auto-approve")
    assert tenant_objects(graph_emulator) == before
    assert graph_emulator.internal_errors == []


def test_replication_lag_fails_the_service_principal_as_the_real_provider_does(sandbox, graph_emulator, tmp_path):
    # Every new object unseen for 0.7 s, writes included. The application's create waits it out (its PATCH
    # retries 404/409, applicationUpdateRetryFunc); the service principal's PATCH right after its POST does not
    # (azuread #1802, #1811): the apply fails with the real text, and the object stays in the state, tainted.
    graph_emulator.configure(replication_delay_ms=700)
    workdir = write_root(tmp_path, ROOT.replace("PASSWORD_NAME", "sekoia-sso"))
    run_terraform(sandbox, workdir, "init")
    failed = run_terraform(sandbox, workdir, "apply", "-auto-approve", ok=(1,))
    assert "Timed out whilst waiting for new service principal to be replicated in Azure AD" in failed.stderr
    assert "Request_ResourceNotFound" in failed.stderr
    app_ids = [a["id"] for a in graph_emulator.state.applications.values() if a["displayName"] == "Sekoia.io SSO"]
    assert len(app_ids) == 1
    patched = [r for r in graph_emulator.requests if r.method == "PATCH" and app_ids[0] in r.path]
    assert any(r.status == 404 for r in patched) and patched[-1].status == 204, "the application's PATCH waited"
    listed = run_terraform(sandbox, workdir, "state", "list").stdout.split()
    assert "azuread_service_principal.sso" in listed
    shown = run_terraform(sandbox, workdir, "show", "-no-color").stdout
    assert "azuread_service_principal.sso: (tainted)" in shown
    # Once Entra ID has caught up, a plain re-apply replaces the tainted object and converges.
    graph_emulator.configure(replication_delay_ms=0)
    run_terraform(sandbox, workdir, "apply", "-auto-approve")
    run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(0,))
    run_terraform(sandbox, workdir, "destroy", "-auto-approve")


def test_a_404_on_the_read_after_create_drops_the_object(sandbox, graph_emulator, tmp_path):
    # Writes reach a replica that has the new application, reads do not yet: the create's final read gets 404,
    # the provider drops the object (SDKv2's d.SetId("")), and Terraform (1.11) reports the null object as
    # "Provider returned invalid result object after apply" (older versions: "inconsistent result").
    graph_emulator.configure(replication_delay_ms=1500, replication_delay_writes=False)
    workdir = write_root(tmp_path, HEADER + 'resource "azuread_application" "dropped" {\n'
                                            '  display_name = "Dropped by its read"\n}\n')
    run_terraform(sandbox, workdir, "init")
    failed = run_terraform(sandbox, workdir, "apply", "-auto-approve", ok=(1,))
    assert "Provider returned invalid result object after apply" in failed.stderr, failed.stderr
    assert "returned a null object for azuread_application.dropped" in " ".join(failed.stderr.split())
    assert run_terraform(sandbox, workdir, "state", "list", ok=(0, 1)).stdout.strip() == ""
    made = [a for a in graph_emulator.state.applications.values() if a["displayName"] == "Dropped by its read"]
    assert len(made) == 1, "the application exists in Entra ID, outside the state"
    graph_emulator.configure(replication_delay_ms=0, replication_delay_writes=True)
    graph_emulator.state.applications.pop(made[0]["id"])


def test_password_of_a_lagging_application_fails_with_the_real_text(sandbox, graph_emulator, tmp_path):
    # azuread_application_password reads its application once, without retry.
    workdir = write_root(tmp_path, HEADER + 'resource "azuread_application" "app" {\n'
                                            '  display_name = "Password lag"\n}\n')
    run_terraform(sandbox, workdir, "init")
    run_terraform(sandbox, workdir, "apply", "-auto-approve")
    (workdir / "password.tf").write_text('resource "azuread_application_password" "p" {\n'
                                         '  application_id = azuread_application.app.id\n}\n')
    graph_emulator.configure(replication_delay_ms=5000)
    [app] = [a for a in graph_emulator.state.applications.values() if a["displayName"] == "Password lag"]
    graph_emulator.state.mark_created(app["id"], 5.0)  # as if it had been created a moment ago
    failed = run_terraform(sandbox, workdir, "apply", "-auto-approve", "-refresh=false", ok=(1,))
    assert f'Application (Application: "{app["id"]}") was not found' in failed.stderr, failed.stderr
    graph_emulator.configure(replication_delay_ms=0)
    graph_emulator.state.visible_at.clear()
    run_terraform(sandbox, workdir, "apply", "-auto-approve")
    # The new key ID had to be seen 5 times in a row before the create was done.
    key_reads = [r for r in graph_emulator.requests if r.method == "GET" and r.path.endswith(app["id"])]
    assert len(key_reads) >= 5
    run_terraform(sandbox, workdir, "destroy", "-auto-approve")


def test_throttling_5xx_and_connection_resets_are_retried(sandbox, graph_emulator, tmp_path):
    before = tenant_objects(graph_emulator)
    graph_emulator.configure(throttle_every=4, retry_after=0.1, error_rate=0.05, reset_rate=0.05)
    workdir = write_root(tmp_path, ROOT.replace("PASSWORD_NAME", "sekoia-sso"))
    run_terraform(sandbox, workdir, "init")
    run_terraform(sandbox, workdir, "apply", "-auto-approve")
    # Retried writes made nothing twice.
    assert [a["displayName"] for a in graph_emulator.state.applications.values()].count("Sekoia.io SSO") == 1
    run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(0,))
    run_terraform(sandbox, workdir, "destroy", "-auto-approve")
    statuses = [r.status for r in graph_emulator.requests]
    assert 429 in statuses and 0 in statuses, "the faults were never hit: the test proves nothing"
    graph_emulator.configure(throttle_every=0, error_rate=0, reset_rate=0)
    assert tenant_objects(graph_emulator) == before


def test_import_of_an_existing_application(sandbox, graph_emulator, graph_client: httpx.Client, tmp_path):
    response = graph_client.post("/v1.0/applications", json={"displayName": "Made by hand"})
    assert response.status_code == 201, response.text
    object_id = response.json()["id"]
    workdir = write_root(tmp_path, HEADER + 'resource "azuread_application" "imported" {\n'
                                            '  display_name = "Made by hand"\n}\n')
    (workdir / "other.tf").write_text('resource "azuread_application" "other" {\n  display_name = "other"\n}\n')
    run_terraform(sandbox, workdir, "init")
    run_terraform(sandbox, workdir, "import", "azuread_application.imported", f"/applications/{object_id}")
    shown = run_terraform(sandbox, workdir, "state", "show", "-no-color", "azuread_application.imported").stdout
    assert f'object_id                      = "{object_id}"' in shown
    planned = run_terraform(sandbox, workdir, "plan", "-detailed-exitcode", ok=(2,))
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in planned.stdout  # `other` only: the import matches

    # A bare object ID is the v2 form: refused, as the real provider's importer does.
    bad = run_terraform(sandbox, workdir, "import", "azuread_application.other", object_id, ok=(1,))
    assert "parsing the Application ID" in bad.stderr


def test_bad_credentials_are_a_clear_error(sandbox, graph_emulator, tmp_path):
    workdir = write_root(tmp_path, HEADER + 'data "azuread_client_config" "current" {}\n')
    run_terraform(sandbox, workdir, "init")
    wrong = "not-the-secret-" + "x" * 20
    result = run_terraform(sandbox, workdir, "plan", ok=(1,), env={"ARM_CLIENT_SECRET": wrong})
    assert "Error: building client: unable to obtain access token" in result.stderr
    assert "Invalid client secret provided" in result.stderr
    assert wrong not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr and "Plugin error" not in result.stderr


def test_without_the_graph_url_the_error_says_how_to_fix_it(sandbox, tmp_path):
    workdir = write_root(tmp_path, HEADER + 'data "azuread_client_config" "current" {}\n')
    run_terraform(sandbox, workdir, "init")
    env = {"AZUREAD_SANDBOX_GRAPH_URL": ""}
    result = run_terraform(sandbox, workdir, "plan", ok=(1,), env=env)
    assert "needs AZUREAD_SANDBOX_GRAPH_URL" in result.stderr
    assert "endpoints.json" in result.stderr


def test_graph_errors_become_diagnostics(sandbox, graph_emulator, tmp_path):
    # The error azuread users meet most: the principal lacks a Graph permission.
    graph_emulator.queue_fault(status=403, path_prefix="/v1.0/applications", method="POST",
                               code="Authorization_RequestDenied",
                               message="Insufficient privileges to complete the operation.")
    workdir = write_root(tmp_path, HEADER + 'resource "azuread_application" "x" {\n  display_name = "x"\n}\n')
    run_terraform(sandbox, workdir, "init")
    result = run_terraform(sandbox, workdir, "apply", "-auto-approve", ok=(1,))
    assert "Error: Could not create application" in result.stderr
    assert ("unexpected status 403 (403 Forbidden) with error: Authorization_RequestDenied: Insufficient "
            "privileges to complete the operation.") in flat(result.stderr)
    assert "Traceback" not in result.stderr and "Plugin error" not in result.stderr
    assert run_terraform(sandbox, workdir, "state", "list", ok=(0, 1)).stdout.strip() == ""
    assert not [a for a in graph_emulator.state.applications.values() if a["displayName"] == "x"]


def test_the_provider_binary_refuses_to_run_outside_terraform(sandbox):
    result = subprocess.run([str(sandbox.mirror.executable)], capture_output=True, text=True, timeout=30,
                            env={k: v for k, v in os.environ.items() if k != "TF_PLUGIN_MAGIC_COOKIE"})
    assert result.returncode == 1
    assert result.stdout == ""
    assert "This binary is a plugin" in result.stderr
    assert sandbox.mirror.executable.stat().st_mode & stat.S_IXUSR


def test_the_handshake_is_the_first_line_on_stdout_and_the_cert_cache_stays_out_of_home(sandbox, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HOME"}
    env.update({"TF_PLUGIN_MAGIC_COOKIE": MAGIC_COOKIE_VALUE, "TMPDIR": str(tmp_path), "HOME": str(tmp_path / "home")})
    process = subprocess.Popen([str(sandbox.mirror.executable)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env=env, text=True)
    try:
        line = process.stdout.readline()
    finally:
        process.terminate()
        process.communicate(timeout=10)
    version, protocol, network, address, kind, certificate = line.rstrip("\n").split("|")
    assert (version, protocol, network, kind) == ("1", "6", "unix", "grpc")
    assert address.endswith(".sock")
    assert not Path(address).parent.exists()  # removed on SIGTERM
    assert base64.b64decode(certificate + "=" * (-len(certificate) % 4))[:1] == b"\x30"  # DER
    cache = tmp_path / f"sekoia-sso-azuread-provider-{os.getuid()}" / ".cache" / CERT_CACHE_FILE
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert not (tmp_path / "home").exists()


def test_a_python_exception_becomes_an_error_diagnostic():
    response = Servicer(AzureADProvider()).ReadResource(pb.ReadResource.Request(type_name="azuread_nope"), None)
    [diagnostic] = response.diagnostics
    assert diagnostic.severity == pb.Diagnostic.ERROR
    assert diagnostic.summary == "Emulated azuread provider: ReadResource failed"
    assert diagnostic.detail.startswith("KeyError")


# ------------------------------------------------------------------------------------------------
# SDKv2 plan semantics, on values shaped as Terraform sends them
# ------------------------------------------------------------------------------------------------


def _application(**values):
    return resource_spec("azuread_application").conform(values)


def test_a_create_plan_fills_defaults_and_leaves_computed_values_unknown():
    proposed = _application(display_name="x", api=[{"known_client_applications": None}])
    planned, replace = plan(resource_spec("azuread_application"), None, proposed)
    assert planned["sign_in_audience"] == "AzureADMyOrg"
    assert planned["prevent_duplicate_names"] is False
    assert planned["api"][0]["requested_access_token_version"] == 1
    assert planned["client_id"] is Unknown and planned["id"] is Unknown and planned["tags"] is Unknown
    assert planned["notes"] is None
    assert replace == []


def test_an_update_plan_treats_zero_values_and_empty_graph_blocks_as_unset():
    spec = resource_spec("azuread_application")
    empty_web = {"homepage_url": "", "logout_url": "", "redirect_uris": [],
                 "implicit_grant": [{"access_token_issuance_enabled": False, "id_token_issuance_enabled": False}]}
    prior = _application(display_name="x", notes="", owners=[], web=[empty_web], client_id="c", id="/applications/a",
                         feature_tags=[{"custom_single_sign_on": False, "enterprise": False, "gallery": False,
                                        "hide": False}])
    proposed = _application(display_name="x", client_id="c", id="/applications/a")
    planned, replace = plan(spec, prior, proposed)
    assert planned["notes"] == "" and planned["owners"] == []
    assert planned["web"] == prior["web"]                      # applicationDiffSuppress
    assert planned["feature_tags"] == prior["feature_tags"]    # Optional+Computed block
    assert replace == []

    # A web block holding something is a real change when the config drops it.
    prior["web"] = [dict(empty_web, redirect_uris=["https://app.sekoia.io/user/callback"])]
    planned, _ = plan(spec, prior, proposed)
    assert planned["web"] == []


def test_a_changed_force_new_argument_requires_replacement():
    spec = resource_spec("azuread_application_password")
    prior = spec.conform({"application_id": "/applications/a", "display_name": "one", "id": "a/password/k"})
    proposed = spec.conform({"application_id": "/applications/a", "display_name": "two", "id": "a/password/k"})
    assert plan(spec, prior, proposed)[1] == ["display_name"]
    proposed["display_name"] = "one"
    assert plan(spec, prior, proposed)[1] == []
    proposed["application_id"] = Unknown  # the application itself is being replaced
    assert plan(spec, prior, proposed)[1] == ["application_id"]


def test_the_provider_ends_itself_when_terraform_is_killed():
    """A Terraform killed with SIGKILL never stops its plugins: the provider must not linger as an orphan."""
    starter = ("import os, subprocess, sys, time\n"
               "plugin = subprocess.Popen([sys.executable, '-m', 'sandbox.provider'], stdout=subprocess.PIPE,\n"
               f"                          env={{**os.environ, {MAGIC_COOKIE_KEY!r}: {MAGIC_COOKIE_VALUE!r}}})\n"
               "print(plugin.pid, flush=True)\n"
               "print(plugin.stdout.readline().decode().split('|')[0], flush=True)\n"
               "time.sleep(120)\n")
    terraform = subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE,
                                 cwd=Path(__file__).resolve().parents[2])
    plugin = int(terraform.stdout.readline())
    assert terraform.stdout.readline().strip() == b"1"  # the plugin's handshake: it serves
    terraform.kill()
    terraform.wait()
    deadline = time.monotonic() + 10
    while alive(plugin) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(plugin)

