"""The login emulator's authorization-code flow over real HTTP: authorize, the code grant, the ID token.

Each application is made through Graph, as Terraform or the portal makes it; each ID token is
checked with PyJWT against the JWKS the emulator publishes, as a relying party would.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

CALLBACK = "https://app.sekoia.io/user/callback"
DEFAULT_ACCESS = "00000000-0000-0000-0000-000000000000"
OPTIONAL = {"idToken": [{"name": n, "essential": True} for n in ("email", "family_name", "given_name")]}


def make_app(graph_client, graph_emulator, *, optional_claims=OPTIONAL, audience="AzureADMyOrg",
             assign=("SOC Analysts",)):
    app = graph_client.post("/v1.0/applications", json={
        "displayName": "login test", "signInAudience": audience, "web": {"redirectUris": [CALLBACK]},
        "optionalClaims": optional_claims}).json()
    sp = graph_client.post("/v1.0/servicePrincipals", json={"appId": app["appId"],
                                                             "appRoleAssignmentRequired": True}).json()
    for name in assign:
        group = next(g for g in graph_emulator.state.groups if g["displayName"] == name)
        graph_client.post(f"/v1.0/servicePrincipals/{sp['id']}/appRoleAssignedTo", json={
            "principalId": group["id"], "resourceId": sp["id"], "appRoleId": DEFAULT_ACCESS}).raise_for_status()
    secret = graph_client.post(f"/v1.0/applications/{app['id']}/addPassword", json={}).json()["secretText"]
    return app["appId"], secret


def authorize(graph_emulator, client_id, user=None, *, redirect_uri=CALLBACK, scope="openid profile email"):
    headers = {"X-Sandbox-User": user} if user else {}
    return httpx.get(f"{graph_emulator.url}/{graph_emulator.tenant_id}/oauth2/v2.0/authorize", headers=headers,
                     params={"client_id": client_id, "response_type": "code", "redirect_uri": redirect_uri,
                             "scope": scope, "state": "s1", "nonce": "n1"}, follow_redirects=False)


def code_of(answer) -> str:
    assert answer.status_code == 302, answer.text
    return parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]


def redeem(graph_emulator, client_id, secret, code, *, redirect_uri=CALLBACK):
    return httpx.post(f"{graph_emulator.url}/{graph_emulator.tenant_id}/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "client_id": client_id,
        "client_secret": secret})


def claims_of(graph_emulator, client_id, token_answer) -> dict:
    assert token_answer.status_code == 200, token_answer.text
    keys = httpx.get(f"{graph_emulator.url}/{graph_emulator.tenant_id}/discovery/v2.0/keys").json()["keys"]
    id_token = token_answer.json()["id_token"]
    assert jwt.get_unverified_header(id_token)["alg"] == "RS256"
    return jwt.decode(id_token, jwt.PyJWK(keys[0]).key, algorithms=["RS256"], audience=client_id,
                      issuer=f"https://login.microsoftonline.com/{graph_emulator.tenant_id}/v2.0")


def login(graph_emulator, client_id, secret, user, **kwargs) -> dict:
    code = code_of(authorize(graph_emulator, client_id, user, **kwargs))
    return claims_of(graph_emulator, client_id, redeem(graph_emulator, client_id, secret, code))


def test_id_token_is_signed_and_carries_v2_claims(graph_client, graph_emulator):
    client_id, secret = make_app(graph_client, graph_emulator)
    claims = login(graph_emulator, client_id, secret, "alice@contoso.example")
    alice = graph_emulator.state.user("alice@contoso.example")
    assert claims["oid"] == alice["id"] and claims["tid"] == graph_emulator.tenant_id and claims["ver"] == "2.0"
    assert claims["nonce"] == "n1" and claims["exp"] > time.time() and claims["sub"] != alice["id"]
    assert (claims["name"], claims["preferred_username"], claims["email"], claims["given_name"],
            claims["family_name"]) == ("Alice Martin", "alice@contoso.example", "alice@contoso.example", "Alice",
                                       "Martin")


def test_names_need_the_optional_claims_and_the_profile_scope_email_needs_a_mail(graph_client, graph_emulator):
    bare_id, bare_secret = make_app(graph_client, graph_emulator, optional_claims=None)
    bare = login(graph_emulator, bare_id, bare_secret, "alice@contoso.example")
    assert "given_name" not in bare and "family_name" not in bare and bare["email"] == "alice@contoso.example"
    client_id, secret = make_app(graph_client, graph_emulator)
    no_profile = login(graph_emulator, client_id, secret, "alice@contoso.example", scope="openid")
    assert not {"name", "preferred_username", "given_name", "family_name"} & set(no_profile)
    assert "email" in no_profile  # the email optional claim gives it without the email scope
    no_email_scope = login(graph_emulator, bare_id, bare_secret, "alice@contoso.example", scope="openid profile")
    assert "email" not in no_email_scope
    assert "email" not in login(graph_emulator, client_id, secret, "judy@contoso.example")  # no mail attribute


def test_multi_tenant_apps_get_no_email_of_an_unverified_domain(graph_client, graph_emulator):
    single_id, single_secret = make_app(graph_client, graph_emulator)
    assert login(graph_emulator, single_id, single_secret, "grace@contoso.example")["email"] == \
        "grace@fabrikam.example"
    multi_id, multi_secret = make_app(graph_client, graph_emulator, audience="AzureADMultipleOrgs")
    assert "email" not in login(graph_emulator, multi_id, multi_secret, "grace@contoso.example")
    assert login(graph_emulator, multi_id, multi_secret, "alice@contoso.example")["email"] == "alice@contoso.example"


@pytest.mark.parametrize(("client", "redirect_uri", "code"), [
    ("unknown", CALLBACK, "AADSTS700016"),
    ("known", CALLBACK + "/", "AADSTS50011"),
    ("known", "https://APP.sekoia.io/user/callback", "AADSTS50011"),
])
def test_authorize_error_pages(graph_client, graph_emulator, client, redirect_uri, code):
    client_id, _ = make_app(graph_client, graph_emulator)
    answer = authorize(graph_emulator, client_id if client == "known" else "0" * 8 + "-0000-0000-0000-" + "0" * 12,
                       "alice@contoso.example", redirect_uri=redirect_uri)
    assert answer.status_code == 400 and code in answer.text and "location" not in answer.headers
    assert answer.headers["content-type"].startswith("text/html")


def test_without_a_user_the_sign_in_page_shows_and_nested_members_are_refused(graph_client, graph_emulator):
    client_id, _ = make_app(graph_client, graph_emulator)
    page = authorize(graph_emulator, client_id)
    assert page.status_code == 200 and "AADSTS" not in page.text
    nested = authorize(graph_emulator, client_id, "frank@contoso.example")  # SOC Tier 2 inside SOC Analysts
    back = parse_qs(urlsplit(nested.headers["location"]).query)
    assert back["error"] == ["access_denied"] and "AADSTS50105" in back["error_description"][0]
    assert back["state"] == ["s1"]
    disabled = authorize(graph_emulator, client_id, "erin@contoso.example")
    assert disabled.status_code == 400 and "AADSTS50057" in disabled.text


def test_a_code_is_single_use_bound_to_client_and_redirect_and_expires(graph_client, graph_emulator):
    client_id, secret = make_app(graph_client, graph_emulator)
    other_id, other_secret = make_app(graph_client, graph_emulator)
    code = code_of(authorize(graph_emulator, client_id, "alice@contoso.example"))
    assert "AADSTS70000" in redeem(graph_emulator, other_id, other_secret, code).text
    wrong = redeem(graph_emulator, client_id, secret, code, redirect_uri="https://app.sekoia.io/other")
    assert wrong.status_code == 400 and "AADSTS70000" in wrong.text
    assert redeem(graph_emulator, client_id, secret, code).status_code == 200
    again = redeem(graph_emulator, client_id, secret, code)
    assert again.status_code == 400 and "AADSTS54005" in again.text
    graph_emulator.configure(auth_code_lifetime_ms=0)
    late = code_of(authorize(graph_emulator, client_id, "alice@contoso.example"))
    assert "AADSTS70008" in redeem(graph_emulator, client_id, secret, late).text


def test_a_new_secret_is_refused_until_it_propagates(graph_client, graph_emulator):
    graph_emulator.configure(secret_propagation_ms=1500)
    client_id, secret = make_app(graph_client, graph_emulator)
    code = code_of(authorize(graph_emulator, client_id, "alice@contoso.example"))
    early = redeem(graph_emulator, client_id, secret, code)
    assert early.status_code == 401 and "AADSTS7000215" in early.text and secret not in early.text
    time.sleep(1.6)
    late = redeem(graph_emulator, client_id, secret, code)
    assert late.status_code == 200, late.text  # the code was not spent
