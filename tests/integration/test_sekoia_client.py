"""The Sekoia.io client over real HTTP against the emulator; MockTransport only for answers it cannot give."""

from __future__ import annotations

import json
import logging
import socket
import time

import httpx
import pytest

from orchestrator.config.loading import parse_environment
from orchestrator.endpoints import Endpoints
from orchestrator.errors import (
    ConfigError,
    SekoiaAuthError,
    SekoiaConflictError,
    SekoiaError,
    SekoiaPermissionError,
    SekoiaProtocolError,
    SekoiaRateLimitedError,
    SekoiaRouteMissingError,
    SekoiaSSOError,
    SekoiaUnavailableError,
)
from orchestrator.retry_after import parse_retry_after, retry_after_seconds
from orchestrator.sekoia.client import DEFAULT_RATE, RequestWindow, RetryPolicy, SekoiaClient
from orchestrator.sekoia.routes import PERMISSION_READ, PERMISSION_WRITE
from orchestrator.sekoia.settings import SsoSettings
from sandbox.sekoia.emulator import SekoiaEmulator
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID

pytestmark = pytest.mark.timeout(60)

SECRET = "Zq8~Sekoia.Client-Test_Secret-0123456789abcdef"
TENANT_URL = "https://login.microsoftonline.com/8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10/"
CLIENT_ID = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
FAST_RETRY = RetryPolicy(attempts=5, backoff=0.01, max_backoff=0.05, max_retry_after=5)


def make_client(emulator: SekoiaEmulator, key: str, **options) -> SekoiaClient:
    options.setdefault("rate", 1000.0)  # pacing has its own tests; the rest run fast
    options.setdefault("retry", FAST_RETRY)
    options.setdefault("api_base", emulator.url)
    return SekoiaClient(api_key=key, key_source="SEKOIA_API_KEY", **options)


@pytest.fixture
def client(sekoia_emulator, sekoia_api_key):
    with make_client(sekoia_emulator, sekoia_api_key) as c:
        yield c


def settings(emulator: SekoiaEmulator, **changes) -> SsoSettings:
    values = dict(enabled=True, provider_url=TENANT_URL, client_id=CLIENT_ID, jit_provisioning=True,
                  default_role_uuid=emulator.roles(DEMO_COMMUNITY_UUID)["Analyst"])
    values.update(changes)
    return SsoSettings(**values)


def statuses(emulator: SekoiaEmulator) -> list[tuple[str, int]]:
    return [(r.method, r.status) for r in emulator.requests]


# ---- confirmed routes ---------------------------------------------------------------------------


def test_key_check_community_and_roles(client, sekoia_emulator):
    me = client.me()
    assert me["email"] == "soc.admin@contoso.com"
    community = client.community(DEMO_COMMUNITY_UUID)
    assert community["name"] == "Contoso SOC"
    roles = {r["name"] for r in client.roles(DEMO_COMMUNITY_UUID)}
    assert roles == {"Admin", "Analyst", "Read only"}
    assert [c["uuid"] for c in client.my_communities()] == [DEMO_COMMUNITY_UUID]
    auth = [r for r in sekoia_emulator.requests]
    assert all(r.status == 200 for r in auth)


def test_lists_follow_limit_and_offset_to_the_last_page(client, sekoia_emulator):
    for index in range(230):
        sekoia_emulator.add_role(DEMO_COMMUNITY_UUID, f"role-{index:03d}")
    roles = client.roles(DEMO_COMMUNITY_UUID)
    assert len(roles) == 233
    assert len({r["uuid"] for r in roles}) == 233
    assert len(sekoia_emulator.requests_for("community_roles")) == 3  # 100 + 100 + 33


# ---- assumed routes ---------------------------------------------------------------------------


def test_domains_add_list_conflict_and_sso_round_trip(client, sekoia_emulator):
    added = client.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert added["status"] == "pending"
    assert [d["name"] for d in client.domains(DEMO_COMMUNITY_UUID)] == ["contoso.example"]
    with pytest.raises(SekoiaConflictError) as conflict:
        client.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert conflict.value.status == 409 and conflict.value.code == "CONFLICT"

    assert client.read_sso(DEMO_COMMUNITY_UUID) is None  # 404 with Sekoia's code: none configured, not a missing route
    answer = client.write_sso(DEMO_COMMUNITY_UUID, settings(sekoia_emulator), client_secret=SECRET)
    assert SsoSettings.from_answer(answer) == settings(sekoia_emulator)
    assert answer["login_url"].startswith(sekoia_emulator.app_url + "/user/oidc/")
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == SECRET
    assert SsoSettings.from_answer(client.read_sso(DEMO_COMMUNITY_UUID)) == settings(sekoia_emulator)
    assert "client_secret" not in client.read_sso(DEMO_COMMUNITY_UUID)
    assert client.disable_sso(DEMO_COMMUNITY_UUID) is True
    assert client.disable_sso(DEMO_COMMUNITY_UUID) is False


def test_a_missing_assumed_route_is_its_own_error_404(client, sekoia_emulator):
    sekoia_emulator.missing_routes = {"list_domains", "add_domain"}
    with pytest.raises(SekoiaRouteMissingError) as missing:
        client.domains(DEMO_COMMUNITY_UUID)
    error = missing.value
    assert (error.operation, error.method, error.status) == ("list_domains", "GET", 404)
    assert error.path == f"/v1/communities/{DEMO_COMMUNITY_UUID}/domains"
    assert "assumed" in str(error) and "UI" in str(error)
    # exactly one request: no other path was tried
    assert [r.path for r in sekoia_emulator.requests] == [error.path]


def test_a_missing_assumed_route_is_its_own_error_405(client, sekoia_emulator):
    sekoia_emulator.missing_routes = {"write_sso"}  # the path still answers GET and DELETE
    with pytest.raises(SekoiaRouteMissingError) as missing:
        client.write_sso(DEMO_COMMUNITY_UUID, settings(sekoia_emulator), client_secret=SECRET)
    assert missing.value.status == 405 and missing.value.operation == "write_sso"
    assert SECRET not in str(missing.value)


def test_a_documented_route_answering_not_found_blames_the_api_base(sekoia_emulator, sekoia_api_key):
    with make_client(sekoia_emulator, sekoia_api_key, api_base=sekoia_emulator.url + "/wrong") as wrong:
        with pytest.raises(SekoiaProtocolError) as error:
            wrong.me()
    assert not isinstance(error.value, SekoiaRouteMissingError)
    assert "/wrong" in str(error.value) and "api_base" in str(error.value)


def test_api_base_with_a_path_prefix(sekoia_api_key):
    with SekoiaEmulator(seed=1, base_path="/api") as emulator:
        with make_client(emulator, emulator.demo_api_key) as prefixed:
            assert prefixed.me()["email"]
        assert emulator.requests[0].path == "/api/v1/me"


# ---- errors with Sekoia's {message, code} --------------------------------------------------------


def test_bad_and_expired_keys_are_auth_errors_naming_the_variable(sekoia_emulator):
    bad = "0" * 64
    with make_client(sekoia_emulator, bad) as c, pytest.raises(SekoiaAuthError) as error:
        c.me()
    assert error.value.status == 401 and error.value.code == "UNAUTHORIZED"
    assert "SEKOIA_API_KEY" in str(error.value) and "Invalid API key" in str(error.value)
    assert bad not in str(error.value)

    expired = sekoia_emulator.add_api_key({PERMISSION_READ, PERMISSION_WRITE})
    sekoia_emulator.expire_api_key(expired)
    with make_client(sekoia_emulator, expired) as c, pytest.raises(SekoiaAuthError) as error:
        c.me()
    assert "expired" in str(error.value) and expired not in str(error.value)


def test_missing_permission_names_it_and_community_write_role(sekoia_emulator):
    no_rights = sekoia_emulator.add_api_key(set())
    with make_client(sekoia_emulator, no_rights) as c, pytest.raises(SekoiaPermissionError) as error:
        c.roles(DEMO_COMMUNITY_UUID)
    assert error.value.status == 403
    assert PERMISSION_READ in str(error.value) and PERMISSION_WRITE in str(error.value)

    read_only = sekoia_emulator.add_api_key({PERMISSION_READ})
    with make_client(sekoia_emulator, read_only) as c, pytest.raises(SekoiaPermissionError) as error:
        c.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert PERMISSION_WRITE in str(error.value)
    assert sekoia_emulator.domains(DEMO_COMMUNITY_UUID) == []


def test_validation_errors_carry_sekoia_message_and_never_the_secret(client, sekoia_emulator):
    bad = settings(sekoia_emulator, default_role_uuid="00000000-0000-4000-8000-000000000000")
    with pytest.raises(SekoiaError) as error:
        client.write_sso(DEMO_COMMUNITY_UUID, bad, client_secret=SECRET)
    assert error.value.status == 400 and error.value.code == "VALIDATION_ERROR"
    assert "default_role_uuid" in str(error.value)
    assert SECRET not in str(error.value) and SECRET not in repr(error.value.args)


# ---- rate limits, retries ----------------------------------------------------------------------


def test_429_storm_on_a_read_is_retried_then_succeeds(client, sekoia_emulator):
    sekoia_emulator.throttle_storm(3, retry_after=0)
    assert client.me()["email"]
    assert statuses(sekoia_emulator) == [("GET", 429)] * 3 + [("GET", 200)]


def test_retry_after_is_honoured(client, sekoia_emulator):
    sekoia_emulator.throttle_storm(1, retry_after=1)
    started = time.monotonic()
    client.me()
    assert time.monotonic() - started >= 0.95


def test_a_long_waf_block_is_reported_not_waited_out(client, sekoia_emulator):
    sekoia_emulator.block(300)
    started = time.monotonic()
    with pytest.raises(SekoiaRateLimitedError) as error:
        client.me()
    assert time.monotonic() - started < 2
    assert error.value.retry_after and error.value.retry_after >= 299
    assert "wait" in str(error.value) and "re-run" in str(error.value)
    assert len(sekoia_emulator.requests) == 1


def test_5xx_storm_with_gateway_html_on_a_read_is_retried(client, sekoia_emulator):
    sekoia_emulator.fail_next(502, times=2)
    sekoia_emulator.fail_next(500)
    assert client.community(DEMO_COMMUNITY_UUID)["name"] == "Contoso SOC"
    assert statuses(sekoia_emulator) == [("GET", 502), ("GET", 502), ("GET", 500), ("GET", 200)]


def test_5xx_that_never_ends_fails_after_the_attempts_with_a_readable_message(client, sekoia_emulator):
    sekoia_emulator.fail_next(503, times=10)
    with pytest.raises(SekoiaUnavailableError) as error:
        client.me()
    assert len(sekoia_emulator.requests) == FAST_RETRY.attempts
    assert "HTML page titled '503'" in str(error.value) and "after 5 tries" in str(error.value)


def test_connection_resets_on_a_read_are_retried(client, sekoia_emulator):
    sekoia_emulator.reset_next(times=2)
    assert client.me()["email"]
    assert [r.status for r in sekoia_emulator.requests] == [0, 0, 200]


@pytest.mark.parametrize("status", [500, 503])
def test_a_write_that_gets_a_5xx_is_not_retried(client, sekoia_emulator, status):
    sekoia_emulator.fail_next(status, operation="add_domain", retry_after=0)
    with pytest.raises(SekoiaError) as error:
        client.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert error.value.status == status
    assert len(sekoia_emulator.requests_for("add_domain")) == 1
    assert "may have been applied" in str(error.value)


def test_a_throttled_write_is_sent_again_and_applied_once(client, sekoia_emulator):
    # the rate limiter answers 429 instead of processing the request: the write was not applied
    sekoia_emulator.throttle_storm(2, retry_after=0, operation="add_domain")
    client.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert [r.status for r in sekoia_emulator.requests_for("add_domain")] == [429, 429, 201]
    domains = [d["name"] for d in client.domains(DEMO_COMMUNITY_UUID)]
    assert domains.count("contoso.example") == 1


def test_a_write_throttled_past_the_retries_says_to_wait_and_re_run(client, sekoia_emulator):
    sekoia_emulator.throttle_storm(10, retry_after=0, operation="write_sso")
    with pytest.raises(SekoiaRateLimitedError) as error:
        client.write_sso(DEMO_COMMUNITY_UUID, settings(sekoia_emulator), client_secret=SECRET)
    assert len(sekoia_emulator.requests_for("write_sso")) == FAST_RETRY.attempts
    assert f"after {FAST_RETRY.attempts} tries" in str(error.value) and "re-run" in str(error.value)
    assert SECRET not in str(error.value)
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID) is None


def test_a_waf_block_on_a_write_is_reported_not_waited_out(client, sekoia_emulator):
    sekoia_emulator.block(300)
    started = time.monotonic()
    with pytest.raises(SekoiaRateLimitedError):
        client.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert time.monotonic() - started < 2
    assert len(sekoia_emulator.requests_for("add_domain")) == 1


def test_a_reset_write_is_not_retried(client, sekoia_emulator):
    sekoia_emulator.reset_next(operation="write_sso")
    with pytest.raises(SekoiaUnavailableError) as error:
        client.write_sso(DEMO_COMMUNITY_UUID, settings(sekoia_emulator), client_secret=SECRET)
    assert len(sekoia_emulator.requests_for("write_sso")) == 1
    assert SECRET not in str(error.value)


def test_unreachable_host_fails_after_retries():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with SekoiaClient(api_base=f"http://127.0.0.1:{port}", api_key="k" * 40, rate=1000,
                      retry=RetryPolicy(attempts=2, backoff=0.01)) as dead:
        with pytest.raises(SekoiaUnavailableError) as error:
            dead.me()
    assert "could not connect" in str(error.value) and "after 2 tries" in str(error.value)


def test_the_client_stays_under_the_api_rate_limit(sekoia_emulator, sekoia_api_key):
    # The emulator's WAF blocks at 5 requests in a second, like Sekoia.io; the default pacing never trips it.
    sekoia_emulator.rate_limit = 4
    sekoia_emulator.rate_limit_block = 60
    with make_client(sekoia_emulator, sekoia_api_key, rate=DEFAULT_RATE) as paced:
        started = time.monotonic()
        for _ in range(9):
            paced.me()
        elapsed = time.monotonic() - started
    assert all(r.status == 200 for r in sekoia_emulator.requests)
    assert elapsed >= 8 / DEFAULT_RATE - 0.05


def test_without_pacing_the_same_burst_trips_the_waf(sekoia_emulator, sekoia_api_key):
    # the counter-test: proves the previous one could fail
    sekoia_emulator.rate_limit = 4
    sekoia_emulator.rate_limit_block = 60
    with make_client(sekoia_emulator, sekoia_api_key, rate=1000.0) as unpaced:
        with pytest.raises(SekoiaRateLimitedError):
            for _ in range(9):
                unpaced.me()


def test_request_window_bound_with_a_fake_clock():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    window = RequestWindow(DEFAULT_RATE, clock=lambda: now[0], sleep=sleep)
    stamps = []
    for _ in range(9):
        window.acquire()
        stamps.append(now[0])
        window.settle()
    period = 4 / DEFAULT_RATE
    assert stamps == pytest.approx([0, 0, 0, 0, period, period, period, period, 2 * period])
    for start in stamps:  # at most 4 in any one-second window, even one stretched by 100 ms of jitter
        assert sum(1 for s in stamps if start <= s <= start + 1.1) <= 4
    now[0] += 10  # idle time gives back one burst, never more
    for _ in range(5):
        window.acquire()
        window.settle()
    assert slept[-1] == pytest.approx(period) and len(slept) == 3


def test_request_window_counts_from_the_answer_of_a_request():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    window = RequestWindow(2.0, burst=2, clock=lambda: now[0], sleep=sleep)  # 2 requests per second
    sends = []
    for in_flight in (0.4, 0.1, 0.0, 0.05, 0.0):
        window.acquire()
        sends.append(now[0])
        now[0] += in_flight  # the answer takes this long
        window.settle()
    # the 3rd waits until 1 s after the 1st ANSWER (0.4), the 4th until 1 s after the 2nd answer (0.5),
    # so whatever the latency, no two arrivals but the pair of one window share a second
    assert sends == pytest.approx([0.0, 0.4, 1.4, 1.5, 2.4])


def test_parse_retry_after():
    assert parse_retry_after("3") == 3
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") <= 0.0  # in the past: no wait
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("-4") == 0.0
    # float() reads these, and time.sleep(nan) raises: they count as absent
    assert parse_retry_after("nan") is None
    assert parse_retry_after("inf") is None
    assert parse_retry_after("") is None
    assert parse_retry_after("Mon, 99 Foo 2015 07:28:00 GMT") is None


def test_retry_after_of_headers_whatever_the_case():
    # A $batch answer's headers are a plain dict, spelled as the server likes
    assert retry_after_seconds({"retry-after": "7"}) == 7
    assert retry_after_seconds({"Retry-After": "7"}) == 7
    assert retry_after_seconds(httpx.Headers({"RETRY-AFTER": "1"})) == 1
    assert retry_after_seconds({"Content-Type": "x"}) is None


# ---- answers the emulator never gives: MockTransport ----------------------------------------


def mock_client(handler, **options) -> SekoiaClient:
    options.setdefault("retry", FAST_RETRY)
    return SekoiaClient(api_base="https://api.sekoia.io", api_key="K" * 48, key_source="SEKOIA_API_KEY",
                        rate=1000, transport=httpx.MockTransport(handler), **options)


def test_html_error_page_on_a_write():
    def handler(request):
        return httpx.Response(500, headers={"Content-Type": "text/html"},
                              content=b"<!DOCTYPE html><html><head><title>Oops - Internal Error</title></head></html>")

    with mock_client(handler) as c, pytest.raises(SekoiaUnavailableError) as error:
        c.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert "HTML page titled 'Oops - Internal Error'" in str(error.value)


def test_truncated_json_on_success_is_a_protocol_error():
    def handler(request):
        return httpx.Response(200, headers={"Content-Type": "application/json"}, content=b'{"uuid": "abc", "ema')

    with mock_client(handler) as c, pytest.raises(SekoiaProtocolError) as error:
        c.me()
    assert "not valid JSON" in str(error.value)


def test_fastapi_validation_detail_is_readable():
    def handler(request):
        return httpx.Response(422, json={"detail": [{"loc": ["body", "name"], "msg": "field required",
                                                     "type": "value_error.missing"}]})

    with mock_client(handler) as c, pytest.raises(SekoiaError) as error:
        c.add_domain(DEMO_COMMUNITY_UUID, "contoso.example")
    assert error.value.status == 422 and "name: field required" in str(error.value)


def test_a_redirect_to_another_host_is_not_followed_with_the_key():
    seen: list[httpx.Request] = []

    def handler(request):
        seen.append(request)
        if request.url.host == "api.sekoia.io":
            return httpx.Response(302, headers={"Location": "https://evil.example/v1/me"})
        return httpx.Response(200, json={"uuid": "stolen"})

    with mock_client(handler) as c, pytest.raises(SekoiaProtocolError) as error:
        c.me()
    assert [r.url.host for r in seen] == ["api.sekoia.io"]
    assert "evil.example" in str(error.value) and "not followed" in str(error.value)


def test_secrets_echoed_by_a_server_are_masked_everywhere(caplog):
    key = "K" * 48

    def handler(request):
        body = json.loads(request.content)
        return httpx.Response(400, json={"message": f"bad secret {body['client_secret']} for key {key}",
                                         "code": "VALIDATION_ERROR"})

    caplog.set_level(logging.DEBUG)
    with mock_client(handler) as c, pytest.raises(SekoiaError) as error:
        c.write_sso(DEMO_COMMUNITY_UUID, SsoSettings(True, TENANT_URL, CLIENT_ID, False, None), client_secret=SECRET)
    assert "********" in str(error.value)
    for text in (str(error.value), repr(error.value), caplog.text, repr(c)):
        assert SECRET not in text and key not in text


def test_a_runner_secret_object_is_revealed_only_into_the_body():
    from orchestrator.secret import Secret  # what the runner wraps sensitive outputs in

    sent = []

    def handler(request):
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"enabled": True})

    with mock_client(handler) as c:
        c.write_sso(DEMO_COMMUNITY_UUID, SsoSettings(True, TENANT_URL, CLIENT_ID, False, None),
                    client_secret=Secret(SECRET))
    assert sent[0]["client_secret"] == SECRET


# ---- construction ---------------------------------------------------------------------------


def test_plain_http_is_refused_except_on_loopback():
    with pytest.raises(SekoiaSSOError, match="https"):
        SekoiaClient(api_base="http://api.sekoia.io", api_key="k" * 40)
    SekoiaClient(api_base="http://127.0.0.1:1", api_key="k" * 40).close()


ENV_YAML = """
tenant_id: 8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10
application: {display_name: test}
access: {groups: [SOC]}
sekoia:
  region: FRA2
  community_uuid: 3b1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21
  domains: [contoso.example]
  api_key_env: MY_SEKOIA_KEY
"""


def test_for_environment_uses_the_region_base_through_endpoints(sekoia_emulator, sekoia_api_key):
    env = parse_environment("t", __import__("pathlib").Path("envs/t.yaml"), ENV_YAML)
    # FRA2's API base has a path (/api): the sandbox maps the whole base to the emulator
    endpoints = Endpoints(login_url="https://login.microsoftonline.com", graph_url="https://graph.microsoft.com",
                          sekoia_api_base="https://app.fra2.sekoia.io/api",
                          routes={"https://app.fra2.sekoia.io/api": sekoia_emulator.url})
    with pytest.raises(ConfigError, match="MY_SEKOIA_KEY"):
        SekoiaClient.for_environment(env, endpoints, environ={})
    with SekoiaClient.for_environment(env, endpoints, environ={"MY_SEKOIA_KEY": sekoia_api_key}, rate=1000) as c:
        assert c.api_base == "https://app.fra2.sekoia.io/api"
        assert c.me()["email"]
        assert sekoia_api_key not in repr(c)
