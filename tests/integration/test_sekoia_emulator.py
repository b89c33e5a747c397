"""The Sekoia.io emulator on its own, over real HTTP with httpx: routes, errors, domains, SSO, WAF, faults."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from orchestrator.sekoia.routes import PERMISSION_READ, PERMISSION_WRITE, ROUTES, format_path
from sandbox.sekoia.emulator import RequestRecord, SekoiaEmulator
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID, DEMO_ROLE_NAMES, FOREIGN_COMMUNITY_UUID

pytestmark = pytest.mark.timeout(30)

CLIENT_ID = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
TENANT_URL = "https://login.microsoftonline.com/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d/"
SECRET = "s3cr3t~Value.For-Tests_only0123456789"


def client(emulator: SekoiaEmulator, key: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=emulator.url, headers=headers, timeout=5)


def path(name: str, **params: str) -> str:
    return format_path(name, **params)


def community_path(name: str, **params: str) -> str:
    return format_path(name, community_uuid=DEMO_COMMUNITY_UUID, **params)


def sso_body(emulator: SekoiaEmulator, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "enabled": True,
        "provider_url": TENANT_URL,
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "jit_provisioning": True,
        "default_role_uuid": emulator.roles(DEMO_COMMUNITY_UUID)["Analyst"],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def assert_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "code"} and body["message"] and body["code"], body
    return body


# ---- the route table ---------------------------------------------------------------------------


def test_route_table_names_every_operation_with_confirmed_and_assumed_routes():
    assert list(ROUTES) == ["me", "my_communities", "community", "community_roles", "list_domains",
                            "add_domain", "remove_domain", "read_sso", "write_sso", "disable_sso"]
    assert {n for n, r in ROUTES.items() if r.confirmed} == {"me", "my_communities", "community",
                                                             "community_roles"}
    for name in ("add_domain", "remove_domain", "write_sso", "disable_sso"):
        assert ROUTES[name].permission == PERMISSION_WRITE == "COMMUNITY_WRITE_ROLE"
        assert not ROUTES[name].safe
    assert all(r.safe for r in ROUTES.values() if r.method == "GET")
    assert format_path("remove_domain", community_uuid="c/1", domain_uuid="d") == "/v1/communities/c%2F1/domains/d"
    with pytest.raises(ValueError, match="missing"):
        format_path("community")
    with pytest.raises(KeyError, match="no Sekoia route named 'sso'"):
        format_path("sso")


def test_emulator_source_holds_no_path_of_its_own():
    source = Path(sys.modules[SekoiaEmulator.__module__].__file__).read_text()
    assert "/v1" not in source and "/communities" not in source and "/sso" not in source


def test_emulator_paths_follow_the_route_table_when_it_changes():
    # A different table in a fresh interpreter: the emulator must serve the new path, not the old one.
    script = textwrap.dedent("""
        import dataclasses, httpx
        from orchestrator.sekoia import routes as sekoia_routes
        sekoia_routes.ROUTES["me"] = dataclasses.replace(sekoia_routes.ROUTES["me"], path="/v9/whoami")
        from sandbox.sekoia.emulator import SekoiaEmulator
        with SekoiaEmulator() as emu:
            auth = {"Authorization": "Bearer " + emu.demo_api_key}
            print(httpx.get(emu.url + "/v9/whoami", headers=auth).status_code,
                  httpx.get(emu.url + "/v1/me", headers=auth).status_code)
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=20,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["200", "404"]


# ---- each route --------------------------------------------------------------------------------


def test_me_answers_the_keys_user(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        me = http.get(path("me"))
    assert me.status_code == 200
    assert set(me.json()) == {"uuid", "email", "firstname", "lastname"}
    assert me.json()["email"] == "soc.admin@contoso.com"


def test_my_communities_lists_only_what_the_key_reaches(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        answer = http.get(path("my_communities")).json()
    assert answer["total"] == 1
    (community,) = answer["items"]
    assert community["uuid"] == DEMO_COMMUNITY_UUID and community["name"] == "Contoso SOC"
    assert FOREIGN_COMMUNITY_UUID not in str(answer)


def test_community_has_the_documented_fields(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        community = http.get(community_path("community"))
    assert community.status_code == 200
    assert community.json() == {"uuid": DEMO_COMMUNITY_UUID, "name": "Contoso SOC", "is_parent": False,
                                "parent_community_uuid": None, "subcommunities": [], "disabled": False}


def test_roles_list_with_paging_and_match_filter(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        roles = http.get(community_path("community_roles")).json()
        page = http.get(community_path("community_roles"), params={"limit": 1, "offset": 1}).json()
        analyst = http.get(community_path("community_roles"), params={"match[name]": "Analyst,Nobody"}).json()
        bad = http.get(community_path("community_roles"), params={"limit": 0})
    assert [r["name"] for r in roles["items"]] == list(DEMO_ROLE_NAMES) and roles["total"] == 3
    assert all(set(r) == {"uuid", "name", "community_uuid", "permissions"} for r in roles["items"])
    assert all(r["community_uuid"] == DEMO_COMMUNITY_UUID for r in roles["items"])
    assert page["total"] == 3 and [r["name"] for r in page["items"]] == ["Analyst"]
    assert [r["name"] for r in analyst["items"]] == ["Analyst"] and analyst["total"] == 1
    assert_error(bad, 400)


def test_domain_add_list_remove(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.get(community_path("list_domains")).json() == {"items": [], "total": 0}
        added = http.post(community_path("add_domain"), json={"name": "Contoso.com"})
        assert added.status_code == 201
        item = added.json()
        assert set(item) == {"uuid", "name", "status", "created_at", "rejection_reason"}
        assert item["name"] == "contoso.com" and item["status"] == "pending" and item["rejection_reason"] is None
        assert http.get(community_path("list_domains")).json() == {"items": [item], "total": 1}
        removed = http.delete(community_path("remove_domain", domain_uuid=item["uuid"]))
        assert removed.status_code == 204 and removed.content == b""
        assert http.get(community_path("list_domains")).json()["total"] == 0
        assert_error(http.delete(community_path("remove_domain", domain_uuid=item["uuid"])), 404)


def test_domain_added_twice_is_409(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.post(community_path("add_domain"), json={"name": "contoso.com"}).status_code == 201
        conflict = assert_error(http.post(community_path("add_domain"), json={"name": "CONTOSO.com"}), 409)
        assert "contoso.com" in conflict["message"]
        assert http.get(community_path("list_domains")).json()["total"] == 1


@pytest.mark.parametrize("body", [{"name": "not a domain"}, {"name": "localhost"}, {"name": 3}, {},
                                  {"name": "contoso.com", "status": "verified"}, ["contoso.com"]])
def test_domain_add_validates_its_body(sekoia_emulator, sekoia_api_key, body):
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert_error(http.post(community_path("add_domain"), json=body), 400)
        assert http.get(community_path("list_domains")).json()["total"] == 0


def test_same_domain_may_belong_to_two_communities(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.seed_domain(FOREIGN_COMMUNITY_UUID, "contoso.com", status="verified")
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.post(community_path("add_domain"), json={"name": "contoso.com"}).json()["status"] == "pending"


# ---- domain verification ---------------------------------------------------------------------


def test_domain_stays_pending_until_an_admin_verifies_it(sekoia_emulator, sekoia_api_key):
    assert sekoia_emulator.domain_verification_delay is None
    with client(sekoia_emulator, sekoia_api_key) as http:
        http.post(community_path("add_domain"), json={"name": "contoso.com"})
        time.sleep(0.05)
        assert http.get(community_path("list_domains")).json()["items"][0]["status"] == "pending"
        sekoia_emulator.verify_domain("contoso.com")
        assert http.get(community_path("list_domains")).json()["items"][0]["status"] == "verified"


def test_domain_is_verified_after_the_configured_delay(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.domain_verification_delay = 0.3
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.post(community_path("add_domain"), json={"name": "contoso.com"}).json()["status"] == "pending"
        assert http.get(community_path("list_domains")).json()["items"][0]["status"] == "pending"
        time.sleep(0.35)
        assert http.get(community_path("list_domains")).json()["items"][0]["status"] == "verified"


def test_domain_delay_zero_is_verified_at_once(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.domain_verification_delay = 0
    with client(sekoia_emulator, sekoia_api_key) as http:
        http.post(community_path("add_domain"), json={"name": "contoso.com"})
        assert http.get(community_path("list_domains")).json()["items"][0]["status"] == "verified"


def test_rejected_domain_carries_its_reason(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        http.post(community_path("add_domain"), json={"name": "contoso.com"})
        sekoia_emulator.reject_domain("contoso.com", "The domain does not belong to your organisation")
        (item,) = http.get(community_path("list_domains")).json()["items"]
    assert item["status"] == "rejected"
    assert item["rejection_reason"] == "The domain does not belong to your organisation"
    with pytest.raises(KeyError):
        sekoia_emulator.verify_domain("fabrikam.com")


# ---- SSO ---------------------------------------------------------------------------------------


def test_sso_read_is_404_with_a_code_when_none(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert_error(http.get(community_path("read_sso")), 404)
        assert_error(http.delete(community_path("disable_sso")), 404)


def test_sso_write_read_disable_never_answers_the_secret(sekoia_emulator, sekoia_api_key):
    body = sso_body(sekoia_emulator)
    with client(sekoia_emulator, sekoia_api_key) as http:
        written = http.put(community_path("write_sso"), json=body)
        read = http.get(community_path("read_sso"))
        rotated = http.put(community_path("write_sso"), json={**body, "client_secret": "second-secret-value"})
        disabled = http.delete(community_path("disable_sso"))
        after = http.get(community_path("read_sso"))
    assert written.status_code == 200 and read.status_code == 200
    expected = {k: v for k, v in body.items() if k != "client_secret"}
    for answer in (written, read, rotated):
        assert "client_secret" not in answer.json() and SECRET not in answer.text
        assert {k: answer.json()[k] for k in expected} == expected
    assert set(read.json()) == {*expected, "login_url"}
    login_url = read.json()["login_url"]
    prefix = f"{sekoia_emulator.app_url}/user/oidc/"
    assert login_url.startswith(prefix) and len(login_url) == len(prefix) + 36
    assert rotated.json()["login_url"] == login_url  # a rotation keeps the users' URL
    assert disabled.status_code == 204
    assert_error(after, 404)
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) is None
    assert sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID) == [SECRET, "second-secret-value"]


def test_sso_secret_kept_for_tests(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        http.put(community_path("write_sso"), json=sso_body(sekoia_emulator))
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == SECRET
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["client_id"] == CLIENT_ID


@pytest.mark.parametrize(("changes", "complaint"), [
    ({"provider_url": "http://login.microsoftonline.com/tenant/"}, "provider_url"),
    ({"provider_url": "login.microsoftonline.com/tenant"}, "provider_url"),
    ({"client_id": "not-a-guid"}, "client_id"),
    ({"default_role_uuid": "00000000-0000-4000-8000-000000000000"}, "default_role_uuid"),
    ({"default_role_uuid": None}, "default_role_uuid is required when jit_provisioning"),
    ({"default_role_uuid": ...}, "default_role_uuid is required when jit_provisioning"),
    ({"client_secret": ...}, "client_secret is required"),
    ({"client_secret": "  "}, "client_secret"),
    ({"enabled": "yes"}, "enabled"),
    ({"jit": True}, "Unknown field(s): jit"),
])
def test_sso_write_validates(sekoia_emulator, sekoia_api_key, changes, complaint):
    with client(sekoia_emulator, sekoia_api_key) as http:
        answer = http.put(community_path("write_sso"), json=sso_body(sekoia_emulator, **changes))
        error = assert_error(answer, 400)
        assert complaint in error["message"]
        assert SECRET not in answer.text
        assert http.get(community_path("read_sso")).status_code == 404
    assert sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID) == []


def test_sso_write_accepts_a_role_of_another_community_nowhere(sekoia_emulator, sekoia_api_key):
    foreign_role = sekoia_emulator.roles(FOREIGN_COMMUNITY_UUID)["Analyst"]
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert_error(http.put(community_path("write_sso"),
                              json=sso_body(sekoia_emulator, default_role_uuid=foreign_role)), 400)


def test_sso_write_without_jit_needs_no_role_and_loopback_http_is_allowed(sekoia_emulator, sekoia_api_key):
    body = sso_body(sekoia_emulator, jit_provisioning=False, default_role_uuid=...,
                    provider_url="http://127.0.0.1:8123/tenant/")
    with client(sekoia_emulator, sekoia_api_key) as http:
        answer = http.put(community_path("write_sso"), json=body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["default_role_uuid"] is None and answer.json()["jit_provisioning"] is False
    sekoia_emulator.allow_loopback_http = False
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert_error(http.put(community_path("write_sso"), json=body), 400)


# ---- keys, permissions, reach --------------------------------------------------------------------


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic abc", "Bearer"])
def test_401_for_missing_or_invalid_key(sekoia_emulator, authorization):
    headers = {"Authorization": authorization} if authorization else {}
    with client(sekoia_emulator, None) as http:
        answer = http.get(path("me"), headers=headers)
    assert_error(answer, 401)
    assert answer.headers["WWW-Authenticate"] == "Bearer"


def test_401_for_expired_key(sekoia_emulator):
    expired = sekoia_emulator.add_api_key({PERMISSION_READ}, expired=True)
    later = sekoia_emulator.add_api_key({PERMISSION_READ})
    with client(sekoia_emulator, expired) as http:
        assert "expired" in assert_error(http.get(path("me")), 401)["message"]
    sekoia_emulator.expire_api_key(later)
    with client(sekoia_emulator, later) as http:
        assert_error(http.get(community_path("community")), 401)


def test_403_names_the_missing_permission(sekoia_emulator):
    reader = sekoia_emulator.add_api_key({PERMISSION_READ})
    with client(sekoia_emulator, reader) as http:
        assert http.get(community_path("list_domains")).status_code == 200
        assert http.get(community_path("community_roles")).status_code == 200
        writes = [
            http.post(community_path("add_domain"), json={"name": "contoso.com"}),
            http.delete(community_path("remove_domain", domain_uuid="x")),
            http.put(community_path("write_sso"), json=sso_body(sekoia_emulator)),
            http.delete(community_path("disable_sso")),
        ]
    for answer in writes:
        assert assert_error(answer, 403)["message"] == "Missing permission COMMUNITY_WRITE_ROLE"
    assert sekoia_emulator.domains(DEMO_COMMUNITY_UUID) == []
    assert sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID) == []
    bare = sekoia_emulator.add_api_key(set())
    with client(sekoia_emulator, bare) as http:
        assert http.get(path("me")).status_code == 200  # the key check needs no permission
        assert assert_error(http.get(community_path("read_sso")), 403)["message"].endswith(PERMISSION_READ)


def test_unknown_and_unreachable_communities_are_404(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        unknown = assert_error(http.get(path("community", community_uuid="00000000-0000-4000-8000-000000000000")),
                               404)
        foreign = assert_error(http.get(path("community", community_uuid=FOREIGN_COMMUNITY_UUID)), 404)
        foreign_write = http.post(path("add_domain", community_uuid=FOREIGN_COMMUNITY_UUID),
                                  json={"name": "fabrikam.com"})
    assert unknown["code"] == foreign["code"] == "NOT_FOUND"
    assert_error(foreign_write, 404)
    assert sekoia_emulator.domains(FOREIGN_COMMUNITY_UUID) == []


def test_unreachable_community_can_answer_403_instead(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.foreign_community_status = 403
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert_error(http.get(path("community", community_uuid=FOREIGN_COMMUNITY_UUID)), 403)
        assert_error(http.get(path("community", community_uuid="00000000-0000-4000-8000-000000000000")), 404)


def test_a_parent_key_reaches_its_subcommunities(sekoia_emulator):
    child = sekoia_emulator.add_community("Contoso SOC Lab", parent_uuid=DEMO_COMMUNITY_UUID)
    key = sekoia_emulator.add_api_key({PERMISSION_READ})
    child_key = sekoia_emulator.add_api_key({PERMISSION_READ}, community_uuid=child)
    with client(sekoia_emulator, key) as http:
        mine = http.get(path("my_communities")).json()
        assert http.get(path("community_roles", community_uuid=child)).status_code == 200
    assert [c["uuid"] for c in mine["items"]] == [DEMO_COMMUNITY_UUID, child]
    assert mine["items"][0]["is_parent"] is True and mine["items"][0]["subcommunities"] == [child]
    assert mine["items"][1]["parent_community_uuid"] == DEMO_COMMUNITY_UUID
    with client(sekoia_emulator, child_key) as http:
        assert_error(http.get(community_path("community")), 404)


# ---- the WAF -----------------------------------------------------------------------------------


def test_rate_limit_blocks_with_retry_after(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.rate_limit = 5
    sekoia_emulator.rate_limit_block = 1.5
    with client(sekoia_emulator, sekoia_api_key) as http:
        statuses = [http.get(path("me")).status_code for _ in range(5)]
        blocked = http.get(path("me"))
        still = http.get(path("me"))
    assert statuses == [200] * 5
    assert_error(blocked, 429)
    assert blocked.headers["Retry-After"] == "2"  # 1.5 s rounded up: a client never retries too soon
    assert still.status_code == 429 and int(still.headers["Retry-After"]) in (1, 2)


def test_block_ends_and_default_block_is_the_real_wafs(sekoia_emulator, sekoia_api_key):
    assert sekoia_emulator.rate_limit == 100 and sekoia_emulator.rate_limit_block == (30.0, 600.0)
    sekoia_emulator.rate_limit = 2
    with client(sekoia_emulator, sekoia_api_key) as http:
        for _ in range(2):
            http.get(path("me"))
        retry_after = int(http.get(path("me")).headers["Retry-After"])
        assert 30 <= retry_after <= 600
        sekoia_emulator.block(0.2)
        time.sleep(0.25)
        assert http.get(path("me")).status_code == 200


def test_too_many_errors_block_too(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.error_limit = 1
    sekoia_emulator.error_window = 2
    sekoia_emulator.rate_limit_block = 1
    with client(sekoia_emulator, "wrong") as bad, client(sekoia_emulator, sekoia_api_key) as good:
        assert [bad.get(path("me")).status_code for _ in range(3)] == [401, 401, 401]
        answer = good.get(path("me"))
    assert answer.status_code == 429 and answer.headers["Retry-After"] == "1"


# ---- fault knobs -------------------------------------------------------------------------------


def test_latency(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.latency = 0.2
    with client(sekoia_emulator, sekoia_api_key) as http:
        started = time.monotonic()
        assert http.get(path("me")).status_code == 200
    assert time.monotonic() - started >= 0.2


def test_error_rate_injects_5xx_and_gateway_pages(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.error_rate = 1.0
    sekoia_emulator.error_statuses = (500, 503)
    with client(sekoia_emulator, sekoia_api_key) as http:
        answers = [http.get(path("me")) for _ in range(12)]
    assert {a.status_code for a in answers} == {500, 503}
    assert all(a.json()["code"] == "INTERNAL_ERROR" for a in answers if a.status_code == 500)
    assert all(a.headers["Content-Type"] == "text/html" for a in answers if a.status_code == 503)


def test_random_faults_follow_the_seed():
    def run(seed: int) -> list[int]:
        with SekoiaEmulator(seed=seed, error_rate=0.5) as emu, client(emu, emu.demo_api_key) as http:
            return [http.get(path("me")).status_code for _ in range(16)]

    first = run(7)
    assert first == run(7)
    assert 200 in first and any(s >= 500 for s in first)
    assert first != run(8)


def test_connection_resets(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.reset_rate = 1.0
    with client(sekoia_emulator, sekoia_api_key) as http, pytest.raises(httpx.TransportError):
        http.get(path("me"))
    sekoia_emulator.reset_rate = 0.0
    sekoia_emulator.reset_next(operation="read_sso")
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.get(path("me")).status_code == 200
        with pytest.raises(httpx.TransportError):
            http.get(community_path("read_sso"))
        assert http.get(community_path("read_sso")).status_code == 404
    assert [r.status for r in sekoia_emulator.requests] == [0, 200, 0, 404]


def test_429_storm_then_recovery(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.throttle_storm(3, retry_after=0)
    with client(sekoia_emulator, sekoia_api_key) as http:
        answers = [http.get(path("me")) for _ in range(4)]
    assert [a.status_code for a in answers] == [429, 429, 429, 200]
    assert all(a.headers["Retry-After"] == "0" for a in answers[:3])


def test_throttle_every_nth_request(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.throttle_every = 3
    with client(sekoia_emulator, sekoia_api_key) as http:
        statuses = [http.get(path("me")).status_code for _ in range(6)]
    assert statuses == [200, 200, 429, 200, 200, 429]


def test_one_shot_fault_waits_for_its_operation(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.fail_next(503, operation="write_sso", retry_after=2)
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.get(community_path("read_sso")).status_code == 404
        first = http.put(community_path("write_sso"), json=sso_body(sekoia_emulator))
        second = http.put(community_path("write_sso"), json=sso_body(sekoia_emulator))
    assert first.status_code == 503 and first.headers["Retry-After"] == "2"
    assert second.status_code == 200
    assert sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID) == [SECRET]
    with pytest.raises(ValueError):
        sekoia_emulator.fail_next(500, operation="nope")


# ---- missing routes ----------------------------------------------------------------------------


def test_missing_route_answers_like_an_absent_path(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.missing_routes = {"write_sso"}
    with client(sekoia_emulator, sekoia_api_key) as http:
        put = http.put(community_path("write_sso"), json=sso_body(sekoia_emulator))
        read = http.get(community_path("read_sso"))
    assert put.status_code == 405 and put.json() == {"detail": "Method Not Allowed"}
    assert put.headers["Allow"] == "DELETE, GET"
    assert set(read.json()) == {"message", "code"}  # "no SSO yet" stays told apart from "no route"
    sekoia_emulator.missing_routes = {"read_sso", "write_sso", "disable_sso", "list_domains", "add_domain"}
    with client(sekoia_emulator, sekoia_api_key) as http:
        for answer in (http.get(community_path("read_sso")), http.post(community_path("add_domain"), json={})):
            assert answer.status_code == 404 and answer.json() == {"detail": "Not Found"}
    assert sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID) == []
    with pytest.raises(ValueError, match="unknown Sekoia operations"):
        sekoia_emulator.missing_routes = {"sso"}


def test_unknown_paths_and_methods(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.get("/v1/nothing").json() == {"detail": "Not Found"}
        patch = http.patch(community_path("read_sso"), json={})
    assert patch.status_code == 405 and patch.headers["Allow"] == "DELETE, GET, PUT"


# ---- log, reset, base path -----------------------------------------------------------------------


def test_request_log_counts_write_calls(sekoia_emulator, sekoia_api_key):
    with client(sekoia_emulator, sekoia_api_key) as http:
        http.get(community_path("list_domains"), params={"limit": 5})
        http.post(community_path("add_domain"), json={"name": "contoso.com"})
        http.post(community_path("add_domain"), json={"name": "contoso.com"})
        http.put(community_path("write_sso"), json=sso_body(sekoia_emulator))
    domains = community_path("list_domains")
    assert sekoia_emulator.requests[0] == RequestRecord("GET", domains, 200)
    assert [(r.method, r.status) for r in sekoia_emulator.write_requests] == [("POST", 201), ("POST", 409),
                                                                              ("PUT", 200)]
    assert len(sekoia_emulator.requests_for("add_domain")) == 2
    assert len(sekoia_emulator.requests_for("list_domains")) == 1
    sekoia_emulator.clear_requests()
    assert sekoia_emulator.requests == []


def test_reset_restores_data_knobs_and_the_demo_key(sekoia_emulator, sekoia_api_key):
    sekoia_emulator.error_rate = 1.0
    sekoia_emulator.missing_routes = {"me"}
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.com")
    sekoia_emulator.throttle_storm(5)
    sekoia_emulator.reset()
    assert sekoia_emulator.demo_api_key == sekoia_api_key  # same seed, same key
    assert sekoia_emulator.domains(DEMO_COMMUNITY_UUID) == [] and sekoia_emulator.requests == []
    with client(sekoia_emulator, sekoia_api_key) as http:
        assert http.get(path("me")).status_code == 200


def test_base_path_like_the_eu_regions():
    with SekoiaEmulator(base_path="/api") as emu, client(emu, emu.demo_api_key) as http:
        assert emu.url.endswith("/api")
        assert http.get(path("me")).status_code == 200
        assert httpx.get(emu.origin + path("me"), headers=http.headers).status_code == 404
        assert len(emu.requests_for("me")) == 1


def test_starts_fast_and_stops_cleanly():
    started = time.monotonic()
    emu = SekoiaEmulator().start()
    assert time.monotonic() - started < 0.5
    with client(emu, emu.demo_api_key) as http:
        assert http.get(path("me")).status_code == 200
        emu.stop()
        with pytest.raises(httpx.TransportError):
            http.get(path("me"))
