"""Preflight against the Graph emulator over real HTTP: the findings, Graph's faults, a big tenant, the CLI."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from orchestrator.config.loading import parse_environment
from orchestrator.config.schema import Environment
from orchestrator.entra.preflight.check import run_preflight
from orchestrator.entra.preflight.report import (
    REPORT_VERSION,
    PreflightReport,
    format_csv,
    format_json,
    format_table,
)
from orchestrator.errors import PageCheckerError, ProblemUsersError, UnknownAccessError
from sandbox.graph.bigtenant import TenantProcess
from sandbox.graph.emulator import GraphEmulator, load_default_tenant
from tests.harness.e2e import children_running

pytestmark = pytest.mark.timeout(120)

REPO = Path(__file__).resolve().parents[2]
SANDBOX_YAML = (REPO / "envs" / "sandbox.yaml").read_text(encoding="utf-8")
SSO = [sys.executable, "-m", "orchestrator"]

# What the fixture tenant (sandbox/fixtures/tenant.json) holds for envs/sandbox.yaml.
FIXTURE_PROBLEMS = {
    "carol@contoso.example": ("missing_surname",),            # surname null
    "dave@contoso.example": ("missing_given_name",),          # givenName "   "
    "erin@contoso.example": ("account_disabled",),
    "grace@contoso.example": ("mail_domain_not_allowed",),    # mail in fabrikam.example
    "judy@contoso.example": ("missing_mail",),                # mail null
}
FIXTURE_REFUSED = {"frank@contoso.example": ("SOC Analysts > SOC Tier 2",)}


def environment(access: str | None = None, *, domains: tuple[str, ...] = ("contoso.example",)) -> Environment:
    """envs/sandbox.yaml, with another `access:` block or other Sekoia.io domains when given."""
    text = SANDBOX_YAML
    if access is not None:
        text = re.sub(r"(?ms)^access:\n.*?(?=^\S)", "access:\n" + access.rstrip("\n") + "\n\n", text, count=1)
    listed = "".join(f"    - {d}\n" for d in domains)
    text = re.sub(r"(?m)^  domains:\n(?:    - .*\n)+", f"  domains:\n{listed}", text, count=1)
    return parse_environment("sandbox", Path("envs/sandbox.yaml"), text)


def clean_environ() -> dict[str, str]:
    """The test process's environment minus any Azure login, so the sandbox's credentials are the ones used."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("ARM_", "AZURE_", "ACTIONS_ID_TOKEN"))}


def write_endpoints(directory: Path, emulator: GraphEmulator, **env: str) -> Path:
    """The endpoints.json `python -m sandbox up` writes, for this emulator and its principal."""
    credentials = {"ARM_TENANT_ID": emulator.tenant_id, "ARM_CLIENT_ID": emulator.principal_client_id,
                   "ARM_CLIENT_SECRET": emulator.principal_client_secret, "ARM_USE_CLI": "false"}
    credentials.update(env)
    path = directory / "endpoints.json"
    path.write_text(json.dumps({"graph_url": emulator.url, "login_url": emulator.url,
                                "sekoia_url": "http://127.0.0.1:9",
                                "env": {k: v for k, v in credentials.items() if v is not None}}), encoding="utf-8")
    path.chmod(0o600)
    return directory


@pytest.fixture
def sandbox_dir(graph_emulator: GraphEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "sandbox"
    directory.mkdir()
    write_endpoints(directory, graph_emulator)
    monkeypatch.setenv("SEKOIA_SSO_SANDBOX_DIR", str(directory))
    return directory


@contextlib.contextmanager
def tenant_sandbox(tenant: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphEmulator]:
    """An emulator of its own for a tenant built by the test, with endpoints.json pointing at it."""
    with GraphEmulator(tenant) as emulator:
        directory = tmp_path / f"sandbox-{emulator.port}"
        directory.mkdir()
        monkeypatch.setenv("SEKOIA_SSO_SANDBOX_DIR", str(write_endpoints(directory, emulator)))
        yield emulator


def preflight(env: Environment, **options) -> PreflightReport:
    options.setdefault("backoff", 0.01)
    return run_preflight(env, REPO, environ=clean_environ(), **options)


def problems_of(report: PreflightReport) -> dict[str, tuple[str, ...]]:
    return {f.user_principal_name: f.problems for f in report.problems}


def refused_of(report: PreflightReport) -> dict[str, tuple[str, ...]]:
    return {r.user_principal_name: r.via for r in report.refused}


def per_user_requests(emulator: GraphEmulator) -> list[str]:
    return [r.path for r in emulator.requests if re.match(r"^/v1\.0/users/[^/]+$", r.path)]


def user(name: str, **fields) -> dict:
    base = {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, name)), "userPrincipalName": f"{name}@contoso.example",
            "displayName": name.title(), "givenName": name.title(), "surname": "Tester",
            "mail": f"{name}@contoso.example", "accountEnabled": True}
    base.update(fields)
    return base


def group(name: str, members: list[str]) -> dict:
    return {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, "group:" + name)), "displayName": name, "mailNickname": name,
            "mailEnabled": False, "securityEnabled": True, "groupTypes": [], "members": members}


def tenant_with(users: list[dict], groups: list[dict]) -> dict:
    tenant = load_default_tenant()
    tenant["users"] = tenant["users"] + users
    tenant["groups"] = tenant["groups"] + groups
    return tenant


# ---------------------------------------------------------------------------------------------- findings


def test_sandbox_fixture_findings(graph_emulator, sandbox_dir):
    report = preflight(environment())
    assert problems_of(report) == FIXTURE_PROBLEMS
    assert refused_of(report) == FIXTURE_REFUSED
    assert report.users_checked == 9 and report.users_ready == 4 and report.problem_users == 6
    assert [(g.name, g.direct_users, g.nested_groups) for g in report.groups] == [
        ("SOC Analysts", 7, ("SOC Tier 2",)), ("SOC Leads", 1, ())]
    assert report.users == ("ivan@contoso.example",)
    assert report.counts["missing_surname"] == 1 and report.counts["willBeRefused"] == 1
    assert not report.ok
    # Users came in pages of members; ivan, listed alone, in the one $batch that resolved the names.
    assert per_user_requests(graph_emulator) == ["/v1.0/users/ivan@contoso.example"]
    assert [r.path for r in graph_emulator.requests].count("/v1.0/$batch") == 2


def test_null_empty_and_whitespace_all_count_as_missing(tmp_path, monkeypatch):
    users = [
        user("empty", givenName=""),
        user("blanks", surname="\t \n"),
        user("nbsp", displayName="\u00a0\u2003"),
        user("nomail", mail=""),
        user("nothing", mail=None, givenName=None, surname="  ", displayName="", accountEnabled=False),
        user("fine"),
    ]
    tenant = tenant_with(users, [group("Checked", [u["id"] for u in users])])
    with tenant_sandbox(tenant, tmp_path, monkeypatch):
        report = preflight(environment("  groups:\n    - Checked\n"))
    assert problems_of(report) == {
        "empty@contoso.example": ("missing_given_name",),
        "blanks@contoso.example": ("missing_surname",),
        "nbsp@contoso.example": ("missing_display_name",),
        "nomail@contoso.example": ("missing_mail",),
        "nothing@contoso.example": ("missing_mail", "missing_given_name", "missing_surname", "missing_display_name",
                                    "account_disabled"),
    }
    assert report.users_checked == 6 and report.users_ready == 1


def test_mail_domain_must_be_a_sekoia_domain(tmp_path, monkeypatch):
    users = [user("upper", mail="Upper@CONTOSO.Example"), user("sub", mail="sub@eu.contoso.example"),
             user("other", mail="other@fabrikam.example"), user("noat", mail="contoso.example"),
             user("second", mail="second@contoso-soc.example")]
    tenant = tenant_with(users, [group("Mail", [u["id"] for u in users])])
    with tenant_sandbox(tenant, tmp_path, monkeypatch):
        report = preflight(environment("  groups:\n    - Mail\n", domains=("contoso.example", "contoso-soc.example")))
    assert problems_of(report) == {f"{n}@contoso.example": ("mail_domain_not_allowed",)
                                   for n in ("sub", "other", "noat")}
    table = format_table(report)
    assert "mail domain fabrikam.example not in sekoia.domains" in table
    assert "mail domain eu.contoso.example not in sekoia.domains" in table


def test_users_only_in_nested_groups_will_be_refused(tmp_path, monkeypatch):
    direct, nested, deep, both, elsewhere = (user(n) for n in ("direct", "nested", "deep", "both", "elsewhere"))
    incomplete_nested = user("halfnested", surname=None)
    inner = group("Inner", [deep["id"], both["id"]])
    middle = group("Middle", [nested["id"], inner["id"], elsewhere["id"], incomplete_nested["id"]])
    outer = group("Outer", [direct["id"], middle["id"], both["id"]])
    other = group("Other", [elsewhere["id"]])
    tenant = tenant_with([direct, nested, deep, both, elsewhere, incomplete_nested], [inner, middle, outer, other])
    with tenant_sandbox(tenant, tmp_path, monkeypatch):
        report = preflight(environment("  groups:\n    - Outer\n    - Other\n"))
        relaxed = preflight(environment("  assignment_required: false\n  groups:\n    - Outer\n    - Other\n"))
    # `both` and `elsewhere` are direct members of a listed group too: they get in.
    assert refused_of(report) == {"deep@contoso.example": ("Outer > Middle",),
                                  "halfnested@contoso.example": ("Outer > Middle",),
                                  "nested@contoso.example": ("Outer > Middle",)}
    assert problems_of(report) == {}
    assert report.users_checked == 3 and report.problem_users == 3
    assert "Will be refused" in format_table(report)
    # Without assignment anyone may sign in: nesting refuses nobody, and the report says what was checked.
    assert relaxed.refused == () and relaxed.ok and not relaxed.assignment_required
    assert "Assignment is NOT required" in format_table(relaxed)


def test_a_user_in_two_groups_counts_once_with_both_groups(tmp_path, monkeypatch):
    twice = user("twice", givenName=" ")
    tenant = tenant_with([twice], [group("First", [twice["id"]]), group("Second", [twice["id"]])])
    with tenant_sandbox(tenant, tmp_path, monkeypatch):
        report = preflight(environment("  groups:\n    - First\n    - Second\n  users:\n    - twice@contoso.example\n"))
    assert report.users_checked == 1
    assert [(f.user_principal_name, f.via) for f in report.problems] == [
        ("twice@contoso.example", ("First", "Second", "access.users"))]


def test_groups_by_object_id_and_users_by_id(graph_emulator, sandbox_dir):
    leads = next(g["id"] for g in load_default_tenant()["groups"] if g["displayName"] == "SOC Leads")
    carol = next(u["id"] for u in load_default_tenant()["users"] if u["userPrincipalName"].startswith("carol@"))
    report = preflight(environment(f"  groups:\n    - {leads}\n  users:\n    - {carol}\n"))
    assert [g.name for g in report.groups] == ["SOC Leads"]
    assert problems_of(report) == {"carol@contoso.example": ("missing_surname",)}
    assert report.users_checked == 2


# ---------------------------------------------------------------------------------------------- bad names


def test_unknown_names_are_config_errors_with_the_closest_names(graph_emulator, sandbox_dir):
    env = environment("  groups:\n    - SOC Analyst\n    - soc leads\n    - Nothing Like It\n"
                      "    - 00000000-0000-4000-8000-000000000001\n  users:\n    - ivn@contoso.example\n")
    with pytest.raises(UnknownAccessError) as caught:
        preflight(env)
    error = caught.value
    assert error.exit_code == 2
    by_name = {u.name: u for u in error.unknown}
    assert set(by_name) == {"SOC Analyst", "Nothing Like It", "00000000-0000-4000-8000-000000000001",
                            "ivn@contoso.example"}  # "soc leads": Graph's eq ignores case, it is found
    assert by_name["SOC Analyst"].suggestions[0] == "SOC Analysts"
    assert by_name["ivn@contoso.example"].suggestions[0] == "ivan@contoso.example"
    assert by_name["00000000-0000-4000-8000-000000000001"].suggestions == ()
    message = str(error)
    assert message.startswith("envs/sandbox.yaml: 4 name(s) in access match no single group or user of the tenant")
    assert "access.groups: no group named 'SOC Analyst' in tenant" in message
    assert "did you mean 'SOC Analysts'" in message
    assert "access.users: no user 'ivn@contoso.example'" in message
    # Every name was looked up in one $batch, the suggestions in a second; no member was listed.
    assert [r.path for r in graph_emulator.requests if not r.path.endswith("/token")].count("/v1.0/$batch") == 2
    assert not [r for r in graph_emulator.requests if "/members" in r.path]


def test_a_name_two_groups_share_must_be_given_by_id(tmp_path, monkeypatch):
    first, second = group("Twins", []), group("Twins", [])
    second["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, "the other twin"))
    with tenant_sandbox(tenant_with([], [first, second]), tmp_path, monkeypatch):
        with pytest.raises(UnknownAccessError, match="2 groups are named 'Twins'") as caught:
            preflight(environment("  groups:\n    - Twins\n"))
    assert first["id"] in str(caught.value) and second["id"] in str(caught.value)


# ---------------------------------------------------------------------------------------------- Graph's ways


def test_paging_across_many_pages_gives_the_same_answer(graph_emulator, sandbox_dir):
    report = preflight(environment(), page_size=2)
    assert problems_of(report) == FIXTURE_PROBLEMS and refused_of(report) == FIXTURE_REFUSED
    pages = [r for r in graph_emulator.requests if r.path.endswith("/members/microsoft.graph.user")]
    assert len(pages) == 4 + 1  # SOC Analysts: 7 users in pages of 2; SOC Leads: 1
    assert sum(1 for r in pages if "$skiptoken" in r.query) == 3
    assert all(r.query["$top"] == "2" for r in pages)


def test_a_429_storm_still_gives_the_right_answer(graph_emulator, sandbox_dir):
    graph_emulator.configure(throttle_every=2, retry_after=0.02)
    report = preflight(environment(), page_size=2)
    assert problems_of(report) == FIXTURE_PROBLEMS and refused_of(report) == FIXTURE_REFUSED
    assert sum(1 for r in graph_emulator.requests if r.status == 429) >= 5


def test_server_errors_and_resets_still_give_the_right_answer(graph_emulator, sandbox_dir):
    graph_emulator.configure(error_rate=0.3, reset_rate=0.15, retry_after=0.01)
    report = preflight(environment(), page_size=2, max_retries=8)
    assert problems_of(report) == FIXTURE_PROBLEMS and refused_of(report) == FIXTURE_REFUSED
    statuses = [r.status for r in graph_emulator.requests]
    assert any(s >= 500 for s in statuses) and 0 in statuses


def test_graph_failure_that_does_not_pass_is_an_error_not_a_report(graph_emulator, sandbox_dir):
    graph_emulator.queue_fault(503, path_prefix="/v1.0/groups/", times=100)
    with pytest.raises(Exception) as caught:
        preflight(environment(), max_retries=1)
    assert getattr(caught.value, "status", None) == 503 and caught.value.exit_code == 1


@contextlib.contextmanager
def served_tenant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, users: int, groups: int,
                  latency_ms: float = 0.0) -> Iterator[tuple[Environment, dict]]:
    """A generated tenant served from a child process, and envs/sandbox.yaml with access to its groups."""
    with TenantProcess(users=users, groups=groups, incomplete_share=0.05, seed=1, latency_ms=latency_ms) as served:
        info = served.info
        directory = tmp_path / f"sandbox-{users}"
        directory.mkdir()
        endpoints = {"graph_url": info["url"], "login_url": info["url"], "sekoia_url": "http://127.0.0.1:9",
                     "env": {"ARM_TENANT_ID": info["tenant_id"], "ARM_CLIENT_ID": info["client_id"],
                             "ARM_CLIENT_SECRET": info["client_secret"], "ARM_USE_CLI": "false"}}
        (directory / "endpoints.json").write_text(json.dumps(endpoints), encoding="utf-8")
        monkeypatch.setenv("SEKOIA_SSO_SANDBOX_DIR", str(directory))
        listed = "".join(f"    - {name}\n" for name in info["group_sizes"])
        info["log"] = served.log
        yield environment(f"  groups:\n{listed}"), info


def test_a_big_tenant_streams_within_bounded_memory(tmp_path, monkeypatch):
    # The emulator runs in a child process, so what tracemalloc sees here is the preflight's own memory; the
    # page checker's (another child, which traces its own when this process traces) is added to it.
    def peak_for(users: int) -> tuple[PreflightReport, float, dict, dict]:
        with served_tenant(tmp_path, monkeypatch, users=users, groups=4) as (env, info):
            tracemalloc.start()
            try:
                report = preflight(env)
                peak = (tracemalloc.get_traced_memory()[1] + report.checker_peak_bytes) / 1e6
            finally:
                tracemalloc.stop()
            return report, peak, info, info["log"]()

    small, small_peak, _, _ = peak_for(4_000)
    big, big_peak, info, log = peak_for(20_000)
    assert big.users_checked == 20_000
    assert big.checker_peak_bytes > small.checker_peak_bytes > 0  # the pages were checked in the child
    assert {f.id for f in big.problems} == set(info["incomplete_ids"])
    assert log["per_user"] == 0 and log["requests"] > 20_000 / 999
    # Holding 16,000 more users would cost tens of MB; streaming costs their IDs and findings only.
    assert big_peak < 150 and big_peak - small_peak < 10, (small_peak, big_peak)


def test_pages_checked_in_the_child_process_give_the_answer_they_give_here(tmp_path, monkeypatch):
    with served_tenant(tmp_path, monkeypatch, users=6_000, groups=3) as (env, info):
        in_child = preflight(env)
        monkeypatch.setattr(sys, "executable", str(tmp_path / "no-python"))  # no child can start: checked here
        here = preflight(env)
    assert in_child.checker_cpu_seconds > 0 and here.checker_cpu_seconds == 0
    assert in_child.users_checked == 6_000 and {f.id for f in in_child.problems} == set(info["incomplete_ids"])
    assert format_json(in_child) == format_json(here)
    assert [g.direct_users for g in in_child.groups] == [g.direct_users for g in here.groups]


def test_a_progress_callback_that_fails_stops_the_preflight_with_its_error(sandbox_dir):
    # The page checker's answers arrive on a thread of their own: its failure must reach the caller, not hang it.
    def broken(checked: int, pages: int) -> None:
        raise OSError("the terminal is gone")

    with pytest.raises(OSError, match="the terminal is gone"):
        preflight(environment(), progress=broken)


def test_a_page_checker_that_dies_stops_the_preflight_with_a_clear_error(tmp_path, monkeypatch):
    with served_tenant(tmp_path, monkeypatch, users=20_000, groups=2, latency_ms=80) as (env, _), \
            concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(preflight, env)
        deadline = time.monotonic() + 30
        while not children_running(b"orchestrator.entra.preflight.pagecheck") and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # pages are flowing
        for pid in children_running(b"orchestrator.entra.preflight.pagecheck"):
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(PageCheckerError) as stopped:
            running.result(timeout=60)
    assert "page checker" in str(stopped.value) and "stopped" in str(stopped.value)
    assert stopped.value.exit_code == 1
    deadline = time.monotonic() + 10
    while children_running(b"orchestrator.entra.preflight.pagecheck") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children_running(b"orchestrator.entra.preflight.pagecheck") == []


# ---------------------------------------------------------------------------------------------- output


def test_json_is_stable_sorted_and_versioned(graph_emulator, sandbox_dir):
    first = format_json(preflight(environment()))
    second = format_json(preflight(environment()))
    assert first == second
    data = json.loads(first)
    assert first == json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert data["version"] == REPORT_VERSION == 1
    assert set(data) == {"version", "environment", "tenantId", "assignmentRequired", "domains", "groups", "users",
                         "counts", "problems", "refused", "groupAssignment", "ok"}
    assert data["counts"] == {"usersChecked": 9, "usersReady": 4, "usersWithProblems": 5, "willBeRefused": 1,
                              "missing_mail": 1, "mail_domain_not_allowed": 1, "missing_given_name": 1,
                              "missing_surname": 1, "missing_display_name": 0, "account_disabled": 1}
    assert set(data["problems"][0]) == {"id", "userPrincipalName", "displayName", "mail", "problems", "via"}
    assert data["refused"] == [{"id": "95b66496-8d6d-5637-9365-7b10ce1d02ac",
                                "userPrincipalName": "frank@contoso.example",
                                "displayName": "Frank Osei", "via": ["SOC Analysts > SOC Tier 2"]}]


def test_table_puts_counts_first_then_each_problem_user(graph_emulator, sandbox_dir):
    table = format_table(preflight(environment()))
    lines = table.splitlines()
    assert lines.index("  users checked                                  9") < lines.index("Users who will not get in:")
    assert re.search(r"carol@contoso\.example\s+SOC Analysts\s+no last name \(surname\)", table)
    assert re.search(r"judy@contoso\.example\s+SOC Analysts\s+no email \(mail\)", table)
    assert re.search(r"frank@contoso\.example\s+SOC Analysts > SOC Tier 2", table)
    assert lines[-1] == "6 user(s) will not get in."


def test_csv_has_one_row_per_user_who_will_not_get_in(graph_emulator, sandbox_dir):
    rows = format_csv(preflight(environment())).splitlines()
    assert rows[0] == "kind,userPrincipalName,id,displayName,mail,problems,via"
    assert len(rows) == 1 + 6
    assert "refused,frank@contoso.example,95b66496-8d6d-5637-9365-7b10ce1d02ac,Frank Osei,,nested_group_only," \
           "SOC Analysts > SOC Tier 2" in rows


def test_raise_for_problems_honours_the_threshold(graph_emulator, sandbox_dir):
    report = preflight(environment())
    report.raise_for_problems(6)
    with pytest.raises(ProblemUsersError, match="6 user"):
        report.raise_for_problems(5)


# ---------------------------------------------------------------------------------------------- the CLI


def run_cli(sandbox: Path, *args: str, project: Path = REPO, stderr=subprocess.PIPE) -> subprocess.CompletedProcess:
    env = clean_environ()
    env.update({"SEKOIA_SSO_SANDBOX_DIR": str(sandbox), "SEKOIA_SSO_PROJECT_DIR": str(project),
                "PYTHONPATH": str(REPO)})
    return subprocess.run([*SSO, "preflight", *args], env=env, cwd=project, stdout=subprocess.PIPE, stderr=stderr,
                          text=True, timeout=60, check=False)


def assert_no_secrets(emulator: GraphEmulator, *texts: str) -> None:
    for text in texts:
        assert emulator.principal_client_secret not in text
        assert not re.search(r"eyJ[\w-]+\.[\w-]+", text), "an access token reached the output"
        assert "Bearer" not in text


def test_cli_end_to_end_on_the_sandbox(graph_emulator, sandbox_dir):
    table = run_cli(sandbox_dir, "sandbox")
    assert table.returncode == 1, table.stderr
    assert "users checked                                  9" in table.stdout
    assert "carol@contoso.example" in table.stdout and "frank@contoso.example" in table.stdout
    assert "Error: 6 user(s) of sandbox will not be able to sign in" in table.stderr
    assert "checked 9 users" not in table.stderr  # no progress line when stderr is not a terminal

    as_json = run_cli(sandbox_dir, "sandbox", "--format", "json")
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["counts"]["usersChecked"] == 9
    as_csv = run_cli(sandbox_dir, "sandbox", "--format", "csv")
    assert as_csv.stdout.splitlines()[0].startswith("kind,userPrincipalName")

    assert run_cli(sandbox_dir, "sandbox", "--warn-only").returncode == 0
    assert run_cli(sandbox_dir, "sandbox", "--max-problems", "6").returncode == 0
    assert run_cli(sandbox_dir, "sandbox", "--max-problems", "5").returncode == 1
    assert_no_secrets(graph_emulator, table.stdout, table.stderr, as_json.stdout, as_json.stderr, as_csv.stdout)


def test_cli_exits_2_on_unknown_names_and_missing_credentials(graph_emulator, sandbox_dir, tmp_path):
    project = tmp_path / "project"
    (project / "envs").mkdir(parents=True)
    (project / "envs" / "sandbox.yaml").write_text(
        SANDBOX_YAML.replace("    - SOC Analysts\n", "    - SOC Analyst\n"), encoding="utf-8")
    unknown = run_cli(sandbox_dir, "sandbox", project=project)
    assert unknown.returncode == 2
    assert "no group named 'SOC Analyst'" in unknown.stderr and "did you mean 'SOC Analysts'" in unknown.stderr
    assert unknown.stdout == ""

    no_secret = tmp_path / "no-secret"
    no_secret.mkdir()
    write_endpoints(no_secret, graph_emulator, ARM_CLIENT_SECRET=None, ARM_CLIENT_ID=None)
    missing = run_cli(no_secret, "sandbox")
    assert missing.returncode == 2
    assert "no Microsoft Graph credentials found" in missing.stderr and "ARM_CLIENT_SECRET" in missing.stderr

    wrong = tmp_path / "wrong-secret"
    wrong.mkdir()
    write_endpoints(wrong, graph_emulator, ARM_CLIENT_SECRET="Wr0ng~secret-value-that-is-not-it")
    refused = run_cli(wrong, "sandbox")
    assert refused.returncode == 2 and "AADSTS7000215" in refused.stderr
    assert "Wr0ng~secret-value-that-is-not-it" not in refused.stderr + refused.stdout
    assert_no_secrets(graph_emulator, unknown.stderr, missing.stderr, refused.stderr)


def test_cli_shows_progress_when_stderr_is_a_terminal(graph_emulator, sandbox_dir):
    controller, terminal = pty.openpty()
    try:
        result = run_cli(sandbox_dir, "sandbox", "--warn-only", stderr=terminal)
        os.close(terminal)
        terminal = -1
        shown = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:
                break
            if not chunk:
                break
            shown += chunk
    finally:
        if terminal != -1:
            os.close(terminal)
        os.close(controller)
    assert result.returncode == 0
    assert b"\rchecked " in shown and b" users (" in shown
    assert "\rchecked" not in result.stdout and "pages)" not in result.stdout  # never mixed with the report
