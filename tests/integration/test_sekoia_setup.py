"""The Sekoia.io half (`connect`) against the Sekoia.io and Graph emulators over real HTTP.

The pushed-secret record is a list here (what the environment's Terraform state holds in the
real flow); the last test runs `sekoia-sso connect` with real Terraform on the sandbox.
Every test's captured output (stdout, stderr, logs, exception text) is checked for the client
secret and the API key at teardown.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.config.loading import load_environment
from orchestrator.console import Reporter, format_duration, parse_duration
from orchestrator.endpoints import Endpoints
from orchestrator.entra.discovery import check_tenant_discovery
from orchestrator.errors import (
    ConfigError,
    DiscoveryError,
    DomainRejectedError,
    DomainsPendingError,
    ManualStepsRequired,
    SekoiaAuthError,
    SekoiaError,
    SekoiaPermissionError,
    SekoiaSSOError,
    TerraformNotAppliedError,
    UsageError,
    WaitingError,
)
from orchestrator.secret import Secret
from orchestrator.sekoia.client import RetryPolicy, SekoiaClient
from orchestrator.sekoia.connect import PollPolicy, connect
from orchestrator.sekoia.plan import plan_sekoia
from orchestrator.sekoia.routes import PERMISSION_READ, PERMISSION_WRITE
from orchestrator.sekoia.settings import SekoiaTarget
from sandbox.sekoia.emulator import SekoiaEmulator
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID, FOREIGN_COMMUNITY_UUID
from tests.harness.fixtures_sekoia import MemoryHandover
from tests.harness.project import copy_project

pytestmark = pytest.mark.timeout(60)

TENANT = "8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10"
PROVIDER_URL = f"https://login.microsoftonline.com/{TENANT}/"
CLIENT_ID = "6f1d2c3b-4a5e-4f60-8a7b-9c0d1e2f3a4b"
SECRET = "Xy7~Setup.Test-Client_Secret-abcdefghijklmnop012"
KEY_ID = "1a2b3c4d-0000-4000-8000-00000000aaaa"
NEW_SECRET = "Ab3~Rotated.Client-Secret_0987654321zyxwvutsrq"
NEW_KEY_ID = "1a2b3c4d-0000-4000-8000-00000000bbbb"
FAST_RETRY = RetryPolicy(attempts=6, backoff=0.01, max_backoff=0.05, max_retry_after=5)
FAST_POLL = PollPolicy(first=0.05, factor=1.5, maximum=0.2, tick=0.02)


class Stream(io.StringIO):
    """A captured stream that says whether it is a terminal."""

    def __init__(self, tty: bool = False):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@dataclass
class Outcome:
    result: object
    error: SekoiaSSOError | None
    out: str
    err: str


class Harness:
    def __init__(self, sekoia: SekoiaEmulator, endpoints: Endpoints, key: str):
        self.sekoia = sekoia
        self.endpoints = endpoints
        self.key = key
        self.handover = MemoryHandover()  # stands for the records in the Terraform state (workflows/client_secret.py)
        self.recorded = self.handover.recorded
        self.texts: list[str] = []

    def target(self, **changes) -> SekoiaTarget:
        values = dict(
            environment="sandbox", source="envs/sandbox.yaml", community_uuid=DEMO_COMMUNITY_UUID,
            domains=("contoso.example",), tenant_id=TENANT, provider_url=PROVIDER_URL, client_id=CLIENT_ID,
            client_secret=Secret(SECRET), client_secret_key_id=KEY_ID,
            pushed_secret_key_id=self.recorded[-1] if self.recorded else None,
            jit_provisioning=True, default_role="Analyst", app_url="https://app.sekoia.io",
            secret_hint="terraform -chdir=terraform/envs/sandbox output -raw client_secret",
        )
        values.update(changes)
        return SekoiaTarget(**values)

    def client(self, key: str | None = None) -> SekoiaClient:
        return SekoiaClient(api_base="https://api.sekoia.io", api_key=key or self.key, endpoints=self.endpoints,
                            key_source="SEKOIA_SANDBOX_API_KEY", rate=1000, retry=FAST_RETRY)

    def run(self, *, key: str | None = None, target: SekoiaTarget | None = None, tty: bool = False,
            out_tty: bool | None = None, wait: bool = True, timeout: float = 5.0, show_secret: bool = False,
            **target_changes) -> Outcome:
        target = target or self.target(**target_changes)
        out, err = Stream(tty if out_tty is None else out_tty), Stream(tty)
        result, error = None, None
        with self.client(key) as client:
            try:
                result = connect(
                    client, target,
                    check_discovery=lambda: check_tenant_discovery(target.provider_url, target.tenant_id,
                                                                   endpoints=self.endpoints),
                    handover=self.handover, reporter=Reporter(out, err), wait=wait,
                    timeout=timeout, poll=FAST_POLL, show_secret=show_secret,
                )
            except SekoiaSSOError as exc:
                error = exc
        self.texts += [out.getvalue(), err.getvalue(), str(error), repr(error)]
        return Outcome(result, error, out.getvalue(), err.getvalue())


@pytest.fixture
def endpoints(graph_emulator, sekoia_emulator) -> Endpoints:
    return Endpoints(
        login_url="https://login.microsoftonline.com", graph_url="https://graph.microsoft.com",
        sekoia_api_base="https://api.sekoia.io",
        routes={"https://login.microsoftonline.com": graph_emulator.url,
                "https://graph.microsoft.com": graph_emulator.url,
                "https://api.sekoia.io": sekoia_emulator.url},
    )


@pytest.fixture
def harness(sekoia_emulator, sekoia_api_key, endpoints, caplog):
    caplog.set_level(logging.DEBUG)
    h = Harness(sekoia_emulator, endpoints, sekoia_api_key)
    yield h
    everything = "\n".join(h.texts) + caplog.text
    for secret in (SECRET, NEW_SECRET, sekoia_api_key):
        assert secret not in everything, "a secret reached captured output"


def writes(emulator: SekoiaEmulator) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in emulator.write_requests]


# ---- the happy path and idempotence ------------------------------------------------------------


def test_first_run_registers_and_configures_second_run_writes_nothing(harness, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = 0  # verified as soon as it is read again
    first = harness.run()
    assert first.error is None, first.error
    analyst = sekoia_emulator.roles(DEMO_COMMUNITY_UUID)["Analyst"]
    sso = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)
    assert {k: sso[k] for k in ("enabled", "provider_url", "client_id", "jit_provisioning", "default_role_uuid")} == {
        "enabled": True, "provider_url": PROVIDER_URL, "client_id": CLIENT_ID, "jit_provisioning": True,
        "default_role_uuid": analyst}
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == SECRET
    assert harness.recorded == [KEY_ID]
    assert [(m, s) for m, _, s in writes(sekoia_emulator)] == [("POST", 201), ("PUT", 200)]
    assert f"Users log in through SSO at: {sso['login_url']}" in first.out
    assert "domain contoso.example: not registered: will be sent for verification" in first.out
    assert first.result.login_url == sso["login_url"]

    sekoia_emulator.clear_requests()
    second = harness.run()
    assert second.error is None
    assert sekoia_emulator.write_requests == []
    assert "OIDC: up to date" in second.out and "nothing written" in second.err
    assert f"Users log in through SSO at: {sso['login_url']}" in second.out
    assert harness.recorded == [KEY_ID]


def test_a_new_secret_is_pushed_once_and_recorded(harness, sekoia_emulator):
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    assert harness.run().error is None
    sekoia_emulator.clear_requests()
    rotated = harness.run(client_secret=Secret(NEW_SECRET), client_secret_key_id=NEW_KEY_ID)
    assert rotated.error is None
    assert "client secret: will be pushed (key ID " + NEW_KEY_ID in rotated.out
    assert f"Sekoia.io holds key ID {KEY_ID}, an older secret" in rotated.out
    assert [(m, s) for m, _, s in writes(sekoia_emulator)] == [("PUT", 200)]
    assert sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID) == [SECRET, NEW_SECRET]
    assert harness.recorded == [KEY_ID, NEW_KEY_ID]
    sekoia_emulator.clear_requests()
    again = harness.run(client_secret=Secret(NEW_SECRET), client_secret_key_id=NEW_KEY_ID)
    assert again.error is None and sekoia_emulator.write_requests == []


def test_settings_changed_in_the_ui_are_put_back(harness, sekoia_emulator, sekoia_api_key):
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    assert harness.run().error is None
    # someone turns JIT off and picks another role in the UI (the secret stays)
    with harness.client() as c:
        c.write_sso(DEMO_COMMUNITY_UUID, replace(
            plan_sekoia(c, harness.target()).wanted, jit_provisioning=False,
            default_role_uuid=sekoia_emulator.roles(DEMO_COMMUNITY_UUID)["Admin"]), client_secret=SECRET)
    sekoia_emulator.clear_requests()
    fixed = harness.run()
    assert fixed.error is None
    assert "jit_provisioning: false -> true" in fixed.out
    assert "default_role: Admin (" in fixed.out and "-> Analyst (" in fixed.out
    assert [m for m, _, _ in writes(sekoia_emulator)] == ["PUT"]
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["jit_provisioning"] is True


def test_sso_disabled_elsewhere_is_configured_again_even_with_a_record(harness, sekoia_emulator):
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    assert harness.run().error is None
    with harness.client() as c:
        c.disable_sso(DEMO_COMMUNITY_UUID)
    again = harness.run()
    assert again.error is None
    assert "SSO is not configured in Sekoia.io yet" in again.out
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == SECRET


def test_plan_is_read_only_and_serialisable_without_the_secret(harness, sekoia_emulator):
    with harness.client() as c:
        plan = plan_sekoia(c, harness.target())
    assert sekoia_emulator.write_requests == []
    data = plan.to_dict()
    text = json.dumps(data)
    assert SECRET not in text and SECRET not in plan.render_text()
    assert data["domains_to_add"] == ["contoso.example"]
    assert data["sso"]["write"] is True and data["secret"]["push"] is True
    assert data["sso"]["waits_for_domains"] == ["contoso.example"]
    assert {c["field"] for c in data["sso"]["changes"]} == {
        "enabled", "provider_url", "client_id", "jit_provisioning", "default_role"}
    assert "OIDC: will be configured once contoso.example is verified:" in plan.render_text()


# ---- domains: wait, timeout, re-run, rejection ---------------------------------------------------


def test_a_domain_verified_after_a_delay_is_picked_up_with_progress_on_a_terminal(harness, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = 0.4
    outcome = harness.run(tty=True)
    assert outcome.error is None, outcome.error
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == SECRET
    assert "\r\x1b[2KWaiting for Sekoia.io to verify contoso.example: 0s elapsed" in outcome.err
    assert "domain contoso.example: verified" in outcome.err
    polls = sekoia_emulator.requests_for("list_domains")
    assert 3 <= len(polls) <= 12  # polled with backoff, not a busy loop
    assert len(sekoia_emulator.requests_for("add_domain")) == 1


def test_progress_in_a_log_is_a_line_when_the_wait_starts_and_when_a_domain_changes(harness, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = 0.3
    outcome = harness.run(tty=False)
    assert outcome.error is None
    lines = [line for line in outcome.err.splitlines() if line.startswith("Waiting for Sekoia.io")]
    # polled several times, but a log gets the waiting line once (then at most every minute), not per poll
    assert len(sekoia_emulator.requests_for("list_domains")) >= 3
    assert len(lines) == 1, lines
    assert "\r" not in outcome.err and "elapsed" in lines[0] and "next check in" not in lines[0]
    assert "domain contoso.example: verified" in outcome.err


def test_timeout_exits_3_and_a_rerun_finishes_without_registering_twice(harness, sekoia_emulator):
    waiting = harness.run(timeout=0.3)
    assert isinstance(waiting.error, DomainsPendingError) and waiting.error.exit_code == 3
    message = str(waiting.error)
    assert "contoso.example" in message and "Gave up waiting after 0s" in message
    assert "Re-run `sekoia-sso apply sandbox` (or `connect`) later: it continues" in message
    assert waiting.error.pending == ("contoso.example",)
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID) is None
    assert harness.recorded == []

    sekoia_emulator.verify_domain("contoso.example")  # Sekoia.io's team did its part
    done = harness.run()
    assert done.error is None
    assert len(sekoia_emulator.requests_for("add_domain")) == 1
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == SECRET


def test_no_wait_exits_3_at_once(harness, sekoia_emulator):
    outcome = harness.run(wait=False)
    assert isinstance(outcome.error, WaitingError) and "Not waiting (--no-wait)" in str(outcome.error)
    assert len(sekoia_emulator.requests_for("list_domains")) == 2  # the plan's read, the read after adding
    assert [m for m, _, _ in writes(sekoia_emulator)] == ["POST"]


def test_a_rejected_domain_is_an_error_with_sekoia_reason(harness, sekoia_emulator):
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="rejected",
                                rejection_reason="The domain does not belong to your organisation")
    outcome = harness.run()
    assert isinstance(outcome.error, DomainRejectedError) and outcome.error.exit_code == 1
    assert "The domain does not belong to your organisation" in str(outcome.error)
    assert sekoia_emulator.write_requests == []


def test_a_domain_rejected_during_the_wait_stops_it(harness, sekoia_emulator):
    import threading

    registered_then_rejected = threading.Event()
    done = threading.Event()

    def reject_once_registered() -> None:
        # Sekoia.io's team rejects the domain while connect waits: once it is registered, whenever that is
        while not done.is_set():
            try:
                sekoia_emulator.reject_domain("contoso.example", "Not a company domain")
            except KeyError:  # not POSTed yet (a loaded machine is slow to get there)
                done.wait(0.02)
            else:
                registered_then_rejected.set()
                return

    rejecter = threading.Thread(target=reject_once_registered, daemon=True)
    rejecter.start()
    try:
        outcome = harness.run(timeout=10)
    finally:
        done.set()
        rejecter.join()
    assert registered_then_rejected.is_set()
    assert isinstance(outcome.error, DomainRejectedError) and "Not a company domain" in str(outcome.error)
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID) is None


def test_a_409_is_taken_as_there_but_an_unlisted_domain_stops_the_run(harness, sekoia_emulator):
    # 409 means "exists" (added meanwhile through the UI): no second POST. The emulator's injected 409
    # creates nothing, so the domain is then missing from the list, which must stop the run clearly.
    sekoia_emulator.fail_next(409, operation="add_domain")
    outcome = harness.run()
    assert isinstance(outcome.error, SekoiaError) and "does not list it" in str(outcome.error)
    assert len(sekoia_emulator.requests_for("add_domain")) == 1
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID) is None


# ---- preconditions ---------------------------------------------------------------------------


def test_bad_key_is_refused_before_anything(harness, sekoia_emulator):
    outcome = harness.run(key="f" * 64)
    assert isinstance(outcome.error, SekoiaAuthError) and outcome.error.exit_code == 1
    assert "SEKOIA_SANDBOX_API_KEY" in str(outcome.error)
    assert "f" * 64 not in str(outcome.error)
    assert [r.path for r in sekoia_emulator.requests] == ["/v1/me"]


def test_key_without_read_permission_names_community_write_role(harness, sekoia_emulator):
    key = sekoia_emulator.add_api_key(set())
    outcome = harness.run(key=key)
    assert isinstance(outcome.error, SekoiaPermissionError)
    assert PERMISSION_WRITE in str(outcome.error)
    assert sekoia_emulator.write_requests == []


def test_key_without_write_permission_is_caught_at_the_first_write_with_nothing_written(harness, sekoia_emulator):
    key = sekoia_emulator.add_api_key({PERMISSION_READ})
    outcome = harness.run(key=key)
    assert isinstance(outcome.error, SekoiaPermissionError) and outcome.error.exit_code == 1
    assert f"lacks {PERMISSION_WRITE}" in str(outcome.error) and "Nothing was written" in str(outcome.error)
    assert [s for _, _, s in writes(sekoia_emulator)] == [403]
    assert sekoia_emulator.domains(DEMO_COMMUNITY_UUID) == []
    # with the domain verified already, the refusal comes from the OIDC write
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    outcome = harness.run(key=key)
    assert isinstance(outcome.error, SekoiaPermissionError) and "write the OIDC settings" in str(outcome.error)
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID) is None


@pytest.mark.parametrize("community", ["00000000-1111-4222-8333-444444444444", FOREIGN_COMMUNITY_UUID])
def test_unknown_or_unreachable_community_is_a_config_error(harness, sekoia_emulator, community):
    outcome = harness.run(community_uuid=community)
    assert isinstance(outcome.error, ConfigError) and outcome.error.exit_code == 2
    message = str(outcome.error)
    assert message.startswith(f"envs/sandbox.yaml: sekoia.community_uuid {community}")
    assert f"Contoso SOC ({DEMO_COMMUNITY_UUID})" in message  # the communities this key does reach
    assert sekoia_emulator.write_requests == []


def test_a_foreign_community_answering_403_is_reported_the_same_way(harness, sekoia_emulator):
    sekoia_emulator.foreign_community_status = 403
    outcome = harness.run(community_uuid=FOREIGN_COMMUNITY_UUID)
    assert isinstance(outcome.error, ConfigError) and "cannot reach it (403)" in str(outcome.error)


@pytest.mark.parametrize(("role", "suggestion"), [("analyst", "'Analyst'"), ("Analysts", "'Analyst'"),
                                                  ("Read-only", "'Read only'")])
def test_unknown_role_suggests_the_closest(harness, sekoia_emulator, role, suggestion):
    outcome = harness.run(default_role=role)
    assert isinstance(outcome.error, ConfigError) and outcome.error.exit_code == 2
    message = str(outcome.error)
    assert f"sekoia.default_role {role!r} is not a role of community Contoso SOC" in message
    assert f"Did you mean {suggestion}?" in message
    assert "Its roles: 'Admin', 'Analyst', 'Read only'" in message
    assert sekoia_emulator.write_requests == []


def test_no_default_role_without_jit(harness, sekoia_emulator):
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    outcome = harness.run(jit_provisioning=False, default_role=None)
    assert outcome.error is None
    sso = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)
    assert sso["jit_provisioning"] is False and sso["default_role_uuid"] is None


# ---- storms --------------------------------------------------------------------------------------


def test_a_429_storm_and_a_5xx_storm_on_reads_do_not_stop_a_run(harness, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = 0
    sekoia_emulator.throttle_storm(4, retry_after=0)
    sekoia_emulator.fail_next(503, times=3, operation="list_domains")
    sekoia_emulator.fail_next(500, times=2, operation="read_sso")
    outcome = harness.run()
    assert outcome.error is None, outcome.error
    assert [(m, s) for m, _, s in writes(sekoia_emulator)] == [("POST", 201), ("PUT", 200)]
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == SECRET


def test_a_5xx_on_the_oidc_write_is_not_retried_and_the_rerun_completes(harness, sekoia_emulator):
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    sekoia_emulator.fail_next(502, operation="write_sso")
    failed = harness.run()
    assert failed.error is not None and failed.error.exit_code == 1
    assert "re-run" in str(failed.error)
    assert len(sekoia_emulator.requests_for("write_sso")) == 1 and harness.recorded == []
    assert harness.run().error is None
    assert harness.recorded == [KEY_ID]


# ---- the manual fallback -------------------------------------------------------------------------


def test_missing_domain_routes_print_every_ui_step_without_the_secret(harness, sekoia_emulator):
    sekoia_emulator.missing_routes = {"list_domains", "add_domain", "read_sso", "write_sso"}
    outcome = harness.run(show_secret=False, tty=True)
    error = outcome.error
    assert isinstance(error, ManualStepsRequired) and error.exit_code == 3
    out = outcome.out
    assert "Manual steps: Sekoia.io's API does not offer the domain route" in out
    assert "\"Verify your domains\" > \"+ Domain\"" in out and "contoso.example" in out
    assert f"URL of your authentication provider: {PROVIDER_URL}" in out
    assert f"Your client ID: {CLIENT_ID}" in out
    assert "Your client secret: not shown; read it yourself with: terraform -chdir=terraform/envs/sandbox" in out
    assert "Role by default: Analyst" in out and "first time using SSO: checked" in out
    assert "Enable SSO" in out
    assert "never guesses another route" in str(error)
    assert sekoia_emulator.write_requests == []
    # one request per assumed route, and none to any other path
    paths = {r.path for r in sekoia_emulator.requests}
    assert paths == {"/v1/me", f"/v1/communities/{DEMO_COMMUNITY_UUID}",
                     f"/v1/communities/{DEMO_COMMUNITY_UUID}/roles",
                     f"/v1/communities/{DEMO_COMMUNITY_UUID}/domains",
                     f"/v1/communities/{DEMO_COMMUNITY_UUID}/sso"}


def test_missing_sso_write_route_405_gives_the_oidc_steps_after_the_domains(harness, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = 0
    sekoia_emulator.missing_routes = {"write_sso"}
    outcome = harness.run()
    assert isinstance(outcome.error, ManualStepsRequired) and outcome.error.operation == "write_sso"
    assert "answered 405" in outcome.out
    assert "Verify your domains" not in outcome.out  # that step went through the API
    assert f"Your client ID: {CLIENT_ID}" in outcome.out
    assert [m for m, _, _ in writes(sekoia_emulator)] == ["POST", "PUT"]
    assert harness.recorded == []


def test_the_secret_is_shown_only_when_asked_and_only_to_a_terminal(harness, sekoia_emulator):
    sekoia_emulator.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    sekoia_emulator.missing_routes = {"read_sso", "write_sso"}
    to_pipe = harness.run(show_secret=True, out_tty=False)
    assert "(--show-secret prints it to a terminal only" in to_pipe.out
    # the one case where the secret is printed: the user asked, on a terminal (not kept in harness.texts)
    target = harness.target()
    out = Stream(True)
    with harness.client() as client, pytest.raises(ManualStepsRequired) as error:
        connect(client, target, check_discovery=lambda: None, handover=harness.handover,
                reporter=Reporter(out, Stream(True)), show_secret=True, poll=FAST_POLL)
    assert f"Your client secret: {SECRET}" in out.getvalue()
    assert SECRET not in str(error.value) and SECRET not in json.dumps(error.value.report)


# ---- discovery -------------------------------------------------------------------------------


def test_discovery_document_is_checked(endpoints, graph_emulator):
    result = check_tenant_discovery(PROVIDER_URL, TENANT, endpoints=endpoints)
    assert result.issuer == f"https://login.microsoftonline.com/{TENANT}/v2.0"
    assert result.authorization_endpoint == f"{PROVIDER_URL}oauth2/v2.0/authorize"
    assert result.key_ids


@pytest.mark.parametrize("mode", ["wrong_issuer", "missing"])
def test_a_wrong_or_missing_discovery_document_is_refused_before_any_write(harness, sekoia_emulator,
                                                                           graph_emulator, mode):
    sekoia_emulator.domain_verification_delay = 0
    graph_emulator.faults.discovery_mode = mode
    outcome = harness.run()
    assert isinstance(outcome.error, DiscoveryError) and outcome.error.exit_code == 1
    assert "nothing was sent to sekoia.io" in str(outcome.error).lower()
    assert sekoia_emulator.write_requests == []


def test_an_unreachable_login_host_is_refused_before_any_write(harness, sekoia_emulator, endpoints):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    harness.endpoints = replace(endpoints, routes={**endpoints.routes, "https://login.microsoftonline.com": dead})
    outcome = harness.run()
    assert isinstance(outcome.error, DiscoveryError) and "could not be fetched" in str(outcome.error)
    assert sekoia_emulator.write_requests == []


def test_multi_tenant_and_foreign_tenant_endpoints_are_refused(endpoints, graph_emulator):
    with pytest.raises(DiscoveryError, match="multi-tenant placeholder"):
        check_tenant_discovery("https://login.microsoftonline.com/common/", TENANT, endpoints=endpoints)
    with pytest.raises(DiscoveryError, match="does not name tenant"):
        check_tenant_discovery(PROVIDER_URL, "11111111-2222-4333-8444-555555555555", endpoints=endpoints)
    other = "11111111-2222-4333-8444-555555555555"
    with pytest.raises(DiscoveryError, match="answered 400|answered 404|is the tenant ID right"):
        check_tenant_discovery(f"https://login.microsoftonline.com/{other}/", other, endpoints=endpoints)


# ---- small pieces -----------------------------------------------------------------------------


def test_durations():
    assert parse_duration("90") == 90
    assert parse_duration("15m") == 900
    assert parse_duration("1h30m") == 5400
    assert parse_duration("2d") == 172800
    for bad in ("", "5x", "m", "1h 30m", "-5"):
        with pytest.raises(UsageError):
            parse_duration(bad)
    assert format_duration(5) == "5s"
    assert format_duration(125) == "2m 05s"
    assert format_duration(7380) == "2h 03m"


def test_target_from_outputs_needs_an_applied_terraform_half():
    env = load_environment(Path(__file__).resolve().parents[2], "sandbox")
    with pytest.raises(TerraformNotAppliedError) as error:
        SekoiaTarget.from_outputs(env, {})
    assert error.value.exit_code == 2 and "sekoia-sso apply sandbox" in str(error.value)
    target = SekoiaTarget.from_outputs(env, {
        "client_id": CLIENT_ID, "tenant_id": TENANT, "tenant_endpoint": PROVIDER_URL,
        "client_secret": Secret(SECRET), "client_secret_key_id": KEY_ID, "sekoia_pushed_secret_key_id": None})
    assert target.pushed_secret_key_id is None and target.default_role == "Analyst"
    assert SECRET not in repr(target) and target.applied


def test_a_plan_before_the_first_terraform_apply(harness, sekoia_emulator):
    env = load_environment(Path(__file__).resolve().parents[2], "sandbox")
    target = SekoiaTarget.from_outputs(env, {}, allow_unapplied=True)
    assert not target.applied and target.provider_url == PROVIDER_URL
    with harness.client() as c:
        plan = plan_sekoia(c, target)
    assert "client_id: (none) -> (known after apply)" in plan.render_text()
    assert plan.to_dict()["secret"]["push"] is True
    outcome = harness.run(target=target)
    assert isinstance(outcome.error, TerraformNotAppliedError)
    assert sekoia_emulator.write_requests == []


# ---- the command, with real Terraform on the sandbox -----------------------------------------


@pytest.mark.timeout(240)
def test_connect_command_on_the_sandbox_with_real_terraform(tmp_path, sandbox, sekoia_emulator, graph_emulator,
                                                             monkeypatch):
    project = copy_project(tmp_path / "project", envs=("sandbox",))
    # a lock file left by a run against another sandbox start holds that mirror's checksums
    (project / "terraform" / "envs" / "sandbox" / ".terraform.lock.hcl").unlink(missing_ok=True)
    sandbox.write_endpoints()
    monkeypatch.setenv("SEKOIA_SSO_PROJECT_DIR", str(project))
    monkeypatch.setenv("SEKOIA_SSO_SANDBOX_DIR", str(sandbox.directory))
    for name in [n for n in os.environ if n.startswith(("TF_", "ARM_"))]:
        monkeypatch.delenv(name)
    sekoia_emulator.domain_verification_delay = 0
    runner = CliRunner()

    before = runner.invoke(cli, ["connect", "sandbox"])
    assert before.exit_code == 2, before.output
    assert "has not been applied" in before.stderr and "sekoia-sso apply sandbox" in before.stderr
    assert sekoia_emulator.requests == []

    # the Terraform half, as the workflow applies it
    from orchestrator.config.loading import load_environment
    from orchestrator.terraform.workspace import Workspace

    terraform = Workspace(load_environment(project, "sandbox"), project).initialised_runner()
    terraform.apply(terraform.plan(tmp_path / "tf.plan").plan_path)
    outputs = terraform.outputs()
    secret = outputs["client_secret"].reveal()
    assert outputs.get("sekoia_pushed_secret_key_id") is None  # Terraform omits null outputs

    first = runner.invoke(cli, ["connect", "sandbox"])
    assert first.exit_code == 0, first.output + first.stderr
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == secret
    login_url = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["login_url"]
    assert f"Users log in through SSO at: {login_url}" in first.stdout
    after = terraform.outputs()
    assert after["sekoia_pushed_secret_key_id"] == outputs["client_secret_key_id"]
    assert terraform.plan(tmp_path / "check.plan").has_changes is False  # the record leaves plans empty

    sekoia_emulator.clear_requests()
    second = runner.invoke(cli, ["connect", "sandbox", "--json"])
    assert second.exit_code == 0, second.stderr
    assert sekoia_emulator.write_requests == []
    document = json.loads(second.stdout)
    assert document["status"] == "done" and document["sso_written"] is False
    assert document["login_url"] == login_url
    assert document["plan"]["secret"]["held_is_current"] is True

    # each failure through the command: its message and exit code
    sekoia_emulator.missing_routes = {"read_sso", "write_sso"}
    manual = runner.invoke(cli, ["connect", "sandbox", "--show-secret"])
    assert manual.exit_code == 3, manual.stderr
    assert f"Your client ID: {outputs['client_id']}" in manual.stdout
    assert "not shown (--show-secret prints it to a terminal only" in manual.stdout
    sekoia_emulator.missing_routes = set()

    yaml_path = project / "envs" / "sandbox.yaml"
    original = yaml_path.read_text()
    yaml_path.write_text(original.replace("    - contoso.example\n", "    - contoso.example\n    - fabrikam.example\n"))
    sekoia_emulator.domain_verification_delay = None
    pending = runner.invoke(cli, ["connect", "sandbox", "--no-wait", "--json"])
    assert pending.exit_code == 3, pending.stderr
    assert json.loads(pending.stdout)["pending_domains"] == ["fabrikam.example"]
    assert "Re-run `sekoia-sso apply sandbox` (or `connect`) later" in pending.stderr

    yaml_path.write_text(original.replace("default_role: Analyst", "default_role: Analysts"))
    role = runner.invoke(cli, ["connect", "sandbox"])
    assert role.exit_code == 2 and "Did you mean 'Analyst'?" in role.stderr
    yaml_path.write_text(original)

    sekoia_emulator.expire_api_key(sandbox.env["SEKOIA_SANDBOX_API_KEY"])
    bad_key = runner.invoke(cli, ["connect", "sandbox"])
    assert bad_key.exit_code == 1 and "refused the API key in SEKOIA_SANDBOX_API_KEY" in bad_key.stderr
    assert "API key expired" in bad_key.stderr

    for result in (before, first, second, bad_key, manual, pending, role):
        for text in (result.stdout, result.stderr, str(result.exception or "")):
            assert secret not in text and sandbox.env["SEKOIA_SANDBOX_API_KEY"] not in text
