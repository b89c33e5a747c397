"""The Graph client and its credentials, over real HTTP against the Graph emulator's login and v1.0 routes."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from orchestrator.entra.credentials import (
    AzureIdentityToken,
    ClientCredentialsToken,
    CloudHosts,
    graph_token_source,
)
from orchestrator.entra.graph import BATCH_LIMIT, BatchRequest, GraphClient, encode_query, odata_string
from orchestrator.errors import ConfigError, GraphError
from sandbox.graph.emulator import GraphEmulator

pytestmark = pytest.mark.timeout(60)

FIXTURE_USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]


def hosts_for(emulator: GraphEmulator) -> CloudHosts:
    # The configured hosts are the public ones; requests are mapped to the emulator like the sandbox does.
    routes = {"https://login.microsoftonline.com": emulator.url, "https://graph.microsoft.com": emulator.url}

    def resolve(url: str) -> str:
        for public, actual in routes.items():
            if url.startswith(public):
                return actual + url[len(public):]
        return url

    return CloudHosts(login_url="https://login.microsoftonline.com", graph_url="https://graph.microsoft.com",
                      resolve=resolve)


def secret_env(emulator: GraphEmulator, **extra: str) -> dict[str, str]:
    return {"ARM_TENANT_ID": emulator.tenant_id, "ARM_CLIENT_ID": emulator.principal_client_id,
            "ARM_CLIENT_SECRET": emulator.principal_client_secret, "ARM_USE_CLI": "false", **extra}


@pytest.fixture
def http() -> httpx.Client:
    with httpx.Client(timeout=10) as client:
        yield client


def make_graph(emulator: GraphEmulator, http: httpx.Client, **options) -> GraphClient:
    hosts = hosts_for(emulator)
    credential = graph_token_source(secret_env(emulator), tenant_id=emulator.tenant_id, hosts=hosts, http=http)
    options.setdefault("backoff", 0.01)
    return GraphClient(graph_url=hosts.graph_url, credential=credential, http=http, resolve=hosts.resolve, **options)


@pytest.fixture
def graph(graph_emulator: GraphEmulator, http: httpx.Client) -> GraphClient:
    return make_graph(graph_emulator, http)


def graph_requests(emulator: GraphEmulator) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in emulator.requests]


# ---------------------------------------------------------------------------------------------- credentials


def test_client_secret_token_is_fetched_once_and_reused(graph, graph_emulator):
    assert graph.get("/users/alice@contoso.example", {"$select": "id,mail"})["mail"] == "alice@contoso.example"
    graph.get("/users/bob@contoso.example")
    token_posts = [r for r in graph_emulator.requests if r.path.endswith("/oauth2/v2.0/token")]
    assert len(token_posts) == 1 and token_posts[0].status == 200
    assert graph.stats.requests == 2


def test_wrong_secret_is_a_config_error_that_never_shows_the_secret(graph_emulator, http):
    wrong = "Wr0ng~" + "x" * 34
    env = {**secret_env(graph_emulator), "ARM_CLIENT_SECRET": wrong}
    source = graph_token_source(env, tenant_id=graph_emulator.tenant_id, hosts=hosts_for(graph_emulator), http=http)
    with pytest.raises(ConfigError) as caught:
        source.token()
    message = str(caught.value)
    assert "AADSTS7000215" in message and "invalid_client" in message
    assert wrong not in message and wrong not in repr(source)
    assert graph_emulator.principal_client_secret not in message


def test_secret_and_client_id_can_come_from_files(graph_emulator, http, tmp_path):
    (tmp_path / "id").write_text(graph_emulator.principal_client_id + "\n")
    (tmp_path / "secret").write_text(graph_emulator.principal_client_secret + "\n")
    env = {"ARM_CLIENT_ID_FILE_PATH": str(tmp_path / "id"), "ARM_CLIENT_SECRET_FILE_PATH": str(tmp_path / "secret"),
           "ARM_USE_CLI": "false"}
    source = graph_token_source(env, tenant_id=graph_emulator.tenant_id, hosts=hosts_for(graph_emulator), http=http)
    assert isinstance(source, ClientCredentialsToken)
    assert source.token().count(".") == 2  # a JWT-shaped access token


def test_no_credentials_names_every_way_to_give_them(http):
    with pytest.raises(ConfigError) as caught:
        graph_token_source({"ARM_USE_CLI": "false"}, tenant_id="8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10",
                           hosts=CloudHosts("https://login.microsoftonline.com", "https://graph.microsoft.com"),
                           http=http)
    message = str(caught.value)
    for variable in ("ARM_CLIENT_ID", "ARM_CLIENT_SECRET", "ARM_USE_OIDC", "ARM_OIDC_TOKEN", "ARM_USE_MSI", "az login"):
        assert variable in message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(("env", "expected"), [
    ({"ARM_CLIENT_SECRET": "s3cret-value-1234"}, "ARM_CLIENT_SECRET is set but ARM_CLIENT_ID is not"),
    ({"ARM_TENANT_ID": "00000000-0000-0000-0000-000000000001"}, "credentials are for another tenant"),
    ({"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": "c0ffee00-5e55-4a11-8a55-000000000001"},
     "ARM_USE_OIDC is true but no ID token"),
    ({"ARM_USE_MSI": "maybe"}, "ARM_USE_MSI must be true or false"),
    ({"ARM_CLIENT_ID": "c0ffee00-5e55-4a11-8a55-000000000001", "ARM_USE_CLI": "false"},
     "ARM_CLIENT_ID is set but no secret"),
])
def test_incomplete_credentials_are_config_errors(env, expected, http):
    with pytest.raises(ConfigError, match=expected) as caught:
        graph_token_source({"ARM_USE_CLI": "false", **env}, tenant_id="8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10",
                           hosts=CloudHosts("https://login.microsoftonline.com", "https://graph.microsoft.com"),
                           http=http)
    assert "s3cret-value-1234" not in str(caught.value)


def test_managed_identity_and_azure_cli_go_through_azure_identity(http, tmp_path, monkeypatch):
    hosts = CloudHosts("https://login.microsoftonline.us", "https://graph.microsoft.us")
    msi = graph_token_source({"ARM_USE_MSI": "true", "ARM_USE_CLI": "false"},
                             tenant_id="8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10",
                             hosts=hosts, http=http)
    assert isinstance(msi, AzureIdentityToken) and "system-assigned managed identity" in msi.description
    # A fake `az` on PATH that is not logged in: the CLI method is chosen, and its failure is a clear ConfigError.
    az = tmp_path / "az"
    az.write_text("#!/bin/sh\necho 'ERROR: Please run az login to setup account.' >&2\nexit 1\n")
    az.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    cli = graph_token_source({}, tenant_id="8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10", hosts=hosts, http=http)
    assert isinstance(cli, AzureIdentityToken) and "Azure CLI" in cli.description
    with pytest.raises(ConfigError, match="Azure CLI"):
        cli.token()


def test_oidc_sends_the_id_token_as_a_client_assertion(graph_emulator, http):
    assertion = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvOmNvbnRvc28vc3NvIn0.c2lnbmF0dXJlLXZhbHVl"
    env = {"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": graph_emulator.principal_client_id,
           "ARM_OIDC_TOKEN": assertion, "ARM_USE_CLI": "false"}
    source = graph_token_source(env, tenant_id=graph_emulator.tenant_id, hosts=hosts_for(graph_emulator), http=http)
    assert "OIDC" in source.description
    # The emulator federates nobody: Entra's answer comes back as a ConfigError, without the assertion in it.
    with pytest.raises(ConfigError) as caught:
        source.token()
    assert "AADSTS" in str(caught.value) and assertion not in str(caught.value)
    assert [r.path for r in graph_emulator.requests] == [f"/{graph_emulator.tenant_id}/oauth2/v2.0/token"]


def test_github_actions_oidc_asks_the_runner_for_a_token_with_entras_audience(graph_emulator, http):
    seen: list[dict] = []

    class Runner(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append({"query": parse_qs(urlsplit(self.path).query), "auth": self.headers.get("Authorization")})
            body = json.dumps({"value": "eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcGkifQ.c2ln"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    runner = ThreadingHTTPServer(("127.0.0.1", 0), Runner)
    threading.Thread(target=runner.serve_forever, daemon=True).start()
    try:
        env = {"ARM_USE_OIDC": "true", "ARM_CLIENT_ID": graph_emulator.principal_client_id, "ARM_USE_CLI": "false",
               "ACTIONS_ID_TOKEN_REQUEST_URL": f"http://127.0.0.1:{runner.server_address[1]}/token?api-version=2.0",
               "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "runner-request-token"}
        source = graph_token_source(env, tenant_id=graph_emulator.tenant_id, hosts=hosts_for(graph_emulator),
                                    http=http)
        with pytest.raises(ConfigError) as caught:
            source.token()
    finally:
        runner.shutdown()
        runner.server_close()
    assert seen == [{"query": {"api-version": ["2.0"], "audience": ["api://AzureADTokenExchange"]},
                     "auth": "Bearer runner-request-token"}]
    assert "runner-request-token" not in str(caught.value)


def test_expired_token_is_refreshed_once(graph, graph_emulator):
    graph.get("/users/alice@contoso.example")
    graph_emulator.expire_tokens()
    assert graph.get("/users/bob@contoso.example")["userPrincipalName"] == "bob@contoso.example"
    assert [r.status for r in graph_emulator.requests if r.path.endswith("/token")] == [200, 200]
    assert [r.status for r in graph_emulator.requests if r.path.startswith("/v1.0/")] == [200, 401, 200]


# ---------------------------------------------------------------------------------------------- errors


def test_graph_error_carries_status_code_and_message_but_no_token(graph, graph_emulator):
    with pytest.raises(GraphError) as caught:
        graph.get("/users/nobody@contoso.example")
    error = caught.value
    assert (error.status, error.code) == (404, "Request_ResourceNotFound")
    assert "GET /v1.0/users/nobody@contoso.example" in str(error) and "does not exist" in str(error)
    assert "eyJ" not in str(error) and "Bearer" not in str(error)


def test_missing_permission_names_the_permissions_to_grant(graph_emulator, http):
    class NoRoles:
        description = "a token without Graph permissions"

        def token(self, *, force_refresh: bool = False) -> str:
            return graph_emulator.issue_token(roles=[])

    client = GraphClient(graph_url=graph_emulator.url, credential=NoRoles(), http=http)
    with pytest.raises(GraphError) as caught:
        client.get("/users")
    assert caught.value.status == 403 and caught.value.code == "Authorization_RequestDenied"
    assert "User.Read.All" in str(caught.value) and "GroupMember.Read.All" in str(caught.value)


class FixedToken:
    description = "fixed"

    def token(self, *, force_refresh: bool = False) -> str:
        return "token-value"


def mock_graph(answer) -> GraphClient:
    """A client whose every request `answer` serves: for answers no honest server (or the emulator) gives."""
    return GraphClient(graph_url="https://graph.microsoft.com", credential=FixedToken(),
                       http=httpx.Client(transport=httpx.MockTransport(answer)))


def test_next_link_to_another_host_is_refused_before_sending_the_token():
    # An edge no honest server produces: a transport that answers like Graph with a foreign nextLink.
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(str(request.url))
        return httpx.Response(200, json={"value": [{"id": "1"}], "@odata.nextLink": "https://evil.example/v1.0/users"})

    client = mock_graph(answer)
    pages = client.iter_pages("/users")
    with pytest.raises(GraphError, match="another host"):
        list(pages)
    assert asked == ["https://graph.microsoft.com/v1.0/users"]


def test_a_next_link_written_after_the_value_is_still_followed():
    # Graph writes @odata.nextLink before `value`, which lets the next page be requested early;
    # a server that writes it last must still be paged through, each page once.
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        asked.append(request.url.params.get("page", "1"))
        page = int(request.url.params.get("page", "1"))
        link = f', "@odata.nextLink": "https://graph.microsoft.com/v1.0/users?page={page + 1}"' if page < 3 else ""
        body = '{"value": [{"id": "' + str(page) + '"}]' + link + "}"
        return httpx.Response(200, content=body.encode(), headers={"Content-Type": "application/json"})

    client = mock_graph(answer)
    assert [page[0]["id"] for page in client.iter_pages("/users")] == ["1", "2", "3"]
    assert asked == ["1", "2", "3"]
    client.close()


def test_plain_http_is_refused_outside_loopback(http):
    class Fixed:
        description = "fixed"

        def token(self, *, force_refresh: bool = False) -> str:
            return "token-value"

    client = GraphClient(graph_url="http://graph.example.com", credential=Fixed(), http=http)
    with pytest.raises(Exception, match="must use https"):
        client.get("/users")


# ---------------------------------------------------------------------------------------------- paging


def test_pages_follow_next_link_to_the_end(graph, graph_emulator):
    everyone = sorted(u["userPrincipalName"] for u in graph.get("/users", {"$select": "userPrincipalName",
                                                                           "$top": 999})["value"])
    graph_emulator.clear_requests()
    pages = list(graph.iter_pages("/users", {"$select": "userPrincipalName", "$top": 3}))
    assert len(everyone) > 6 and [len(page) for page in pages[:-1]] == [3] * (len(pages) - 1)
    assert sorted(u["userPrincipalName"] for page in pages for u in page) == everyone
    assert [r.query.get("$skiptoken") is not None for r in graph_emulator.requests] == [False] + [True] * (
        len(pages) - 1)


def test_query_encoding_keeps_graph_syntax_and_escapes_quotes():
    name = "O'Brien & Co"
    assert encode_query({"$filter": f"displayName eq {odata_string(name)}", "$top": 5}) == (
        "?$filter=displayName%20eq%20'O''Brien%20%26%20Co'&$top=5")


def test_filter_with_a_quote_reaches_graph_intact(graph):
    quoted = "SOC's Analysts"
    body = graph.get("/groups", {"$filter": f"displayName eq {odata_string(quoted)}"})
    assert body["value"] == []
    body = graph.get("/groups", {"$filter": f"displayName eq {odata_string('SOC Analysts')}", "$select": "displayName"})
    assert [g["displayName"] for g in body["value"]] == ["SOC Analysts"]


# ---------------------------------------------------------------------------------------------- retries


def test_429_waits_what_retry_after_says(graph, graph_emulator):
    graph_emulator.queue_fault(429, path_prefix="/v1.0/users", retry_after=0.3, times=2)
    started = time.monotonic()
    assert graph.get("/users/alice@contoso.example")["id"]
    assert time.monotonic() - started >= 0.6
    assert [r.status for r in graph_emulator.requests if r.path.startswith("/v1.0/")] == [429, 429, 200]
    assert graph.stats.throttled == 2 and graph.stats.retries == 2


def test_endless_429_gives_up_after_the_bound(graph_emulator, http):
    graph = make_graph(graph_emulator, http, max_throttle_retries=3)
    graph_emulator.queue_fault(429, path_prefix="/v1.0/users", retry_after=0.01, times=50)
    with pytest.raises(GraphError, match="kept throttling") as caught:
        graph.get("/users")
    assert caught.value.status == 429
    assert len([r for r in graph_emulator.requests if r.path == "/v1.0/users"]) == 4


def test_too_long_retry_after_is_an_error_not_a_hang(graph_emulator, http):
    graph = make_graph(graph_emulator, http, max_retry_after=5)
    graph_emulator.queue_fault(429, path_prefix="/v1.0/users", retry_after=3600)
    started = time.monotonic()
    with pytest.raises(GraphError, match="asks to wait 3600 s"):
        graph.get("/users")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_with_backoff(graph, graph_emulator, status):
    graph_emulator.queue_fault(status, path_prefix="/v1.0/users", times=3)
    assert graph.get("/users/alice@contoso.example")["userPrincipalName"] == "alice@contoso.example"
    assert [r.status for r in graph_emulator.requests if r.path.startswith("/v1.0/")] == [status] * 3 + [200]


def test_persistent_server_error_gives_up_with_graphs_error(graph_emulator, http):
    graph = make_graph(graph_emulator, http, max_retries=2)
    graph_emulator.queue_fault(503, path_prefix="/v1.0/users", times=10, code="ServiceUnavailable")
    with pytest.raises(GraphError) as caught:
        graph.get("/users")
    assert (caught.value.status, caught.value.code) == (503, "ServiceUnavailable")
    assert len([r for r in graph_emulator.requests if r.path == "/v1.0/users"]) == 3


def test_connection_resets_are_retried(graph, graph_emulator):
    graph_emulator.queue_fault(path_prefix="/v1.0/users", reset=True, times=2)
    assert graph.get("/users/alice@contoso.example")["id"]
    assert [r.status for r in graph_emulator.requests if r.path.startswith("/v1.0/")] == [0, 0, 200]


def test_client_errors_are_not_retried(graph, graph_emulator):
    with pytest.raises(GraphError) as caught:
        graph.get("/users", {"$top": 5000})
    assert caught.value.status == 400
    assert len([r for r in graph_emulator.requests if r.path == "/v1.0/users"]) == 1


# ---------------------------------------------------------------------------------------------- $batch


def test_batch_splits_at_20_and_answers_in_order(graph, graph_emulator):
    names = [FIXTURE_USERS[i % len(FIXTURE_USERS)] for i in range(45)]
    answers = graph.batch([BatchRequest(f"/users/{name}@contoso.example?$select=userPrincipalName") for name in names])
    assert [a.body["userPrincipalName"] for a in answers] == [f"{n}@contoso.example" for n in names]
    posts = [r for r in graph_emulator.requests if r.path == "/v1.0/$batch"]
    assert len(posts) == 3 == -(-45 // BATCH_LIMIT)
    assert graph.stats.requests == 3  # the token request is not a Graph request


def test_batch_resends_only_the_throttled_requests(graph, graph_emulator):
    graph_emulator.configure(throttle_every=3, retry_after=0.05)
    names = FIXTURE_USERS * 2
    answers = graph.batch([BatchRequest(f"/users/{name}@contoso.example?$select=userPrincipalName") for name in names])
    assert all(a.status == 200 for a in answers)
    assert [a.body["userPrincipalName"] for a in answers] == [f"{n}@contoso.example" for n in names]
    assert graph.stats.throttled > 0
    per_user = [r for r in graph_emulator.requests if r.path.startswith("/v1.0/users/")]
    assert len(per_user) == len(names) + graph.stats.throttled


def test_batch_returns_other_errors_for_the_caller_to_judge(graph):
    answers = graph.batch([BatchRequest("/users/alice@contoso.example"), BatchRequest("/users/nobody@contoso.example")])
    assert [a.status for a in answers] == [200, 404]
    assert answers[1].error("GET /users/nobody").code == "Request_ResourceNotFound"


def test_one_client_serves_many_threads(graph, graph_emulator):
    graph.get("/users/alice@contoso.example")  # the token, fetched once
    graph_emulator.configure(latency_ms=300)
    results: list[str] = []
    threads = [threading.Thread(target=lambda n=name: results.append(graph.get(f"/users/{n}@contoso.example")["id"]))
               for name in FIXTURE_USERS]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == len(FIXTURE_USERS)
    assert time.monotonic() - started < 0.3 * len(FIXTURE_USERS) / 2  # side by side, not one after another
    assert len([r for r in graph_emulator.requests if r.path.endswith("/token")]) == 1


def test_the_emulators_read_cache_the_benchmark_uses_keeps_answers_and_faults(graph, graph_emulator, http):
    graph_emulator.configure(cache_reads=True)
    soc = graph.get("/groups", {"$filter": "displayName eq 'SOC Analysts'"})["value"][0]["id"]
    path = f"/groups/{soc}/members/microsoft.graph.user"
    params = {"$select": "id,mail", "$top": 3}
    first = [page for page in graph.iter_pages(path, params)]
    assert [page for page in graph.iter_pages(path, params)] == first
    # Faults still come first: a throttled read is throttled, cached or not.
    graph_emulator.queue_fault(429, path_prefix=f"/v1.0{path}", retry_after=0.01)
    assert [page for page in graph.iter_pages(path, params)] == first
    assert [r.status for r in graph_emulator.requests if r.path == f"/v1.0{path}"].count(429) == 1
    # Another caller (other roles) is not served from someone else's answer.
    class NoRoles:
        description = "no roles"

        def token(self, *, force_refresh: bool = False) -> str:
            return graph_emulator.issue_token(roles=[])

    with pytest.raises(GraphError) as caught:
        GraphClient(graph_url=graph_emulator.url, credential=NoRoles(), http=http).get(path, params)
    assert caught.value.status == 403


def test_token_request_goes_to_the_configured_clouds_login_host(graph_emulator, http):
    source = graph_token_source(secret_env(graph_emulator), tenant_id=graph_emulator.tenant_id,
                                hosts=hosts_for(graph_emulator), http=http)
    assert source.token_url == f"https://login.microsoftonline.com/{graph_emulator.tenant_id}/oauth2/v2.0/token"
    assert Path(urlsplit(source.token_url).path).name == "token"
