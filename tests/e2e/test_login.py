"""End to end: a user logs in to Sekoia.io through SSO, after a real `apply` of the sandbox.

The Sekoia.io emulator runs the authorization-code flow with what the apply gave it (provider URL,
client ID, secret) against the login emulator, which reads the application and assignments that
real Terraform made through the emulated provider. The verdicts must match the preflight's.
"""

from __future__ import annotations

import json

import httpx
import pytest

from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import apply

pytestmark = pytest.mark.timeout(600)


def test_sso_login_accepts_a_complete_user_and_refuses_as_the_preflight_says(runs, graph_emulator,
                                                                              sekoia_emulator):
    done = apply(runs)
    assert done.returncode == 0, done.err
    assert "==> Checking login readiness" in done.err and "sandbox login of ivan@contoso.example accepted" in done.out
    status = json.loads(runs("status", "sandbox", "--json").out)
    readiness = next(c for c in status["checks"] if c["part"] == "login readiness")
    assert readiness["state"] == "ok", readiness["detail"]
    assert readiness["redirect_uri"] == "https://app.sekoia.io/user/callback"
    assert readiness["sandbox_login"]["claims"]["email"] == "ivan@contoso.example"
    preflight = json.loads(runs("preflight", "sandbox", "--format", "json", "--warn-only").out)
    problems = {p["userPrincipalName"]: p["problems"] for p in preflight["problems"]}
    refused = {r["userPrincipalName"] for r in preflight["refused"]}
    secret = sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID)

    alice = sekoia_emulator.sso_login(DEMO_COMMUNITY_UUID, "alice@contoso.example")
    assert alice.accepted, alice.reason
    assert "alice@contoso.example" not in problems and "alice@contoso.example" not in refused
    client_id = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["client_id"]
    assert alice.claims["aud"] == client_id
    assert alice.claims["iss"] == f"https://login.microsoftonline.com/{graph_emulator.tenant_id}/v2.0"
    assert (alice.claims["email"], alice.claims["given_name"], alice.claims["family_name"], alice.claims["name"]) \
        == ("alice@contoso.example", "Alice", "Martin", "Alice Martin")

    carol = sekoia_emulator.sso_login(DEMO_COMMUNITY_UUID, "carol@contoso.example")
    assert problems["carol@contoso.example"] == ["missing_surname"]
    assert not carol.accepted and carol.stage == "profile"
    assert "last name" in carol.reason and "family_name" not in carol.claims

    judy = sekoia_emulator.sso_login(DEMO_COMMUNITY_UUID, "judy@contoso.example")
    assert problems["judy@contoso.example"] == ["missing_mail"]
    assert not judy.accepted and "email" in judy.reason and "email" not in judy.claims

    frank = sekoia_emulator.sso_login(DEMO_COMMUNITY_UUID, "frank@contoso.example")
    assert "frank@contoso.example" in refused
    assert not frank.accepted and frank.stage == "callback" and "AADSTS50105" in frank.reason

    # over HTTP, the way `status` runs it: the login URL Sekoia.io answers, the user in a header
    login_url = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["login_url"]
    answer = httpx.get(login_url, headers={"X-Sandbox-User": "alice@contoso.example"}, timeout=30)
    assert answer.status_code == 200 and answer.json()["accepted"] is True
    # the one emulator stands for every region: a login may name its region's callback, which Entra checks
    elsewhere = httpx.get(login_url, params={"callback": "https://app.usa1.sekoia.io/user/callback"},
                          headers={"X-Sandbox-User": "alice@contoso.example"}, timeout=30)
    assert elsewhere.status_code == 401 and "AADSTS50011" in elsewhere.json()["reason"]
    hostile = httpx.get(login_url, params={"callback": "http://127.0.0.1:1/collect"},
                        headers={"X-Sandbox-User": "alice@contoso.example"}, timeout=30)
    assert hostile.status_code == 400 and "https URL ending in /user/callback" in hostile.text
    assert secret not in answer.text and all(secret not in json.dumps(r.to_dict()) for r in sekoia_emulator.sso_logins)


def test_sso_login_fails_when_the_portal_removes_the_redirect_uri_or_sekoia_holds_a_wrong_secret(
        runs, graph_emulator, sekoia_emulator):
    assert apply(runs).returncode == 0
    app = next(a for a in graph_emulator.state.applications.values() if "sekoia-sso" in (a.get("tags") or []))
    sp = next(s for s in graph_emulator.state.service_principals.values() if s.get("appId") == app["appId"])
    token = graph_emulator.issue_token()
    with httpx.Client(base_url=graph_emulator.graph_url, headers={"Authorization": f"Bearer {token}"}) as portal:
        # a user assigned directly (not through a group) gets in
        portal.post(f"/servicePrincipals/{sp['id']}/appRoleAssignedTo", json={
            "principalId": graph_emulator.state.user("frank@contoso.example")["id"], "resourceId": sp["id"],
            "appRoleId": "00000000-0000-0000-0000-000000000000"}).raise_for_status()
        assert sekoia_emulator.sso_login(DEMO_COMMUNITY_UUID, "frank@contoso.example").accepted
        portal.patch(f"/applications/{app['id']}", json={"web": {"redirectUris": []}}).raise_for_status()
    broken = sekoia_emulator.sso_login(DEMO_COMMUNITY_UUID, "alice@contoso.example")
    assert not broken.accepted and broken.stage == "authorize" and "AADSTS50011" in broken.reason

    sekoia_emulator.state.secrets[DEMO_COMMUNITY_UUID] = "not-the-secret"
    sekoia_emulator.edit_sso(DEMO_COMMUNITY_UUID, client_id="00000000-0000-0000-0000-0000000000ab")
    unknown = sekoia_emulator.sso_login(DEMO_COMMUNITY_UUID, "alice@contoso.example")
    assert not unknown.accepted and "AADSTS700016" in unknown.reason
