"""`login readiness` (orchestrator/entra/login.py) against the login emulator over real HTTP, without Terraform.

Each failure must name what to fix and never carry the secret; a secret still propagating is
waited out when the caller allows it (apply), and reported with a hint when not (status).
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from orchestrator.endpoints import Endpoints
from orchestrator.entra.login import LoginNotReadyError, check_login_readiness
from orchestrator.secret import Secret
from tests.integration.test_login_emulator import CALLBACK, make_app

LOGIN = "https://login.microsoftonline.com"


@pytest.fixture
def endpoints(graph_emulator) -> Endpoints:
    return Endpoints(login_url=LOGIN, graph_url="https://graph.microsoft.com", sekoia_api_base="https://api.sekoia.io",
                     routes={LOGIN: graph_emulator.url})


def target(graph_emulator, client_id, secret):
    return SimpleNamespace(provider_url=f"{LOGIN}/{graph_emulator.tenant_id}/", tenant_id=graph_emulator.tenant_id,
                           client_id=client_id, client_secret=Secret(secret))


def test_ready_when_entra_takes_the_secret_client_id_and_redirect_uri(graph_client, graph_emulator, endpoints):
    client_id, secret = make_app(graph_client, graph_emulator)
    ready = check_login_readiness(target(graph_emulator, client_id, secret), CALLBACK, endpoints=endpoints,
                                  env_name="prod")
    assert ready.discovery.issuer == f"{LOGIN}/{graph_emulator.tenant_id}/v2.0" and ready.sandbox_login is None
    assert secret not in repr(ready.to_dict())
    methods = [(r.method, r.path) for r in graph_emulator.requests]
    assert ("GET", f"/{graph_emulator.tenant_id}/oauth2/v2.0/authorize") in methods
    assert ("POST", f"/{graph_emulator.tenant_id}/oauth2/v2.0/token") in methods


def test_an_unregistered_redirect_uri_fails_naming_the_fix(graph_client, graph_emulator, endpoints):
    client_id, secret = make_app(graph_client, graph_emulator)
    with pytest.raises(LoginNotReadyError) as raised:
        check_login_readiness(target(graph_emulator, client_id, secret), CALLBACK + "/", endpoints=endpoints,
                              env_name="prod")
    message = str(raised.value)
    assert "AADSTS50011" in message and "`sekoia-sso apply prod` puts it back" in message and secret not in message


def test_an_unknown_client_id_fails_naming_the_fix(graph_client, graph_emulator, endpoints):
    _, secret = make_app(graph_client, graph_emulator)
    with pytest.raises(LoginNotReadyError) as raised:
        check_login_readiness(target(graph_emulator, "00000000-0000-0000-0000-0000000000cd", secret), CALLBACK,
                              endpoints=endpoints, env_name="prod")
    message = str(raised.value)
    assert "AADSTS700016" in message and "check tenant_id" in message and secret not in message


def test_a_wrong_secret_fails_and_a_propagating_one_is_waited_out_saying_so(graph_client, graph_emulator, endpoints):
    client_id, secret = make_app(graph_client, graph_emulator)
    with pytest.raises(LoginNotReadyError) as raised:
        check_login_readiness(target(graph_emulator, client_id, "not-it"), CALLBACK, endpoints=endpoints,
                              env_name="prod")
    assert "AADSTS7000215" in str(raised.value) and "`sekoia-sso apply prod`" in str(raised.value)
    graph_emulator.configure(secret_propagation_ms=1200)
    fresh = graph_client.post(f"/v1.0/applications/{graph_emulator.state.application_by_app_id(client_id)['id']}"
                              "/addPassword", json={}).json()["secretText"]
    with pytest.raises(LoginNotReadyError) as early:  # status: no wait, a hint
        check_login_readiness(target(graph_emulator, client_id, fresh), CALLBACK, endpoints=endpoints,
                              env_name="prod")
    assert "may still be propagating" in str(early.value) and fresh not in str(early.value)
    said: list[str] = []
    ready = check_login_readiness(target(graph_emulator, client_id, fresh), CALLBACK, endpoints=endpoints,
                                  env_name="prod", wait_s=30, on_wait=said.append)
    assert ready.secret_waited_s > 0 and len(said) == 1 and "waiting up to 30 s" in said[0]


def test_a_throttled_or_failing_token_endpoint_is_retried_then_named(graph_client, graph_emulator, endpoints):
    client_id, secret = make_app(graph_client, graph_emulator)
    token_path = f"/{graph_emulator.tenant_id}/oauth2/v2.0/token"
    graph_emulator.queue_fault(429, path_prefix=token_path, method="POST", retry_after=1, times=2)
    check_login_readiness(target(graph_emulator, client_id, secret), CALLBACK, endpoints=endpoints,
                          env_name="prod", sleep=lambda s: None)
    graph_emulator.queue_fault(503, path_prefix=token_path, method="POST", times=3)
    with pytest.raises(LoginNotReadyError) as raised:
        check_login_readiness(target(graph_emulator, client_id, secret), CALLBACK, endpoints=endpoints,
                              env_name="prod", sleep=lambda s: None)
    assert "HTTP 503" in str(raised.value) and secret not in str(raised.value)
