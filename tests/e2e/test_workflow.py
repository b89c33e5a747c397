"""End to end: `sekoia-sso apply/status/rotate/destroy` as processes, real Terraform, both emulators.

Every byte the runs print is kept and scanned for the client secret and the API key at the end
of each test (plain, base64 and URL-encoded).
"""

from __future__ import annotations

import json
import os

import pytest

from orchestrator.config.loading import load_environment
from orchestrator.terraform.workspace import Workspace
from orchestrator.workflows.common import environment_lock
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import apply, tenant_counts

pytestmark = pytest.mark.timeout(600)


def test_first_apply_configures_entra_and_sekoia_then_a_rerun_changes_nothing(runs, graph_emulator, sekoia_emulator):
    first = apply(runs)
    assert first.returncode == 0, first.err
    assert "Preflight" in first.err and "reading Entra ID and Sekoia.io" in first.err
    assert "SSO login URL" in first.out
    assert tenant_counts(graph_emulator) == {"applications": 1, "service_principals": 1, "passwords": 2,
                                             "assignments": 3}
    outputs = runs.outputs()
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == outputs["client_secret"].reveal()
    assert outputs["sekoia_pushed_secret_key_id"] == outputs["client_secret_key_id"]
    sso = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)
    assert sso["client_id"] == outputs["client_id"] and sso["enabled"] is True
    assert sso["provider_url"] == "https://login.microsoftonline.com/8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10/"

    # before its first write, the apply checked who owns the API key
    assert [r.path for r in sekoia_emulator.requests].count("/v1/me") >= 1
    graph_emulator.clear_requests()
    sekoia_emulator.clear_requests()
    second = apply(runs, "--json")
    assert second.returncode == 0, second.err
    assert "Nothing to do" in second.err
    summary = json.loads(second.out)
    assert summary["terraform"]["applied"] is False
    assert sekoia_emulator.write_requests == []
    # only what the plan compares: the community, its roles, the domains and the OIDC settings
    community = f"/v1/communities/{DEMO_COMMUNITY_UUID}"
    assert sorted(r.path for r in sekoia_emulator.requests) == sorted(
        [community, f"{community}/roles", f"{community}/domains", f"{community}/sso"])
    # $batch carries GETs (each sub-request is logged on its own); the token endpoint is no write either
    writes = [r for r in graph_emulator.requests if r.method != "GET" and r.path != "/v1.0/$batch"
              and "/oauth2/" not in r.path]
    assert writes == []
    assert tenant_counts(graph_emulator)["applications"] == 1


def test_status_is_clean_then_reports_drift_in_entra_and_in_sekoia(runs, graph_emulator, sekoia_emulator):
    assert apply(runs).returncode == 0
    clean = runs("status", "sandbox", "--json")
    assert clean.returncode == 0, clean.err
    checks = {c["part"]: c["state"] for c in json.loads(clean.out)["checks"]}
    assert set(checks.values()) == {"ok"}, checks

    app = next(a for a in graph_emulator.state.applications.values() if "sekoia-sso" in (a.get("tags") or []))
    app["web"]["redirectUris"] = ["https://evil.example/callback"]
    drifted = runs("status", "sandbox", "--json")
    assert drifted.returncode == 1
    checks = {c["part"]: c["state"] for c in json.loads(drifted.out)["checks"]}
    assert checks["entra application"] == "drift" and checks["terraform drift"] == "drift"

    assert apply(runs).returncode == 0  # puts the redirect URI back
    import httpx

    httpx.delete(f"{sekoia_emulator.url}/v1/communities/{DEMO_COMMUNITY_UUID}/sso",
                 headers={"Authorization": f"Bearer {sekoia_emulator.demo_api_key}"}).raise_for_status()
    disabled = runs("status", "sandbox")
    assert disabled.returncode == 1
    assert "sekoia oidc" in disabled.out and "DRIFT" in disabled.out


def test_pending_domain_exits_3_then_a_rerun_completes(runs, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = None  # Sekoia.io's team has not looked yet
    waiting = apply(runs, "--no-wait")
    assert waiting.returncode == 3, waiting.err
    assert "contoso.example" in waiting.err and "later" in waiting.err
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID) is None
    assert runs("status", "sandbox").returncode == 3

    sekoia_emulator.verify_domain("contoso.example")
    done = apply(runs)
    assert done.returncode == 0, done.err
    assert len(sekoia_emulator.domains(DEMO_COMMUNITY_UUID)) == 1
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["enabled"] is True


def test_destroy_disables_sso_first_then_reapply_works(runs, graph_emulator, sekoia_emulator):
    assert apply(runs).returncode == 0
    refused = runs("destroy", "sandbox", "--yes")
    assert refused.returncode == 2 and "--confirm sandbox" in refused.err
    gone = runs("destroy", "sandbox", "--yes", "--confirm", "sandbox")
    assert gone.returncode == 0, gone.err
    assert "can only log in through SSO" in gone.err
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID) is None
    assert tenant_counts(graph_emulator) == {"applications": 0, "service_principals": 0, "passwords": 0,
                                             "assignments": 0}
    assert [d["name"] for d in sekoia_emulator.domains(DEMO_COMMUNITY_UUID)] == ["contoso.example"]
    again = runs("destroy", "sandbox", "--yes", "--confirm", "sandbox")
    assert again.returncode == 0, again.err
    assert apply(runs).returncode == 0
    assert tenant_counts(graph_emulator)["applications"] == 1


def test_apply_without_terminal_or_yes_refuses_and_changes_nothing(runs, graph_emulator, sekoia_emulator):
    refused = runs("apply", "sandbox", "--warn-only")
    assert refused.returncode == 2
    assert "--yes" in refused.err
    assert tenant_counts(graph_emulator)["applications"] == 0
    assert sekoia_emulator.write_requests == []


def test_a_second_run_on_the_same_environment_fails_fast(runs, graph_emulator):
    env = load_environment(runs.project, "sandbox")
    os.environ["SEKOIA_SSO_SANDBOX_DIR"] = str(runs.sandbox_dir)
    try:
        with environment_lock(Workspace(env, runs.project)):
            busy = apply(runs)
    finally:
        del os.environ["SEKOIA_SSO_SANDBOX_DIR"]
    assert busy.returncode == 1
    assert "another sekoia-sso run is working on environment sandbox" in busy.err
    assert tenant_counts(graph_emulator)["applications"] == 0


def test_apply_refuses_a_stale_render(runs, graph_emulator):
    main_tf = runs.project / "terraform/envs/sandbox/main.tf"
    main_tf.write_text(main_tf.read_text().replace("secret_validity_days = 180", "secret_validity_days = 90"))
    stale = apply(runs)
    assert stale.returncode == 1
    assert "sekoia-sso render sandbox" in stale.err
    assert tenant_counts(graph_emulator)["applications"] == 0
    # the plan started beside the check was stopped: no plan file to apply by mistake, no lock held
    assert not (runs.sandbox_dir / "terraform" / "sandbox" / "plan.tfplan").exists()
    main_tf.write_text(main_tf.read_text().replace("secret_validity_days = 90", "secret_validity_days = 180"))
    planned = runs("plan", "sandbox", "--quiet")
    assert planned.returncode == 0, planned.err


def test_plan_with_bad_credentials_gives_terraforms_error_in_one_paragraph(runs, graph_emulator):
    endpoints = json.loads((runs.sandbox_dir / "endpoints.json").read_text())
    endpoints["env"]["ARM_CLIENT_SECRET"] = "not-the-secret"
    (runs.sandbox_dir / "endpoints.json").write_text(json.dumps(endpoints))
    done = runs("plan", "sandbox", "--quiet")
    assert done.returncode == 1, done.err
    errors = [line for line in done.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "access token" in errors[0] and "Invalid client secret" in errors[0]
    assert "Traceback" not in done.err and "not-the-secret" not in done.err
    assert tenant_counts(graph_emulator)["applications"] == 0


def test_plan_summarises_the_changes_as_json(runs):
    done = runs("plan", "sandbox", "--json")
    assert done.returncode == 0, done.err
    summary = json.loads(done.out)
    assert summary["counts"]["create"] >= 8
    addresses = {change["address"] for change in summary["resource_changes"]}
    assert 'module.sekoia_sso.azuread_application_password.this["blue"]' in addresses
