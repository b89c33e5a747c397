"""End to end: `status --all` and `plan --all` over a fleet of three environments, one broken on purpose.

Real Terraform on the sandbox: `sandbox` applied, `sandbox-b` (a sub-community of the same Sekoia.io
account, so the same API key) rendered and never applied, and a third one broken (bad YAML for status,
a stale render for plan). The Sekoia.io emulator's WAF holds the key to Sekoia.io's own budget (more
than 4 requests in one second blocks it), which only a rate limiter shared by the environments keeps.
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path

import pytest

from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import alive, apply, descendants, runs_fixture  # noqa: F401 - the fixture `runs`

pytestmark = pytest.mark.timeout(900)

SUB_COMMUNITY = "5d2e7f80-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
PREFIXED = re.compile(r"^\[([a-z0-9-]+)\] ")


def add_second_environment(runs, sekoia_emulator) -> None:
    """envs/sandbox-b.yaml: another application and community, the same tenant and API key; rendered."""
    sekoia_emulator.add_community("Fleet B", uuid=SUB_COMMUNITY, parent_uuid=DEMO_COMMUNITY_UUID,
                                  roles={"Analyst": []})
    text = (runs.project / "envs" / "sandbox.yaml").read_text()
    text = text.replace(DEMO_COMMUNITY_UUID, SUB_COMMUNITY).replace("Sekoia.io SSO (sandbox)", "Sekoia.io SSO (b)")
    (runs.project / "envs" / "sandbox-b.yaml").write_text(text)
    rendered = runs("render", "sandbox-b")
    assert rendered.returncode == 0, rendered.err


def blocks_of(err: str) -> list[str]:
    """The environments' names in the order their stderr blocks appear, one entry per block."""
    order: list[str] = []
    for line in err.splitlines():
        found = PREFIXED.match(line)
        assert found, f"an unprefixed line on stderr: {line!r}"
        if not order or order[-1] != found.group(1):
            order.append(found.group(1))
    return order


def test_status_all_one_table_worst_exit_code_blocks_kept_together_and_the_waf_never_trips(runs, sekoia_emulator):
    done = apply(runs)
    assert done.returncode == 0, done.err
    add_second_environment(runs, sekoia_emulator)
    (runs.project / "envs" / "broken.yaml").write_text("tenant_id: [unclosed\n")
    sekoia_emulator.rate_limit = 4  # Sekoia.io's budget: fewer than 5 requests a second per key
    sekoia_emulator.clear_requests()
    time.sleep(1.2)  # out of the window of the last requests of apply (another process: a limiter of its own)

    status = runs("status", "--all", "--jobs", "3")
    assert status.returncode == 1, status.err  # the worst of 2 (broken), 1 (sandbox-b not applied) and 0
    assert "Traceback" not in status.err
    lines = status.out.splitlines()
    assert lines[0].split() == ["environment", "outcome", "exit", "time", "summary"]
    rows = {line.split()[0]: line for line in lines[1:-1]}
    assert set(rows) == {"broken", "sandbox", "sandbox-b"}
    assert "bad config" in rows["broken"] and "envs/broken.yaml" in rows["broken"]
    all_ok = re.search(r" ok .* all (\d+) parts ok", rows["sandbox"])
    assert all_ok, status.err
    assert "failed" in rows["sandbox-b"] and "terraform plan" in rows["sandbox-b"]
    assert lines[-1] == "3 environment(s): 1 bad config, 1 ok, 1 failed; exit 1"
    assert sorted(blocks_of(status.err)) == ["broken", "sandbox", "sandbox-b"]  # one block each
    assert "[sandbox] ==> Status of environment sandbox" in status.err

    throttled = [r for r in sekoia_emulator.requests if r.status == 429]
    assert throttled == [] and len(sekoia_emulator.requests) >= 8  # 4 reads per status of an environment

    # Another process has a limiter of its own: like CI jobs sharing a key, it must stay out of the last one's window.
    time.sleep(1.2)
    as_json = runs("status", "--all", "--json")
    document = json.loads(as_json.stdout)  # exactly one document on stdout
    assert as_json.returncode == document["exit_code"] == 1
    by_name = {row["name"]: row for row in document["environments"]}
    assert [row["name"] for row in document["environments"]] == ["broken", "sandbox", "sandbox-b"]
    assert by_name["broken"]["exit_code"] == 2 and by_name["broken"]["result"] is None
    checks = by_name["sandbox"]["result"]["checks"]
    assert by_name["sandbox"]["result"]["counts"] == {"ok": len(checks)} == {"ok": int(all_ok[1])}, checks
    assert "login readiness" in {check["part"] for check in checks}  # the table counted the same parts
    assert by_name["sandbox-b"]["outcome"] == "failed"
    assert [r for r in sekoia_emulator.requests if r.status == 429] == []


def test_plan_all_with_a_stale_render_is_that_rows_failure(runs, sekoia_emulator):
    add_second_environment(runs, sekoia_emulator)
    stale = runs.project / "envs" / "stale.yaml"
    stale.write_text((runs.project / "envs" / "sandbox.yaml").read_text()
                     .replace(DEMO_COMMUNITY_UUID, "6e3f8091-2b3c-4d4e-9fa0-1b2c3d4e5f60"))
    assert runs("render", "stale").returncode == 0
    stale.write_text(stale.read_text().replace("display_name: ", "display_name: Renamed ", 1))  # not rendered

    planned = runs("plan", "--all", "--json", "--jobs", "2")
    document = json.loads(planned.stdout)
    assert planned.returncode == document["exit_code"] == 1, planned.err
    by_name = {row["name"]: row for row in document["environments"]}
    assert set(by_name) == {"sandbox", "sandbox-b", "stale"}
    for name in ("sandbox", "sandbox-b"):
        assert by_name[name]["exit_code"] == 0
        assert by_name[name]["result"]["counts"]["create"] > 0
        assert by_name[name]["summary"].startswith(f"{by_name[name]['result']['counts']['create']} to create")
    assert by_name["stale"]["exit_code"] == 1 and "stale" in by_name["stale"]["summary"]
    assert by_name["stale"]["result"] is None
    assert sorted(blocks_of(planned.err)) == ["sandbox", "sandbox-b", "stale"]

    single = runs("plan", "sandbox", "--json")  # `plan ENV` unchanged: the same document as a row's
    assert single.returncode == 0, single.err
    assert json.loads(single.stdout)["counts"] == by_name["sandbox"]["result"]["counts"]


def terraform_plans_under(pid: int) -> list[int]:
    """The `terraform plan` processes below `pid`."""
    found = []
    for child in descendants(pid):
        try:
            argv = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if len(argv) > 1 and argv[0].endswith(b"terraform") and argv[1] == b"plan" and alive(child):
            found.append(child)
    return found


def test_ctrl_c_stops_every_environment_terraform_included(runs, sekoia_emulator):
    add_second_environment(runs, sekoia_emulator)
    running = runs.start("plan", "--all", "--jobs", "2")
    deadline = time.monotonic() + 120
    while not terraform_plans_under(running.process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    plans = terraform_plans_under(running.process.pid)
    assert plans, running.err
    running.signal(signal.SIGINT)  # the CLI's group only, as a terminal's Ctrl-C: Terraform runs in its own
    done = running.finish(timeout=120)
    assert done.returncode == 130, done.err
    assert "Interrupted." in done.err and "Traceback" not in done.err
    assert "stopped on request" in done.err  # the environments stopped say so, in their own blocks
    assert not [pid for pid in plans if alive(pid)]
    assert running.wait_descendants_gone() == []
    assert runs.plain_plan().has_changes  # the state lock was released: a plan after it takes it
