"""Entra's rules on values and licences, as the Graph emulator answers them over real HTTP (issue #16 §3, §4).

What each rule was checked against is in sandbox/README.md (the fidelity list).
"""

from __future__ import annotations

import re

import pytest

from tests.integration.test_graph_emulator import ZERO_ROLE, create_app, create_sp, error_of, group_id, user_id

INVALID = "Invalid value specified for property 'web.redirectUris' of resource 'Application'."
GRAPH_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,7})?Z$")


# ------------------------------------------------------------------------------------------ redirect URIs

@pytest.mark.parametrize("uri", [
    "http://sekoia.example/cb",                          # http for a host other than localhost
    "https://sekoia.example/" + "a" * 234,               # 257 characters
    "https://sekoia.example/cb!", "https://sekoia.example/c$b", "https://sekoia.example/it's",
    "https://sekoia.example/(cb)", "https://sekoia.example/a,b", "https://sekoia.example/a;b",
    "http://[::1]/cb", "https://[::1]:8443/cb",          # IPv6 loopback
    "https://sekoia.example/c b",
])
def test_redirect_uris_entra_refuses(graph_client, uri):
    response = graph_client.post("/v1.0/applications", json={"displayName": "x", "web": {"redirectUris": [uri]}})
    assert error_of(response) == (400, "Request_BadRequest")
    assert response.json()["error"]["message"] == INVALID


@pytest.mark.parametrize("uri", [
    "https://sekoia.example/" + "a" * 233,               # 256 characters
    "http://localhost/cb", "http://localhost:8400/cb", "http://127.0.0.1:8400/cb",
    "https://*.sekoia.example/cb",                       # a wildcard: this tenant's work accounts only
])
def test_redirect_uris_entra_accepts(graph_client, uri):
    app = create_app(graph_client, web={"redirectUris": [uri]})
    assert app["web"]["redirectUris"] == [uri]


def test_wildcards_only_for_work_account_audiences(graph_client):
    wildcard = {"redirectUris": ["https://*.sekoia.example/cb"]}
    for audience in ("AzureADMyOrg", "AzureADMultipleOrgs"):
        create_app(graph_client, signInAudience=audience, web=wildcard)
    for audience in ("AzureADandPersonalMicrosoftAccount", "PersonalMicrosoftAccount"):
        response = graph_client.post("/v1.0/applications", json={"displayName": "x", "signInAudience": audience,
                                                                 "web": wildcard})
        assert error_of(response) == (400, "Request_BadRequest")
    # a PATCH that would leave a wildcard under a personal-account audience is refused too
    app = create_app(graph_client, web=wildcard)
    response = graph_client.patch(f"/v1.0/applications/{app['id']}",
                                  json={"signInAudience": "AzureADandPersonalMicrosoftAccount"})
    assert error_of(response) == (400, "Request_BadRequest")


def test_at_most_256_redirect_uris(graph_client):
    uris = [f"https://sekoia.example/cb/{n}" for n in range(257)]
    response = graph_client.post("/v1.0/applications", json={"displayName": "x", "web": {"redirectUris": uris}})
    assert error_of(response) == (400, "Request_BadRequest")
    assert len(create_app(graph_client, web={"redirectUris": uris[:256]})["web"]["redirectUris"]) == 256


def test_display_name_at_most_120_characters(graph_client):
    assert create_app(graph_client, displayName="x" * 120)["displayName"] == "x" * 120
    response = graph_client.post("/v1.0/applications", json={"displayName": "x" * 121})
    assert error_of(response) == (400, "Request_BadRequest")
    assert "'displayName'" in response.json()["error"]["message"]


# ------------------------------------------------------------------------------------------ group names

def test_an_unescaped_apostrophe_in_a_filter_is_a_400(graph_client):
    response = graph_client.get("/v1.0/groups", params={"$filter": "displayName eq 'Dev's Team'"})
    assert error_of(response) == (400, "BadRequest")
    assert "unterminated string literal" in response.json()["error"]["message"]
    escaped = graph_client.get("/v1.0/groups", params={"$filter": "displayName eq 'Dev''s Team'"})
    assert escaped.status_code == 200 and escaped.json()["value"] == []


# ------------------------------------------------------------------------------------------ licences

def _group_and_user_assignment(graph_client) -> tuple:
    app = create_app(graph_client)
    sp = create_sp(graph_client, app["appId"])
    url = f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo"
    group = graph_client.post(url, json={"principalId": group_id(graph_client, "SOC Analysts"),
                                         "resourceId": sp["id"], "appRoleId": ZERO_ROLE})
    user = graph_client.post(url, json={"principalId": user_id(graph_client, "ivan"), "resourceId": sp["id"],
                                        "appRoleId": ZERO_ROLE})
    return sp, group, user


def test_a_premium_tenant_assigns_groups_and_lists_its_p1_plan(graph_client, graph_emulator):
    skus = graph_client.get("/v1.0/subscribedSkus").json()["value"]
    plans = {plan["servicePlanName"] for sku in skus for plan in sku["servicePlans"]}
    assert "AAD_PREMIUM" in plans and skus[0]["capabilityStatus"] == "Enabled"
    _, group, user = _group_and_user_assignment(graph_client)
    assert group.status_code == 201 and group.json()["principalType"] == "Group"
    assert user.status_code == 201


def test_a_free_tenant_refuses_group_assignment_as_graph_does(graph_client, graph_emulator):
    graph_emulator.state.entra_id_premium = False
    skus = graph_client.get("/v1.0/subscribedSkus").json()["value"]
    plans = {plan["servicePlanName"] for sku in skus for plan in sku["servicePlans"]}
    assert plans and not plans & {"AAD_PREMIUM", "AAD_PREMIUM_P2"}
    sp, group, user = _group_and_user_assignment(graph_client)
    assert error_of(group) == (403, "Authorization_RequestDenied")
    assert "AAD Premium" in group.json()["error"]["message"]
    assert user.status_code == 201  # users can still be assigned
    assigned = graph_client.get(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo").json()["value"]
    assert [a["principalType"] for a in assigned] == ["User"]


def test_the_licence_flag_comes_from_the_fixture_and_reset_restores_it(graph_emulator):
    from sandbox.graph.emulator import load_default_tenant
    from sandbox.graph.state import TenantState

    tenant = load_default_tenant()
    tenant["tenant"]["entraIdPremium"] = False
    assert TenantState(tenant).entra_id_premium is False
    graph_emulator.state.entra_id_premium = False
    graph_emulator.reset()
    assert graph_emulator.state.entra_id_premium is True


def test_subscribed_skus_needs_a_directory_read_permission(graph_emulator):
    import httpx

    token = graph_emulator.issue_token(roles=["User.Read.All", "Group.Read.All"])
    response = httpx.get(f"{graph_emulator.url}/v1.0/subscribedSkus", headers={"Authorization": f"Bearer {token}"})
    assert error_of(response) == (403, "Authorization_RequestDenied")
    token = graph_emulator.issue_token(roles=["LicenseAssignment.Read.All"])
    response = httpx.get(f"{graph_emulator.url}/v1.0/subscribedSkus", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


# ------------------------------------------------------------------------------------------ endDateTime

def test_password_dates_are_spelt_as_graph_writes_them(graph_client):
    app = create_app(graph_client)
    whole = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword",
                              json={"passwordCredential": {"endDateTime": "2027-06-01T00:00:00Z"}}).json()
    assert whole["endDateTime"] == "2027-06-01T00:00:00Z"      # no fraction on a whole second
    fraction = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword",
                                 json={"passwordCredential": {"endDateTime": "2027-06-01T00:00:00.120Z"}}).json()
    assert fraction["endDateTime"] == "2027-06-01T00:00:00.12Z"  # trailing zeros dropped
    default = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword", json={}).json()
    # "now" in 100 ns ticks: seven digits unless the last ones happen to be zeros
    assert GRAPH_DATETIME.match(default["startDateTime"]) and GRAPH_DATETIME.match(default["endDateTime"])
    read = graph_client.get(f"/v1.0/applications/{app['id']}").json()["passwordCredentials"]
    assert {c["endDateTime"] for c in read} >= {"2027-06-01T00:00:00Z", "2027-06-01T00:00:00.12Z"}


# ------------------------------------------------------------------------------------------ the provider

def test_the_emulated_provider_looks_a_group_up_unescaped_as_the_real_one(sandbox, graph_emulator, tmp_path):
    """group_data_source.go builds `displayName eq '%s'` with no escaping: an apostrophe breaks the lookup."""
    from tests.harness.fixtures_sandbox import run_terraform
    from tests.integration.test_provider import HEADER, flat, write_root

    workdir = write_root(tmp_path, HEADER + 'data "azuread_group" "g" {\n  display_name = "Dev\'s Team"\n}\n')
    run_terraform(sandbox, workdir, "init")
    result = run_terraform(sandbox, workdir, "plan", ok=(1,))
    said = flat(result.stderr)
    assert "Retrieving groups for filter (displayName eq 'Dev's Team')" in said
    assert "unterminated string literal" in said
    assert "Traceback" not in result.stderr
    lookups = [r for r in graph_emulator.requests if r.path == "/v1.0/groups"]
    assert lookups and all(r.status == 400 for r in lookups)


# ------------------------------------------------------------------------------------------ the tool's read

def _sku(status: str, *plans: tuple[str, str]) -> dict:
    return {"skuPartNumber": "X", "capabilityStatus": status, "appliesTo": "User",
            "servicePlans": [{"servicePlanName": name, "provisioningStatus": state, "appliesTo": "User"}
                             for name, state in plans]}


@pytest.mark.parametrize("skus, licensed, plans", [
    ([], False, ()),                                                            # a free tenant: no subscription
    ([_sku("Enabled", ("AAD_PREMIUM_P2", "Success"))], True, ("AAD_PREMIUM_P2",)),
    ([_sku("Warning", ("AAD_PREMIUM", "Success"))], True, ("AAD_PREMIUM",)),    # the grace period still counts
    ([_sku("Suspended", ("AAD_PREMIUM", "Success"))], False, ()),
    ([_sku("Enabled", ("AAD_PREMIUM", "Disabled"), ("EXCHANGE_S_STANDARD", "Success"))], False, ()),
    ([_sku("LockedOut", ("AAD_PREMIUM", "Success")), _sku("Enabled", ("AAD_PREMIUM", "PendingActivation"))],
     True, ("AAD_PREMIUM",)),
], ids=["free", "p2", "warning", "suspended", "plan-disabled", "second-sku"])
def test_the_tool_reads_whether_groups_can_be_assigned(graph_emulator, skus, licensed, plans):
    import httpx

    from orchestrator.entra.licences import read_group_licence
    from tests.integration.test_graph_client import make_graph

    original = graph_emulator.state.tenant
    graph_emulator.state.tenant = {**original, "subscribedSkus": skus}
    try:
        with httpx.Client(timeout=10) as http:
            verdict = read_group_licence(make_graph(graph_emulator, http))
    finally:
        graph_emulator.state.tenant = original
    assert (verdict.licensed, verdict.plans) == (licensed, plans)


def test_without_the_permission_the_tool_says_it_cannot_tell(graph_emulator):
    import httpx

    from orchestrator.entra.graph import GraphClient
    from orchestrator.entra.licences import read_group_licence

    class UsersAndGroupsOnly:
        description = "a token with User.Read.All and Group.Read.All only"

        def token(self, *, force_refresh: bool = False) -> str:
            return graph_emulator.issue_token(roles=["User.Read.All", "Group.Read.All"])

    with httpx.Client(timeout=10) as http:
        verdict = read_group_licence(GraphClient(graph_url=graph_emulator.url, credential=UsersAndGroupsOnly(),
                                                 http=http))
    assert verdict.licensed is None
    assert "LicenseAssignment.Read.All" in verdict.describe() and "could not tell" in verdict.describe()
