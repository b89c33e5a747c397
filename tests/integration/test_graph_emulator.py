"""The Graph emulator over real HTTP: shapes, queries, paging, batch, errors, auth and every fault knob."""

from __future__ import annotations

import base64
import json
import threading
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sandbox.graph.bigtenant import generate_tenant
from sandbox.graph.emulator import GraphEmulator, RequestRecord

TENANT_ID = "8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10"
PRINCIPAL_CLIENT_ID = "c0ffee00-5e55-4a11-8a55-000000000001"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
GRAPH_SCOPES = {"openid": "37f7f235-527c-4136-accd-4a02d197296e", "profile": "14dad69e-099b-42c9-810b-d002981feec1",
                "email": "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0",
                "offline_access": "7427e0e9-2fba-42fe-b0c0-848c9e6a8182",
                "User.Read": "e1fe6dd8-ba31-4d61-89e7-88639da4683d"}
DEFAULT_USER_PROPERTIES = {"businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                           "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"}
ADVANCED = {"ConsistencyLevel": "eventual"}
ZERO_ROLE = "00000000-0000-0000-0000-000000000000"


def error_of(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return response.status_code, body["error"]["code"]


def user_id(client: httpx.Client, nick: str) -> str:
    return client.get(f"/v1.0/users/{nick}@contoso.example").json()["id"]


def group_id(client: httpx.Client, name: str) -> str:
    found = client.get("/v1.0/groups", params={"$filter": f"displayName eq '{name}'"}).json()["value"]
    assert len(found) == 1
    return found[0]["id"]


def follow_pages(client: httpx.Client, url: str, params=None, headers=None) -> tuple[list[dict], int]:
    items, pages = [], 0
    response = client.get(url, params=params, headers=headers)
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        items.extend(body["value"])
        pages += 1
        if "@odata.nextLink" not in body:
            return items, pages
        response = client.get(body["@odata.nextLink"], headers=headers)


def create_app(client: httpx.Client, **extra) -> dict:
    response = client.post("/v1.0/applications", json={"displayName": "Sekoia.io SSO", **extra})
    assert response.status_code == 201, response.text
    return response.json()


def create_sp(client: httpx.Client, app_id: str, **extra) -> dict:
    response = client.post("/v1.0/servicePrincipals", json={"appId": app_id, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def token_request(emulator: GraphEmulator, client_id: str, secret: str, *, tenant: str = TENANT_ID,
                  scope: str = "https://graph.microsoft.com/.default") -> httpx.Response:
    return httpx.post(f"{emulator.url}/{tenant}/oauth2/v2.0/token",
                      data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret,
                            "scope": scope})


# ------------------------------------------------------------------------------------------ users


def test_user_by_id_and_by_upn_have_the_default_v1_shape(graph_client):
    by_upn = graph_client.get("/v1.0/users/alice@contoso.example")
    assert by_upn.status_code == 200
    body = by_upn.json()
    assert body["@odata.context"].endswith("/v1.0/$metadata#users/$entity")
    assert set(body) - {"@odata.context"} == DEFAULT_USER_PROPERTIES
    assert body["givenName"] == "Alice" and body["mail"] == "alice@contoso.example"
    assert body["businessPhones"] == []
    assert by_upn.headers["content-type"].startswith("application/json")
    by_id = graph_client.get(f"/v1.0/users/{body['id']}").json()
    assert by_id == body
    assert graph_client.get("/v1.0/users/ALICE@Contoso.Example").json()["id"] == body["id"]


def test_fixture_users_carry_the_profile_gaps_the_preflight_must_find(graph_client):
    select = {"$select": "givenName,surname,mail,accountEnabled"}
    profile = {nick: graph_client.get(f"/v1.0/users/{nick}@contoso.example", params=select).json()
               for nick in ("carol", "dave", "erin", "grace", "judy", "ivan")}
    assert profile["carol"]["surname"] is None
    assert profile["dave"]["givenName"] == "   "
    assert profile["erin"]["accountEnabled"] is False
    assert profile["grace"]["mail"] == "grace@fabrikam.example"
    assert profile["judy"]["mail"] is None
    assert profile["ivan"] == {"@odata.context": profile["ivan"]["@odata.context"], "givenName": "Ivan",
                               "surname": "Petrov", "mail": "ivan@contoso.example", "accountEnabled": True}


def test_select_takes_every_user_property_the_azuread_provider_reads(graph_client):
    names = ("accountEnabled,ageGroup,businessPhones,city,companyName,consentProvidedForMinor,country,creationType,"
             "department,displayName,employeeHireDate,employeeId,employeeOrgData,employeeType,externalUserState,"
             "faxNumber,givenName,id,imAddresses,jobTitle,mail,mailNickname,mobilePhone,officeLocation,"
             "onPremisesDistinguishedName,onPremisesDomainName,onPremisesImmutableId,onPremisesSamAccountName,"
             "onPremisesSecurityIdentifier,onPremisesSyncEnabled,onPremisesUserPrincipalName,otherMails,postalCode,"
             "preferredLanguage,proxyAddresses,showInAddressList,state,streetAddress,surname,usageLocation,"
             "userPrincipalName,userType")
    body = graph_client.get("/v1.0/users/heidi@contoso.example", params={"$select": names}).json()
    assert set(body) - {"@odata.context"} == set(names.split(","))
    assert body["otherMails"] == [] and body["userType"] == "Member"
    manager = graph_client.get("/v1.0/users/heidi@contoso.example/manager")
    assert error_of(manager) == (404, "Request_ResourceNotFound")


def test_unknown_user_is_request_resource_not_found(graph_client):
    response = graph_client.get("/v1.0/users/nobody@contoso.example")
    assert error_of(response) == (404, "Request_ResourceNotFound")
    assert "nobody@contoso.example" in response.json()["error"]["message"]


def test_select_is_case_insensitive_and_refuses_unknown_properties(graph_client):
    body = graph_client.get("/v1.0/users/bob@contoso.example", params={"$select": "ID,userprincipalname"}).json()
    assert set(body) == {"@odata.context", "id", "userPrincipalName"}
    assert body["@odata.context"].endswith("#users(id,userPrincipalName)/$entity")
    response = graph_client.get("/v1.0/users", params={"$select": "id,shoeSize"})
    assert error_of(response) == (400, "Request_BadRequest")
    assert "shoeSize" in response.json()["error"]["message"]


@pytest.mark.parametrize(("expression", "expected"), [
    ("mail eq 'ALICE@contoso.example'", {"alice"}),
    ("startswith(displayName,'he')", {"heidi"}),
    ("userPrincipalName in ('bob@contoso.example', 'judy@contoso.example', 'nobody@contoso.example')",
     {"bob", "judy"}),
    ("accountEnabled eq false", {"erin"}),
    ("displayName eq 'Carol' or (givenName eq 'Frank' and surname eq 'Osei')", {"carol", "frank"}),
    ("id in ('00000000-0000-0000-0000-000000000000')", set()),
])
def test_filter_on_the_usual_user_fields(graph_client, expression, expected):
    found = graph_client.get("/v1.0/users", params={"$filter": expression, "$select": "userPrincipalName"})
    assert found.status_code == 200, found.text
    assert {u["userPrincipalName"].split("@")[0] for u in found.json()["value"]} == expected


def test_filter_by_id_uses_the_real_ids(graph_client):
    alice = user_id(graph_client, "alice")
    found = graph_client.get("/v1.0/users", params={"$filter": f"id eq '{alice}'"}).json()["value"]
    assert [u["id"] for u in found] == [alice]


def test_advanced_filters_need_consistency_level_and_count(graph_client):
    params = {"$filter": "mail eq null", "$select": "userPrincipalName"}
    assert error_of(graph_client.get("/v1.0/users", params=params)) == (400, "Request_UnsupportedQuery")
    advanced = graph_client.get("/v1.0/users", params={**params, "$count": "true"}, headers=ADVANCED)
    assert advanced.status_code == 200
    assert [u["userPrincipalName"] for u in advanced.json()["value"]] == ["judy@contoso.example"]
    assert advanced.json()["@odata.count"] == 1
    negated = {"$filter": "accountEnabled ne true", "$count": "true", "$select": "userPrincipalName"}
    assert error_of(graph_client.get("/v1.0/users", params={**negated, "$count": "false"})) == (
        400, "Request_UnsupportedQuery")
    assert [u["userPrincipalName"] for u in graph_client.get("/v1.0/users", params=negated,
                                                               headers=ADVANCED).json()["value"]] == [
        "erin@contoso.example"]
    assert error_of(graph_client.get("/v1.0/users", params={"$count": "true"})) == (400, "Request_BadRequest")


@pytest.mark.parametrize(("expression", "code"), [
    ("shoeSize eq 42", "Request_BadRequest"),
    ("officeLocation eq 'Paris'", "Request_UnsupportedQuery"),
    ("mail eq", "BadRequest"),
    ("(mail eq 'a@b.c'", "BadRequest"),
    ("mail gt 'a'", "Request_UnsupportedQuery"),
    ("contains(mail,'a')", "Request_UnsupportedQuery"),
])
def test_bad_filters_answer_graph_errors(graph_client, expression, code):
    assert error_of(graph_client.get("/v1.0/users", params={"$filter": expression})) == (400, code)


def test_top_is_limited_to_999(graph_client):
    assert len(graph_client.get("/v1.0/users", params={"$top": 999}).json()["value"]) == 50
    too_many = graph_client.get("/v1.0/users", params={"$top": 1000})
    assert error_of(too_many) == (400, "Request_UnsupportedQuery")
    assert "Must be between 1 and 999" in too_many.json()["error"]["message"]
    assert error_of(graph_client.get("/v1.0/users", params={"$top": 0})) == (400, "Request_UnsupportedQuery")
    assert graph_client.get("/v1.0/users", params={"$skip": 5}).status_code == 400


def test_paging_walks_every_user_once_and_keeps_the_query(graph_client):
    users, pages = follow_pages(graph_client, "/v1.0/users", params={"$top": 7, "$select": "id,mail"})
    assert pages == 8
    assert len(users) == 50 == len({u["id"] for u in users})
    assert all(set(u) == {"id", "mail"} for u in users)
    first = graph_client.get("/v1.0/users", params={"$top": 7, "$select": "id,mail"}).json()
    link = urlsplit(first["@odata.nextLink"])
    assert link.path == "/v1.0/users"
    query = parse_qs(link.query)
    assert query["$top"] == ["7"] and query["$select"] == ["id,mail"] and query["$skiptoken"][0]
    default_page = graph_client.get("/v1.0/users").json()
    assert len(default_page["value"]) == 50 and "@odata.nextLink" not in default_page


def test_paging_a_filtered_list_has_no_empty_pages(graph_client):
    params = {"$top": 3, "$filter": "startswith(userPrincipalName,'l')", "$select": "userPrincipalName"}
    users, pages = follow_pages(graph_client, "/v1.0/users", params=params)
    expected = [u["userPrincipalName"] for u in graph_client.get("/v1.0/users", params={
        "$filter": "startswith(userPrincipalName,'l')", "$select": "userPrincipalName"}).json()["value"]]
    assert [u["userPrincipalName"] for u in users] == expected
    assert pages == -(-len(expected) // 3)


def test_skiptoken_is_opaque_and_bound_to_its_query(graph_client):
    first = graph_client.get("/v1.0/users", params={"$top": 5}).json()
    token = parse_qs(urlsplit(first["@odata.nextLink"]).query)["$skiptoken"][0]
    tampered = graph_client.get("/v1.0/users", params={"$top": 5, "$skiptoken": token[:-2] + "xx"})
    assert error_of(tampered) == (400, "Directory_ExpiredPageToken")
    other_query = graph_client.get("/v1.0/users", params={"$top": 5, "$skiptoken": token,
                                                          "$filter": "accountEnabled eq true"})
    assert error_of(other_query) == (400, "Directory_ExpiredPageToken")


# ------------------------------------------------------------------------------------------ groups


def test_groups_list_filter_and_get(graph_client):
    groups = graph_client.get("/v1.0/groups").json()["value"]
    assert {g["displayName"] for g in groups} == {"SOC Analysts", "SOC Tier 2", "SOC Leads", "Finance"}
    analysts = group_id(graph_client, "soc analysts")
    body = graph_client.get(f"/v1.0/groups/{analysts}").json()
    assert body["displayName"] == "SOC Analysts" and body["securityEnabled"] is True
    assert "members" not in body
    assert graph_client.get(f"/v1.0/groups/{analysts}/owners").json()["value"] == []
    assert error_of(graph_client.get("/v1.0/groups/4a4a4a4a-0000-4000-8000-000000000000")) == (
        404, "Request_ResourceNotFound")


def test_members_list_users_and_the_nested_group_typed(graph_client):
    analysts = group_id(graph_client, "SOC Analysts")
    members = graph_client.get(f"/v1.0/groups/{analysts}/members").json()
    assert members["@odata.context"].endswith("$metadata#directoryObjects")
    by_type: dict[str, list[dict]] = {}
    for member in members["value"]:
        by_type.setdefault(member["@odata.type"], []).append(member)
    users = {m["userPrincipalName"].split("@")[0] for m in by_type["#microsoft.graph.user"]}
    assert users == {"alice", "bob", "carol", "dave", "erin", "grace", "judy"}
    [nested] = by_type["#microsoft.graph.group"]
    assert nested["displayName"] == "SOC Tier 2" and "securityEnabled" in nested
    cast = graph_client.get(f"/v1.0/groups/{analysts}/members/microsoft.graph.user",
                            params={"$select": "id,userPrincipalName"}).json()
    assert cast["@odata.context"].endswith("$metadata#users(id,userPrincipalName)")
    assert all(set(u) == {"id", "userPrincipalName"} for u in cast["value"])
    assert {u["userPrincipalName"].split("@")[0] for u in cast["value"]} == users


def test_transitive_members_cast_reaches_nested_users_and_needs_advanced_query(graph_client):
    analysts = group_id(graph_client, "SOC Analysts")
    url = f"/v1.0/groups/{analysts}/transitiveMembers/microsoft.graph.user"
    select = "id,userPrincipalName,mail,givenName,surname,displayName,accountEnabled"
    assert error_of(graph_client.get(url, params={"$select": select})) == (400, "Request_UnsupportedQuery")
    users, pages = follow_pages(graph_client, url, params={"$select": select, "$top": 3, "$count": "true"},
                                headers=ADVANCED)
    assert pages == 3
    assert {u["userPrincipalName"].split("@")[0] for u in users} == {
        "alice", "bob", "carol", "dave", "erin", "grace", "judy", "frank"}
    assert all("@odata.type" not in u and set(u) == set(select.split(",")) for u in users)
    uncast = graph_client.get(f"/v1.0/groups/{analysts}/transitiveMembers").json()["value"]
    assert sum(m["@odata.type"] == "#microsoft.graph.group" for m in uncast) == 1
    assert len(uncast) == 9
    bad_cast = graph_client.get(f"/v1.0/groups/{analysts}/members/microsoft.graph.device")
    assert error_of(bad_cast) == (400, "BadRequest")


def test_member_paging_with_small_top(graph_client):
    finance = group_id(graph_client, "Finance")
    members, pages = follow_pages(graph_client, f"/v1.0/groups/{finance}/members/microsoft.graph.user",
                                  params={"$top": 2, "$select": "userPrincipalName"})
    assert len(members) == 9 and pages == 5
    assert "ivan@contoso.example" in {m["userPrincipalName"] for m in members}


# ------------------------------------------------------------------------------------------ applications


def test_application_create_read_by_both_keys_and_list_filter(graph_client):
    app = create_app(graph_client, web={"redirectUris": ["https://app.sekoia.io/api/v1/sso/callback"]})
    assert app["@odata.context"].endswith("$metadata#applications/$entity")
    assert app["id"] != app["appId"]
    assert app["signInAudience"] == "AzureADMyOrg" and app["passwordCredentials"] == []
    assert app["web"]["implicitGrantSettings"] == {"enableAccessTokenIssuance": False,
                                                   "enableIdTokenIssuance": False}
    by_id = graph_client.get(f"/v1.0/applications/{app['id']}").json()
    by_app_id = graph_client.get(f"/v1.0/applications(appId='{app['appId']}')").json()
    assert by_id["appId"] == by_app_id["appId"] == app["appId"]
    listed = graph_client.get("/v1.0/applications", params={"$filter": f"appId eq '{app['appId']}'"}).json()
    assert [a["id"] for a in listed["value"]] == [app["id"]]
    assert error_of(graph_client.get(f"/v1.0/applications/{app['appId']}")) == (404, "Request_ResourceNotFound")


def test_application_patch_merges_complex_properties(graph_client):
    app = create_app(graph_client, web={"redirectUris": ["https://a.example/cb"],
                                        "implicitGrantSettings": {"enableIdTokenIssuance": True}})
    patched = graph_client.patch(f"/v1.0/applications/{app['id']}",
                                 json={"web": {"redirectUris": ["https://b.example/cb"]}, "notes": "sso"})
    assert patched.status_code == 204 and patched.content == b""
    after = graph_client.get(f"/v1.0/applications/{app['id']}").json()
    assert after["web"]["redirectUris"] == ["https://b.example/cb"]
    assert after["web"]["implicitGrantSettings"] == {"enableIdTokenIssuance": True}
    assert after["notes"] == "sso"


@pytest.mark.parametrize("body", [
    {"displayName": "x", "web": {"redirectUris": ["http://sekoia.example/cb"]}},
    {"displayName": "x", "signInAudience": "AzureADandPersonalMicrosoftAccount",
     "web": {"redirectUris": ["https://*.sekoia.example/cb"]}},
    {"displayName": "x", "web": {"redirectUri": ["https://sekoia.example/cb"]}},
    {"displayName": "x", "redirectUris": ["https://sekoia.example/cb"]},
    {"displayName": "x", "appId": "4a4a4a4a-0000-4000-8000-000000000000"},
    {"displayName": "x", "signInAudience": "Everyone"},
    {"displayName": "x", "requiredResourceAccess": [{"resourceAppId": GRAPH_APP_ID,
                                                     "resourceAccess": [{"id": GRAPH_SCOPES["openid"],
                                                                         "type": "Delegated"}]}]},
    {"displayName": ""},
])
def test_application_bodies_entra_refuses(graph_client, body):
    assert error_of(graph_client.post("/v1.0/applications", json=body)) == (400, "Request_BadRequest")


def test_deleting_an_application_deletes_its_service_principal(graph_client, graph_emulator):
    app = create_app(graph_client)
    sp = create_sp(graph_client, app["appId"])
    assert graph_client.delete(f"/v1.0/applications/{app['id']}").status_code == 204
    assert error_of(graph_client.get(f"/v1.0/applications/{app['id']}")) == (404, "Request_ResourceNotFound")
    assert error_of(graph_client.get(f"/v1.0/servicePrincipals/{sp['id']}")) == (404, "Request_ResourceNotFound")
    assert app["id"] not in graph_emulator.state.applications
    assert graph_client.delete(f"/v1.0/applications/{app['id']}").status_code == 404


def test_add_and_remove_password(graph_client, graph_emulator):
    app = create_app(graph_client)
    create_sp(graph_client, app["appId"])
    added = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword",
                              json={"passwordCredential": {"displayName": "sekoia",
                                                           "endDateTime": "2030-01-01T00:00:00Z"}})
    assert added.status_code == 200
    credential = added.json()
    secret = credential["secretText"]
    assert len(secret) == 40 and credential["hint"] == secret[:3]
    assert credential["endDateTime"].startswith("2030-01-01T00:00:00")
    assert credential["displayName"] == "sekoia" and credential["keyId"]
    stored = graph_client.get(f"/v1.0/applications/{app['id']}").json()["passwordCredentials"]
    assert [(c["keyId"], c["hint"], c["secretText"]) for c in stored] == [(credential["keyId"], secret[:3], None)]
    assert secret not in graph_client.get(f"/v1.0/applications/{app['id']}").text
    assert graph_emulator.state.password_secrets[credential["keyId"]] == secret
    # the new secret logs in, as it would at login.microsoftonline.com
    assert token_request(graph_emulator, app["appId"], secret).status_code == 200
    other = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword", json={}).json()
    assert other["secretText"] != secret and other["keyId"] != credential["keyId"]
    removed = graph_client.post(f"/v1.0/applications/{app['id']}/removePassword",
                                json={"keyId": credential["keyId"]})
    assert removed.status_code == 204
    remaining = graph_client.get(f"/v1.0/applications/{app['id']}").json()["passwordCredentials"]
    assert [c["keyId"] for c in remaining] == [other["keyId"]]
    refused = token_request(graph_emulator, app["appId"], secret)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert refused.json()["error_description"].startswith("AADSTS7000215:")
    again = graph_client.post(f"/v1.0/applications/{app['id']}/removePassword", json={"keyId": credential["keyId"]})
    assert error_of(again) == (404, "Request_ResourceNotFound")


def test_password_with_end_before_start_is_refused(graph_client):
    app = create_app(graph_client)
    response = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword", json={"passwordCredential": {
        "startDateTime": "2030-01-01T00:00:00Z", "endDateTime": "2029-01-01T00:00:00Z"}})
    assert error_of(response) == (400, "Request_BadRequest")


# ------------------------------------------------------------------------------------------ service principals


def test_service_principal_needs_its_application_and_is_unique(graph_client):
    missing = graph_client.post("/v1.0/servicePrincipals", json={"appId": "4a4a4a4a-0000-4000-8000-000000000000"})
    assert error_of(missing) == (400, "Request_BadRequest")
    assert "does not reference a valid application object" in missing.json()["error"]["message"]
    app = create_app(graph_client, web={"redirectUris": ["https://app.sekoia.io/cb"]})
    sp = create_sp(graph_client, app["appId"], appRoleAssignmentRequired=True, tags=["sekoia"])
    assert sp["appId"] == app["appId"] and sp["appDisplayName"] == "Sekoia.io SSO"
    assert sp["appRoleAssignmentRequired"] is True and sp["replyUrls"] == ["https://app.sekoia.io/cb"]
    assert sp["appOwnerOrganizationId"] == TENANT_ID and sp["servicePrincipalNames"] == [app["appId"]]
    assert error_of(graph_client.post("/v1.0/servicePrincipals", json={"appId": app["appId"]})) == (
        409, "Request_MultipleObjectsWithSameKeyValue")
    listed = graph_client.get("/v1.0/servicePrincipals", params={"$filter": f"appId eq '{app['appId']}'"}).json()
    assert [s["id"] for s in listed["value"]] == [sp["id"]]
    assert graph_client.get(f"/v1.0/servicePrincipals(appId='{app['appId']}')").json()["id"] == sp["id"]
    assert graph_client.patch(f"/v1.0/servicePrincipals/{sp['id']}",
                              json={"appRoleAssignmentRequired": False}).status_code == 204
    assert graph_client.get(f"/v1.0/servicePrincipals/{sp['id']}").json()["appRoleAssignmentRequired"] is False
    graph_client.patch(f"/v1.0/applications/{app['id']}", json={"web": {"redirectUris": ["https://x.example/cb"]}})
    assert graph_client.get(f"/v1.0/servicePrincipals/{sp['id']}").json()["replyUrls"] == ["https://x.example/cb"]
    assert graph_client.delete(f"/v1.0/servicePrincipals/{sp['id']}").status_code == 204
    assert graph_client.get(f"/v1.0/applications/{app['id']}").status_code == 200


def test_microsoft_graph_service_principal_publishes_the_openid_scopes(graph_client):
    found = graph_client.get("/v1.0/servicePrincipals", params={"$filter": f"appId eq '{GRAPH_APP_ID}'"}).json()
    [graph] = found["value"]
    assert graph["displayName"] == "Microsoft Graph"
    scopes = {s["value"]: s["id"] for s in graph["oauth2PermissionScopes"]}
    assert {name: scopes[name] for name in GRAPH_SCOPES} == GRAPH_SCOPES
    by_name = graph_client.get("/v1.0/servicePrincipals", params={"$filter": "displayName eq 'Microsoft Graph'"})
    assert [s["id"] for s in by_name.json()["value"]] == [graph["id"]]


def test_app_role_assigned_to_create_list_get_delete(graph_client, graph_emulator):
    app = create_app(graph_client, appRoles=[{"allowedMemberTypes": ["User"], "description": "d",
                                              "displayName": "Analyst", "id": "5e1f0b5e-0000-4000-8000-000000000001",
                                              "isEnabled": True, "value": "analyst"}])
    sp = create_sp(graph_client, app["appId"])
    url = f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo"
    analysts = group_id(graph_client, "SOC Analysts")
    alice = user_id(graph_client, "alice")
    for_group = graph_client.post(url, json={"principalId": analysts, "resourceId": sp["id"], "appRoleId": ZERO_ROLE})
    assert for_group.status_code == 201
    assignment = for_group.json()
    assert assignment["principalType"] == "Group" and assignment["principalDisplayName"] == "SOC Analysts"
    assert assignment["resourceDisplayName"] == "Sekoia.io SSO" and assignment["appRoleId"] == ZERO_ROLE
    for_user = graph_client.post(url, json={"principalId": alice, "resourceId": sp["id"],
                                            "appRoleId": "5e1f0b5e-0000-4000-8000-000000000001"})
    assert for_user.status_code == 201 and for_user.json()["principalType"] == "User"
    duplicate = graph_client.post(url, json={"principalId": analysts, "resourceId": sp["id"], "appRoleId": ZERO_ROLE})
    assert error_of(duplicate) == (400, "Request_BadRequest")
    assert "already exists" in duplicate.json()["error"]["message"]
    unknown_role = graph_client.post(url, json={"principalId": alice, "resourceId": sp["id"],
                                                "appRoleId": "5e1f0b5e-0000-4000-8000-000000000009"})
    assert error_of(unknown_role) == (400, "Request_BadRequest")
    unknown_principal = graph_client.post(url, json={"principalId": "4a4a4a4a-0000-4000-8000-000000000000",
                                                     "resourceId": sp["id"], "appRoleId": ZERO_ROLE})
    assert error_of(unknown_principal) == (404, "Request_ResourceNotFound")
    listed = graph_client.get(url).json()["value"]
    assert {a["principalId"] for a in listed} == {analysts, alice}
    assert graph_client.get(f"{url}/{assignment['id']}").json()["principalId"] == analysts
    assert graph_client.get(f"/v1.0/groups/{analysts}/appRoleAssignments").json()["value"][0]["id"] == assignment["id"]
    assert graph_client.delete(f"{url}/{assignment['id']}").status_code == 204
    assert assignment["id"] not in graph_emulator.state.app_role_assignments
    assert [a["principalId"] for a in graph_client.get(url).json()["value"]] == [alice]
    assert error_of(graph_client.delete(f"{url}/{assignment['id']}")) == (404, "Request_ResourceNotFound")


def test_app_role_assignments_of_a_service_principal(graph_client, graph_emulator):
    principal = graph_emulator.principal_object_id
    roles = graph_client.get(f"/v1.0/servicePrincipals/{principal}/appRoleAssignments").json()["value"]
    graph_sp = graph_emulator.state.graph_service_principal
    assert {a["appRoleId"] for a in roles} >= {"1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
                                               "06b708a9-e830-4db3-a914-8e69da51d44f"}
    assert all(a["resourceId"] == graph_sp["id"] for a in roles)


def test_oauth2_permission_grants_crud(graph_client, graph_emulator):
    app = create_app(graph_client)
    sp = create_sp(graph_client, app["appId"])
    graph_sp = graph_emulator.state.graph_service_principal["id"]
    created = graph_client.post("/v1.0/oauth2PermissionGrants", json={
        "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "openid profile"})
    assert created.status_code == 201
    grant = created.json()
    assert grant["principalId"] is None and grant["scope"] == "openid profile"
    again = graph_client.post("/v1.0/oauth2PermissionGrants", json={
        "clientId": sp["id"], "consentType": "AllPrincipals", "resourceId": graph_sp, "scope": "openid"})
    assert again.status_code == 409
    found = graph_client.get("/v1.0/oauth2PermissionGrants", params={"$filter": f"clientId eq '{sp['id']}'"})
    assert [g["id"] for g in found.json()["value"]] == [grant["id"]]
    assert graph_client.patch(f"/v1.0/oauth2PermissionGrants/{grant['id']}",
                              json={"scope": "openid profile email"}).status_code == 204
    assert graph_client.get(f"/v1.0/oauth2PermissionGrants/{grant['id']}").json()["scope"] == "openid profile email"
    assert error_of(graph_client.patch(f"/v1.0/oauth2PermissionGrants/{grant['id']}",
                                       json={"clientId": graph_sp})) == (400, "Request_BadRequest")
    assert graph_client.delete(f"/v1.0/oauth2PermissionGrants/{grant['id']}").status_code == 204
    assert graph_client.get(f"/v1.0/oauth2PermissionGrants/{grant['id']}").status_code == 404


# ------------------------------------------------------------------------------------------ $batch


def test_batch_runs_each_request_through_the_same_handlers(graph_client, graph_emulator):
    app = create_app(graph_client)
    graph_emulator.clear_requests()
    response = graph_client.post("/v1.0/$batch", json={"requests": [
        {"id": "1", "method": "GET", "url": "/users/alice@contoso.example?$select=id,mail"},
        {"id": "2", "method": "GET", "url": "users?$filter=accountEnabled eq false&$select=userPrincipalName"},
        {"id": "3", "method": "PATCH", "url": f"/applications/{app['id']}", "body": {"notes": "batched"},
         "headers": {"Content-Type": "application/json"}},
        {"id": "4", "method": "GET", "url": "/users/nobody@contoso.example"},
        {"id": "5", "method": "GET", "url": "/users/bob@contoso.example", "dependsOn": ["4"]},
    ]})
    assert response.status_code == 200
    responses = {r["id"]: r for r in response.json()["responses"]}
    assert responses["1"]["status"] == 200 and set(responses["1"]["body"]) == {"@odata.context", "id", "mail"}
    assert [u["userPrincipalName"] for u in responses["2"]["body"]["value"]] == ["erin@contoso.example"]
    assert responses["3"]["status"] == 204 and "body" not in responses["3"]
    assert responses["4"]["status"] == 404
    assert responses["4"]["body"]["error"]["code"] == "Request_ResourceNotFound"
    assert responses["5"]["status"] == 424
    assert graph_client.get(f"/v1.0/applications/{app['id']}").json()["notes"] == "batched"
    logged = [(r.method, r.path, r.status) for r in graph_emulator.requests]
    assert logged[:5] == [("GET", "/v1.0/users/alice@contoso.example", 200), ("GET", "/v1.0/users", 200),
                          ("PATCH", f"/v1.0/applications/{app['id']}", 204),
                          ("GET", "/v1.0/users/nobody@contoso.example", 404),
                          ("GET", "/v1.0/users/bob@contoso.example", 424)]
    assert logged[5] == ("POST", "/v1.0/$batch", 200)


def test_batch_refuses_more_than_20_requests_and_malformed_ones(graph_client):
    twenty = [{"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(20)]
    assert graph_client.post("/v1.0/$batch", json={"requests": twenty}).status_code == 200
    too_many = twenty + [{"id": "20", "method": "GET", "url": "/users?$top=1"}]
    assert error_of(graph_client.post("/v1.0/$batch", json={"requests": too_many})) == (400, "BadRequest")
    duplicate_ids = [{"id": "1", "method": "GET", "url": "/users"}] * 2
    assert graph_client.post("/v1.0/$batch", json={"requests": duplicate_ids}).status_code == 400
    no_content_type = [{"id": "1", "method": "POST", "url": "/applications", "body": {"displayName": "x"}}]
    assert graph_client.post("/v1.0/$batch", json={"requests": no_content_type}).status_code == 400
    assert graph_client.post("/v1.0/$batch", json={"nope": []}).status_code == 400


def test_each_batch_request_can_be_throttled_on_its_own(graph_client, graph_emulator):
    graph_emulator.configure(throttle_every=2, retry_after=2)
    response = graph_client.post("/v1.0/$batch", json={"requests": [
        {"id": str(i), "method": "GET", "url": "/users?$top=1"} for i in range(1, 7)]})
    assert response.status_code == 200
    statuses = [r["status"] for r in response.json()["responses"]]
    assert statuses == [200, 429, 200, 429, 200, 429]
    throttled = response.json()["responses"][1]
    assert throttled["headers"]["Retry-After"] == "2"
    assert throttled["body"]["error"]["code"] == "TooManyRequests"


# ------------------------------------------------------------------------------------------ errors, auth


def test_unknown_segment_and_wrong_method(graph_client):
    assert error_of(graph_client.get("/v1.0/widgets")) == (400, "BadRequest")
    assert "widgets" in graph_client.get("/v1.0/widgets").json()["error"]["message"]
    assert graph_client.get("/v1.0/users/alice@contoso.example/widgets").json()["error"]["message"] == (
        "Resource not found for the segment 'widgets'.")
    assert error_of(graph_client.delete("/v1.0/users/alice@contoso.example"))[0] == 405
    assert error_of(graph_client.get("/beta/users"))[0] == 400
    bad_json = graph_client.post("/v1.0/applications", content=b"{nope", headers={"Content-Type": "application/json"})
    assert error_of(bad_json) == (400, "BadRequest")


def test_bearer_token_is_required_and_checked(graph_emulator):
    url = f"{graph_emulator.url}/v1.0/users"
    missing = httpx.get(url)
    assert error_of(missing) == (401, "InvalidAuthenticationToken")
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(httpx.get(url, headers={"Authorization": "Bearer not-a-token"})) == (
        401, "InvalidAuthenticationToken")
    assert error_of(httpx.get(url, headers={"Authorization": "Basic dXNlcjpwYXNz"})) == (
        401, "InvalidAuthenticationToken")
    token = graph_emulator.issue_token()
    assert httpx.get(url, headers={"Authorization": f"Bearer {token}"}).status_code == 200
    graph_emulator.expire_tokens()
    expired = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
    assert error_of(expired) == (401, "InvalidAuthenticationToken")
    assert "expired" in expired.json()["error"]["message"]


def test_missing_graph_permission_is_authorization_request_denied(graph_emulator):
    reader = {"Authorization": f"Bearer {graph_emulator.issue_token(roles=['User.Read.All'])}"}
    assert httpx.get(f"{graph_emulator.url}/v1.0/users", headers=reader).status_code == 200
    denied = httpx.post(f"{graph_emulator.url}/v1.0/applications", json={"displayName": "x"}, headers=reader)
    assert error_of(denied) == (403, "Authorization_RequestDenied")
    assert error_of(httpx.get(f"{graph_emulator.url}/v1.0/groups", headers=reader)) == (
        403, "Authorization_RequestDenied")


def test_owned_by_permission_only_opens_what_the_caller_owns(graph_emulator, graph_client):
    others = create_app(graph_client)
    owned_by = {"Authorization": f"Bearer {graph_emulator.issue_token(roles=['Application.ReadWrite.OwnedBy'])}"}
    mine = httpx.post(f"{graph_emulator.url}/v1.0/applications", json={"displayName": "mine"}, headers=owned_by)
    assert mine.status_code == 201
    assert graph_emulator.state.owners[mine.json()["id"]] == [graph_emulator.principal_object_id]
    owners = httpx.get(f"{graph_emulator.url}/v1.0/applications/{mine.json()['id']}/owners", headers=owned_by)
    assert [o["id"] for o in owners.json()["value"]] == [graph_emulator.principal_object_id]
    assert httpx.patch(f"{graph_emulator.url}/v1.0/applications/{mine.json()['id']}", json={"notes": "n"},
                       headers=owned_by).status_code == 204
    refused = httpx.patch(f"{graph_emulator.url}/v1.0/applications/{others['id']}", json={"notes": "n"},
                          headers=owned_by)
    assert error_of(refused) == (403, "Authorization_RequestDenied")
    alice = user_id(graph_client, "alice")
    keyed = f"/v1.0/applications(appId='{mine.json()['appId']}')/owners"
    added = graph_client.post(f"{keyed}/$ref", json={"@odata.id": f"https://graph.microsoft.com/v1.0/users/{alice}"})
    assert added.status_code == 204
    assert error_of(graph_client.post(f"{keyed}/$ref", json={
        "@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{alice}"})) == (400, "Request_BadRequest")
    owners, pages = follow_pages(graph_client, keyed, params={"$top": 1, "$select": "id"})
    assert [o["id"] for o in owners] == [graph_emulator.principal_object_id, alice] and pages == 2
    assert graph_client.delete(f"{keyed}/{alice}/$ref").status_code == 204
    assert graph_emulator.state.owners[mine.json()["id"]] == [graph_emulator.principal_object_id]


def test_token_endpoint_with_the_terraform_principal(graph_emulator):
    assert graph_emulator.principal_client_id == PRINCIPAL_CLIENT_ID
    good = token_request(graph_emulator, PRINCIPAL_CLIENT_ID, graph_emulator.principal_client_secret)
    assert good.status_code == 200
    body = good.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599 and body["access_token"]
    users = httpx.get(f"{graph_emulator.url}/v1.0/users", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert users.status_code == 200
    by_domain = token_request(graph_emulator, PRINCIPAL_CLIENT_ID, graph_emulator.principal_client_secret,
                              tenant="contoso.example")
    assert by_domain.status_code == 200
    assert graph_emulator.principal_client_secret not in repr(graph_emulator.requests)


@pytest.mark.parametrize(("change", "status", "error", "code"), [
    ({"client_secret": "wrong"}, 401, "invalid_client", "AADSTS7000215"),
    ({"client_secret": ""}, 401, "invalid_client", "AADSTS7000216"),
    ({"client_id": "4a4a4a4a-0000-4000-8000-000000000000"}, 400, "unauthorized_client", "AADSTS700016"),
    ({"scope": "openid"}, 400, "invalid_scope", "AADSTS1002012"),
    ({"grant_type": "password"}, 400, "unsupported_grant_type", "AADSTS70003"),
    ({"tenant": "11111111-2222-3333-4444-555555555555"}, 400, "invalid_tenant", "AADSTS90002"),
    ({"tenant": "common"}, 400, "invalid_request", "AADSTS50059"),
])
def test_token_endpoint_refusals_are_aadsts_errors(graph_emulator, change, status, error, code):
    form = {"grant_type": "client_credentials", "client_id": PRINCIPAL_CLIENT_ID,
            "client_secret": graph_emulator.principal_client_secret, "scope": "https://graph.microsoft.com/.default"}
    tenant = change.pop("tenant", TENANT_ID) if "tenant" in change else TENANT_ID
    form.update(change)
    response = httpx.post(f"{graph_emulator.url}/{tenant}/oauth2/v2.0/token", data=form)
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error and body["error_description"].startswith(f"{code}:")
    assert graph_emulator.principal_client_secret not in response.text


def test_discovery_document_and_keys_match_entra(graph_emulator):
    document = httpx.get(f"{graph_emulator.url}/{TENANT_ID}/v2.0/.well-known/openid-configuration").json()
    login = f"https://login.microsoftonline.com/{TENANT_ID}"
    assert document["issuer"] == f"{login}/v2.0"
    assert document["token_endpoint"] == f"{login}/oauth2/v2.0/token"
    assert document["authorization_endpoint"] == f"{login}/oauth2/v2.0/authorize"
    assert document["jwks_uri"] == f"{login}/discovery/v2.0/keys"
    assert document["userinfo_endpoint"] == "https://graph.microsoft.com/oidc/userinfo"
    by_domain = httpx.get(f"{graph_emulator.url}/contoso.example/v2.0/.well-known/openid-configuration").json()
    assert by_domain["issuer"] == document["issuer"]
    for placeholder in ("common", "organizations"):
        multi = httpx.get(f"{graph_emulator.url}/{placeholder}/v2.0/.well-known/openid-configuration").json()
        assert multi["issuer"] == "https://login.microsoftonline.com/{tenantid}/v2.0"
        assert multi["token_endpoint"] == f"https://login.microsoftonline.com/{placeholder}/oauth2/v2.0/token"
    unknown = httpx.get(f"{graph_emulator.url}/fabrikam.example/v2.0/.well-known/openid-configuration")
    assert unknown.status_code == 400 and unknown.json()["error"] == "invalid_tenant"
    [key] = httpx.get(f"{graph_emulator.url}/{TENANT_ID}/discovery/v2.0/keys").json()["keys"]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["e"] == "AQAB"
    assert key["kid"] and len(key["n"]) > 300


def test_discovery_knobs_wrong_issuer_and_missing(graph_emulator):
    url = f"{graph_emulator.url}/{TENANT_ID}/v2.0/.well-known/openid-configuration"
    graph_emulator.configure(discovery_mode="wrong_issuer")
    assert httpx.get(url).json()["issuer"] != f"https://login.microsoftonline.com/{TENANT_ID}/v2.0"
    graph_emulator.configure(discovery_mode="missing")
    assert httpx.get(url).status_code == 404
    with pytest.raises(ValueError):
        graph_emulator.configure(discovery_mode="sideways")
    with pytest.raises(ValueError):
        graph_emulator.configure(no_such_knob=1)


def test_organization_and_domains(graph_client):
    [organization] = graph_client.get("/v1.0/organization").json()["value"]
    assert organization["id"] == TENANT_ID
    assert {d["name"] for d in organization["verifiedDomains"]} >= {"contoso.example"}
    domains = {d["id"]: d for d in graph_client.get("/v1.0/domains").json()["value"]}
    assert domains["contoso.example"]["isVerified"] and domains["contoso.example"]["isDefault"]
    assert "fabrikam.example" not in domains


# ------------------------------------------------------------------------------------------ fault knobs


def test_latency_knob(graph_client, graph_emulator):
    graph_emulator.faults.latency_ms = 150
    started = time.monotonic()
    assert graph_client.get("/v1.0/users/alice@contoso.example").status_code == 200
    assert time.monotonic() - started >= 0.15
    graph_emulator.faults.latency_ms = 0
    started = time.monotonic()
    graph_client.get("/v1.0/users/alice@contoso.example")
    assert time.monotonic() - started < 0.1


def test_throttle_every_n_requests_with_retry_after(graph_client, graph_emulator):
    graph_emulator.configure(throttle_every=3, retry_after=0.5)
    statuses = [graph_client.get("/v1.0/users", params={"$top": 1}) for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    assert statuses[2].headers["Retry-After"] == "0.5"
    assert error_of(statuses[2]) == (429, "TooManyRequests")
    token = token_request(graph_emulator, PRINCIPAL_CLIENT_ID, graph_emulator.principal_client_secret)
    assert token.status_code == 200, "login routes are outside the Graph throttle unless include_login is set"


def test_throttle_rate_is_seeded(graph_emulator):
    def statuses(emulator: GraphEmulator) -> list[int]:
        emulator.configure(throttle_rate=0.5)
        headers = {"Authorization": f"Bearer {emulator.issue_token()}"}
        with httpx.Client(base_url=emulator.url, headers=headers) as client:
            return [client.get("/v1.0/users", params={"$top": 1}).status_code for _ in range(30)]

    with GraphEmulator(seed=7) as first, GraphEmulator(seed=7) as second, GraphEmulator(seed=8) as third:
        sequence = statuses(first)
        assert sequence == statuses(second)
        assert sequence != statuses(third)
    assert 5 < sequence.count(429) < 25


def test_server_error_injection(graph_client, graph_emulator):
    graph_emulator.configure(error_rate=1.0, error_statuses=(502,))
    response = graph_client.get("/v1.0/users")
    assert error_of(response) == (502, "BadGateway")
    graph_emulator.configure(error_rate=1.0, error_statuses=(503,), retry_after=3)
    unavailable = graph_client.get("/v1.0/users")
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "3"
    graph_emulator.configure(error_rate=0.0)
    assert graph_client.get("/v1.0/users").status_code == 200


def test_connection_resets(graph_client, graph_emulator):
    graph_emulator.configure(reset_rate=1.0)
    with pytest.raises(httpx.TransportError):
        graph_client.get("/v1.0/users")
    assert graph_emulator.requests[-1] == RequestRecord("GET", "/v1.0/users", {}, 0)
    graph_emulator.configure(reset_rate=0.0)
    assert graph_client.get("/v1.0/users").status_code == 200


def test_replication_delay_hides_new_objects_for_a_while(graph_client, graph_emulator):
    graph_emulator.configure(replication_delay_ms=400)
    app = create_app(graph_client)
    assert error_of(graph_client.get(f"/v1.0/applications/{app['id']}")) == (404, "Request_ResourceNotFound")
    assert graph_client.get("/v1.0/applications", params={"$filter": f"appId eq '{app['appId']}'"}).json()[
        "value"] == []
    early = graph_client.post("/v1.0/servicePrincipals", json={"appId": app["appId"]})
    assert error_of(early) == (400, "Request_BadRequest")
    assert early.json()["error"]["details"][0]["code"] == "NoBackingApplicationObject"
    early_password = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword", json={})
    assert error_of(early_password) == (404, "Request_ResourceNotFound")
    time.sleep(0.45)
    assert graph_client.get(f"/v1.0/applications/{app['id']}").status_code == 200
    assert graph_client.post("/v1.0/servicePrincipals", json={"appId": app["appId"]}).status_code == 201


def test_queued_faults_are_one_shot_and_matched_by_path(graph_client, graph_emulator):
    graph_emulator.queue_fault(status=503, path_prefix="/v1.0/applications", retry_after=1)
    graph_emulator.queue_fault(reset=True, path_prefix="/v1.0/groups", method="GET")
    assert graph_client.get("/v1.0/users").status_code == 200
    failed = graph_client.get("/v1.0/applications")
    assert failed.status_code == 503 and failed.headers["Retry-After"] == "1"
    assert graph_client.get("/v1.0/applications").status_code == 200
    with pytest.raises(httpx.TransportError):
        graph_client.get("/v1.0/groups")
    assert graph_client.get("/v1.0/groups").status_code == 200
    assert graph_emulator.pending_faults == []
    graph_emulator.queue_fault(status=429, path_prefix="/v1.0/users", times=2)
    assert [graph_client.get("/v1.0/users").status_code for _ in range(3)] == [429, 429, 200]


def test_reset_restores_the_tenant_quickly(graph_client, graph_emulator):
    app = create_app(graph_client)
    graph_emulator.state.users_by_upn["alice@contoso.example"]["mail"] = None
    graph_emulator.configure(latency_ms=5, throttle_every=100)
    started = time.monotonic()
    graph_emulator.reset()
    assert time.monotonic() - started < 0.05
    assert app["id"] not in graph_emulator.state.applications
    assert graph_client.get("/v1.0/users/alice@contoso.example").json()["mail"] == "alice@contoso.example"
    assert graph_emulator.faults.latency_ms == 0 and graph_emulator.faults.throttle_every == 0
    assert graph_emulator.requests == [RequestRecord("GET", "/v1.0/users/alice@contoso.example", {}, 200)]
    assert token_request(graph_emulator, PRINCIPAL_CLIENT_ID, graph_emulator.principal_client_secret).status_code == 200


def test_ids_are_deterministic_for_a_seed(graph_emulator):
    def first_app(seed: int) -> str:
        with GraphEmulator(seed=seed) as emulator:
            headers = {"Authorization": f"Bearer {emulator.issue_token()}"}
            return httpx.post(f"{emulator.url}/v1.0/applications", json={"displayName": "x"},
                              headers=headers).json()["appId"]

    assert first_app(3) == first_app(3) != first_app(4)


def test_concurrent_clients(graph_emulator, graph_token):
    failures: list[str] = []

    def worker() -> None:
        with httpx.Client(base_url=graph_emulator.url, headers={"Authorization": f"Bearer {graph_token}"}) as client:
            for _ in range(10):
                response = client.get("/v1.0/users", params={"$top": 10})
                if response.status_code != 200:
                    failures.append(response.text)
            created = client.post("/v1.0/applications", json={"displayName": "parallel"})
            if created.status_code != 201:
                failures.append(created.text)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(graph_emulator.state.applications) == 1 + 6


# ------------------------------------------------------------------------------------------ big tenants


def test_generated_tenant_shape_and_incomplete_share():
    tenant = generate_tenant(users=3000, groups=4, incomplete_share=0.1, seed=1)
    assert tenant["tenant"]["id"] == TENANT_ID
    assert len(tenant["users"]) == 3000 and len({u["id"] for u in tenant["users"]}) == 3000
    assert [len(g["members"]) for g in tenant["groups"]] == [750] * 4
    assert tenant["groups"][0]["displayName"] == "SOC Analysts"
    incomplete = set(tenant["generated"]["incompleteUserIds"])
    assert len(incomplete) == 300

    def missing(user: dict) -> bool:
        return any(not (user.get(name) or "").strip() for name in ("givenName", "surname", "mail"))

    assert {u["id"] for u in tenant["users"] if missing(u)} == incomplete
    assert generate_tenant(users=50, groups=2, seed=1)["users"] == generate_tenant(users=50, groups=2, seed=1)["users"]
    assert generate_tenant(users=50, groups=2, seed=1)["users"] != generate_tenant(users=50, groups=2, seed=2)["users"]


def test_emulator_serves_a_generated_tenant_page_by_page():
    tenant = generate_tenant(users=5000, groups=2, incomplete_share=0.05, seed=0)
    with GraphEmulator(tenant) as emulator, httpx.Client(
            base_url=emulator.url, headers={"Authorization": f"Bearer {emulator.issue_token()}"}) as client:
        group = tenant["groups"][1]["id"]
        members, pages = follow_pages(client, f"/v1.0/groups/{group}/members/microsoft.graph.user",
                                      params={"$select": "id,givenName,surname,mail", "$top": 999})
        assert len(members) == 2500 and pages == 3
        assert {m["id"] for m in members} == set(tenant["groups"][1]["members"])


@pytest.mark.slow
def test_hundred_thousand_users():
    started = time.monotonic()
    tenant = generate_tenant()
    with GraphEmulator(tenant) as emulator, httpx.Client(
            base_url=emulator.url, headers={"Authorization": f"Bearer {emulator.issue_token()}"}) as client:
        users, pages = follow_pages(client, "/v1.0/users", params={"$select": "id,mail", "$top": 999})
        assert len(users) == 100_000 and pages == 101
    assert time.monotonic() - started < 30


def test_access_tokens_carry_readable_claims_but_only_issued_ones_are_accepted(graph_emulator):
    token = token_request(graph_emulator, PRINCIPAL_CLIENT_ID, graph_emulator.principal_client_secret).json()[
        "access_token"]
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["tid"] == TENANT_ID and claims["appid"] == PRINCIPAL_CLIENT_ID
    assert claims["oid"] == graph_emulator.principal_object_id
    assert "Application.ReadWrite.All" in claims["roles"]
    forged = ".".join([header, payload, signature[:-4] + "AAAA"])
    response = httpx.get(f"{graph_emulator.url}/v1.0/users", headers={"Authorization": f"Bearer {forged}"})
    assert error_of(response) == (401, "InvalidAuthenticationToken")


def test_starts_fast_and_stops_for_every_connection():
    started = time.monotonic()
    emulator = GraphEmulator(seed=5).start()
    assert time.monotonic() - started < 0.5
    client = httpx.Client(base_url=emulator.url, headers={"Authorization": f"Bearer {emulator.issue_token()}"})
    assert client.get("/v1.0/users", params={"$top": 1}).status_code == 200
    emulator.stop()
    with pytest.raises(httpx.TransportError):
        client.get("/v1.0/users", params={"$top": 1})
    client.close()
    with pytest.raises(RuntimeError):
        emulator.url  # noqa: B018 - a stopped emulator has no URL


def test_service_principal_passwords_log_in_too(graph_client, graph_emulator):
    app = create_app(graph_client)
    sp = create_sp(graph_client, app["appId"])
    secret = graph_client.post(f"/v1.0/servicePrincipals/{sp['id']}/addPassword", json={}).json()["secretText"]
    assert token_request(graph_emulator, app["appId"], secret).status_code == 200
    assert graph_client.get(f"/v1.0/servicePrincipals/{sp['id']}").json()["passwordCredentials"][0][
        "secretText"] is None


def test_replication_lag_per_object_is_seeded_and_some_requests_already_see_it(graph_client, graph_emulator):
    # Only a share of new objects lag at all; while one lags, some requests already reach a replica with it.
    graph_emulator.configure(replication_delay_ms=5000, replication_lag_share=0.5, replication_seen_share=0.5)
    apps = [create_app(graph_client) for _ in range(12)]
    first = [graph_client.get(f"/v1.0/applications/{a['id']}").status_code for a in apps]
    assert set(first) == {200, 404}, first
    lagging = [a for a, status in zip(apps, first, strict=True) if status == 404]
    flickers = {graph_client.get(f"/v1.0/applications/{lagging[0]['id']}").status_code for _ in range(20)}
    assert flickers == {200, 404}, "a lagging object answers from some replicas and not others"
    # The same seed draws the same lags: a reset emulator replays them.
    graph_emulator.reset()
    graph_emulator.configure(replication_delay_ms=5000, replication_lag_share=0.5, replication_seen_share=0.5)
    again = [create_app(graph_client) for _ in range(12)]
    assert [graph_client.get(f"/v1.0/applications/{a['id']}").status_code for a in again] == first
    with pytest.raises(ValueError, match="replication_lag_share must be between 0 and 1"):
        graph_emulator.configure(replication_lag_share=1.5)
