"""The client secret's whole life without a commit, end to end: no run ever cuts SSO logins.

Each test runs the CLI as processes on the sandbox (real Terraform through the emulated provider)
while a SecretMonitor samples, every 5 ms, whether Entra ID accepts the secret Sekoia.io holds.
New secrets take 1.5 s to reach the token endpoint here (Entra ID: 4-18 s), so a push that does
not wait shows up as bad samples. `bad_after_good` must be 0: a run may find logins broken (a
secret deleted in the portal) and must repair them, never break them. The `runs` fixture scans
everything printed and written for every secret.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import tarfile
import time

import pytest

from orchestrator.terraform.planview import PlanSummary, ResourceChange
from orchestrator.workflows.client_secret import Ledger, SecretPlan, password_address
from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import Baseline, SecretMonitor, apply, converged_problems, tenant_counts
from tests.harness.fixtures_sandbox import run_terraform
from tests.harness.project import REPO

pytestmark = pytest.mark.timeout(600)

PROPAGATION_MS = 1500
# The files a user of version 0.1 (one secret slot) had in their repository, as that release wrote
# them: kept as the archive of a release, not as code we maintain, since none of it may change.
LAYOUT_V1_ARCHIVE = REPO / "tests" / "data" / "layout-v1.tar.gz"


@pytest.fixture
def watch(graph_emulator, sekoia_emulator):
    graph_emulator.configure(secret_propagation_ms=PROPAGATION_MS)
    with SecretMonitor(graph_emulator, sekoia_emulator) as monitor:
        yield monitor


def commit_all(project) -> None:
    git = ["git", "-C", str(project), "-c", "user.name=ci", "-c", "user.email=ci@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "the reviewed revision"], check=True)


def git_status(project) -> str:
    return subprocess.run(["git", "-C", str(project), "status", "--porcelain"], capture_output=True, text=True,
                          check=True).stdout


def committed(project):
    """What a CI runner's checkout holds: mounted read-only for the CLI."""
    return [project / "envs", project / "terraform", project / "templates"]


def our_application(graph) -> dict:
    return next(a for a in graph.state.applications.values() if "sekoia-sso:sandbox" in (a.get("tags") or []))


def credential(graph, key_id: str) -> dict:
    return next(c for c in our_application(graph)["passwordCredentials"] if c["keyId"] == key_id)


def held_key(runs) -> str:
    return runs.outputs()["sekoia_pushed_secret_key_id"]


def sekoia_accepted(graph, sekoia) -> bool:
    """A bare bool: pytest would print the secret of a failed comparison."""
    configured = sekoia.sso_configuration(DEMO_COMMUNITY_UUID)
    return graph.accepts_secret(configured["client_id"], sekoia.sso_secret(DEMO_COMMUNITY_UUID))


def in_days(days: float) -> str:
    return (dt.datetime.now(dt.UTC) + dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_every_push_waits_until_entra_id_accepts_the_new_secret(runs, graph_emulator, sekoia_emulator, watch):
    graph_emulator.configure(secret_propagation_ms=8000)  # longer than the apply takes to reach the push
    first = apply(runs)
    assert first.returncode == 0, first.err[-3000:]
    assert "Entra ID accepts the secret with key ID" in first.err and "(after " in first.err
    assert watch.samples > 0 and watch.bad == 0, (watch.samples, watch.bad)
    assert tenant_counts(graph_emulator)["passwords"] == 2  # blue and green, always
    assert sekoia_accepted(graph_emulator, sekoia_emulator)


def test_rotate_on_a_read_only_checkout_changes_no_file_and_never_cuts_logins(
        runs, graph_emulator, sekoia_emulator, watch):
    assert apply(runs).returncode == 0
    commit_all(runs.project)
    before = runs.outputs()
    old_secret = sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID)
    rotated = runs("rotate", "sandbox", "--yes", "--json", read_only=committed(runs.project))
    assert rotated.returncode == 0, rotated.err[-3000:]
    result = json.loads(rotated.out)
    after = runs.outputs()
    assert result["client_secret_key_id"] == after["sekoia_pushed_secret_key_id"] != before[
        "sekoia_pushed_secret_key_id"]
    assert result["days_left"] > 179
    assert git_status(runs.project) == "" and "No file changed" in rotated.err
    assert runs("check", "--all").returncode == 0
    # Sekoia.io holds the new secret; the one it held before no longer logs anyone in
    assert sekoia_accepted(graph_emulator, sekoia_emulator)
    assert not graph_emulator.accepts_secret(after["client_id"], old_secret)
    assert tenant_counts(graph_emulator)["passwords"] == 2
    assert watch.bad == 0, f"{watch.bad} of {watch.samples} samples: Sekoia.io held a refused secret"
    assert after.get("sekoia_secret_handover") is None  # Terraform omits a null output


def test_applying_the_committed_revision_after_a_rotation_changes_nothing(runs, graph_emulator, sekoia_emulator,
                                                                         watch):
    assert apply(runs).returncode == 0
    commit_all(runs.project)
    assert runs("rotate", "sandbox", "--yes").returncode == 0
    sekoia_emulator.clear_requests()
    again = apply(runs, "--json")
    assert again.returncode == 0, again.err[-3000:]
    assert "Nothing to do" in again.err and json.loads(again.out)["terraform"]["applied"] is False
    assert sekoia_emulator.write_requests == []
    assert watch.bad == 0 and git_status(runs.project) == ""


def test_apply_rotates_inside_the_window_on_a_read_only_checkout_and_says_so_first(
        runs, graph_emulator, sekoia_emulator, watch):
    assert apply(runs).returncode == 0
    commit_all(runs.project)
    held = held_key(runs)
    credential(graph_emulator, held)["endDateTime"] = in_days(5)  # the window is 30 days
    status = runs("status", "sandbox", "--json")
    part = next(c for c in json.loads(status.out)["checks"] if c["part"] == "client secret")
    assert part["state"] == "warning" and "5 days left" in part["detail"]
    done = apply(runs, read_only=committed(runs.project))
    assert done.returncode == 0, done.err[-3000:]
    assert "Rotation: the secret of slot" in done.out and "is replaced" in done.out  # in the combined plan
    assert "rotating it" in done.err
    assert held_key(runs) != held and git_status(runs.project) == ""
    assert watch.bad == 0 and sekoia_accepted(graph_emulator, sekoia_emulator)
    assert runs("status", "sandbox").returncode == 0


def test_plan_inside_the_window_says_that_apply_will_rotate(runs, graph_emulator):
    assert apply(runs).returncode == 0
    credential(graph_emulator, held_key(runs))["endDateTime"] = in_days(3)
    # `plan` reads the state, not Entra ID: what it knows of the end date is what the last apply recorded
    planned = runs("plan", "sandbox", "--json")
    assert planned.returncode == 0, planned.err
    assert json.loads(planned.out)["client_secret"]["rotation_due"] is False
    yaml_path = runs.project / "envs" / "sandbox.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("validity_days: 180", "validity_days: 200").replace(
        "rotate_before_days: 30", "rotate_before_days: 190"))
    assert runs("render", "sandbox").returncode == 0
    planned = runs("plan", "sandbox")
    assert planned.returncode == 0, planned.err
    assert "Client secret: Rotation: the secret of slot" in planned.out and "(window: 190 days)" in planned.out


def test_the_held_secret_deleted_in_the_portal_status_says_so_and_apply_recovers(
        runs, graph_emulator, sekoia_emulator, watch):
    assert apply(runs).returncode == 0
    held = held_key(runs)
    graph_emulator.state.remove_password(our_application(graph_emulator), {"keyId": held})  # the portal
    watch.restart()
    status = runs("status", "sandbox", "--json")
    assert status.returncode == 1, status.err[-3000:]
    document = json.loads(status.out)  # one JSON document, even so
    part = next(c for c in document["checks"] if c["part"] == "client secret")
    assert part["state"] == "problem" and "deleted outside Terraform" in part["detail"], part
    assert "`sekoia-sso apply sandbox` recreates it" in part["detail"]
    text = runs("status", "sandbox")
    assert text.returncode == 1 and "Traceback" not in text.err

    done = apply(runs)
    assert done.returncode == 0, done.err[-3000:]
    assert "SSO logins are broken now" in done.out and "SSO logins were broken until now" in done.out
    assert sekoia_accepted(graph_emulator, sekoia_emulator)
    assert watch.bad_after_good == 0
    assert tenant_counts(graph_emulator)["passwords"] == 2
    assert runs("status", "sandbox").returncode == 0


def test_a_plan_that_replaces_the_held_secret_moves_sekoia_to_a_fresh_one_first(
        runs, graph_emulator, sekoia_emulator, watch):
    baseline = Baseline.of(graph_emulator)
    assert apply(runs).returncode == 0
    held = held_key(runs)
    # Any change Entra ID shows on the secret that forces Terraform to replace it (here its display name).
    credential(graph_emulator, held)["displayName"] = "renamed in the portal"
    done = apply(runs)
    assert done.returncode == 0, done.err[-3000:]
    assert "The plan replaces the secret Sekoia.io holds" in done.out
    assert "moving Sekoia.io to a fresh secret first" in done.err
    assert held_key(runs) != held
    assert watch.bad == 0, f"{watch.bad} of {watch.samples} samples: Sekoia.io held a refused secret"
    problems, _ = converged_problems(runs, graph_emulator, sekoia_emulator, baseline)
    assert problems == [], problems
    assert runs.plain_plan().has_changes is False


def test_a_secret_nobody_rotated_for_months_is_recovered_by_apply(runs, graph_emulator, sekoia_emulator, watch):
    assert apply(runs).returncode == 0
    for item in our_application(graph_emulator)["passwordCredentials"]:
        item["endDateTime"] = in_days(-3)  # both slots expired
    watch.restart()
    done = apply(runs)
    assert done.returncode == 0, done.err[-3000:]
    assert "SSO logins are broken now" in done.out and "expired on" in done.out
    assert "SSO logins were broken until now" in done.out
    assert "rotating it" in done.err
    assert sekoia_accepted(graph_emulator, sekoia_emulator)
    slots = Ledger.read(runs.outputs()).slots
    assert all(slot.days_left > 179 for slot in slots), [s.to_dict() for s in slots]
    assert watch.bad_after_good == 0
    assert runs("status", "sandbox").returncode == 0


def test_rotate_refused_by_sekoia_keeps_the_old_secret_and_a_rerun_finishes(runs, graph_emulator, sekoia_emulator,
                                                                          watch):
    assert apply(runs).returncode == 0
    held = held_key(runs)
    sekoia_emulator.fail_next(503, operation="write_sso", times=1)
    broken = runs("rotate", "sandbox", "--yes")
    assert broken.returncode == 1, broken.err[-3000:]
    assert held_key(runs) == held and sekoia_accepted(graph_emulator, sekoia_emulator)
    status = runs("status", "sandbox", "--json")
    part = next(c for c in json.loads(status.out)["checks"] if c["part"] == "client secret")
    assert part["state"] == "warning" and "hand-over" in part["detail"]
    resumed = runs("rotate", "sandbox", "--yes")
    assert resumed.returncode == 0, resumed.err[-3000:]
    assert "Finishing the interrupted hand-over" in resumed.err
    assert held_key(runs) != held and tenant_counts(graph_emulator)["passwords"] == 2
    assert watch.bad == 0


def test_an_environment_of_the_one_slot_layout_upgrades_without_a_new_secret_for_sekoia(
        runs, sandbox, graph_emulator, sekoia_emulator, watch, tmp_path):
    """Applied and connected by version 0.1 (one slot `blue`, `secret.slots` in the YAML), then upgraded."""
    project = runs.project
    root = project / "terraform" / "envs" / "sandbox"
    module = project / "terraform" / "modules" / "sekoia-sso"
    new_module = project / "module-new"
    shutil.move(module, new_module)
    layout_v1 = tmp_path / "layout-v1"
    with tarfile.open(LAYOUT_V1_ARCHIVE) as archive:
        archive.extractall(layout_v1, filter="data")
    shutil.copytree(layout_v1 / "modules" / "sekoia-sso", module)
    for name in ("main.tf", "outputs.tf", "versions.tf"):
        shutil.copy(layout_v1 / "envs" / "sandbox" / name, root / name)
    state = runs.state_path
    state.parent.mkdir(parents=True, exist_ok=True)
    backend = ["-backend-config", f"path={state}"]
    run_terraform(sandbox, root, "init", *backend)
    run_terraform(sandbox, root, "apply", "-auto-approve")
    outputs = json.loads(run_terraform(sandbox, root, "output", "-json").stdout)
    old_key = outputs["client_secret_key_id"]["value"]
    # what 0.1's connect did: the OIDC settings with the secret, then the key ID recorded in the state
    _configure_sso_as_version_0_1(sekoia_emulator, outputs)
    run_terraform(sandbox, root, "apply", "-auto-approve", "-replace=terraform_data.sekoia_pushed_secret",
                  env={"TF_VAR_sekoia_pushed_secret_key_id": old_key})
    shutil.rmtree(root / ".terraform")
    (root / ".terraform.lock.hcl").unlink(missing_ok=True)
    history = sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID)
    # 0.1 pushed without waiting for Entra ID: that is 0.1's doing, not the upgrade's
    deadline = time.monotonic() + PROPAGATION_MS / 1000 + 5
    while not sekoia_accepted(graph_emulator, sekoia_emulator) and time.monotonic() < deadline:
        time.sleep(0.1)
    watch.restart()

    # the upgrade: the new module, the YAML's slots key refused with what to do, then removed
    shutil.rmtree(module)
    shutil.move(new_module, module)
    yaml_path = project / "envs" / "sandbox.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("  rotate_before_days: 30\n",
                                                       "  rotate_before_days: 30\n  slots: [blue]\n"))
    refused = runs("render", "sandbox")
    assert refused.returncode == 2 and "secret.slots: no longer used" in refused.err
    yaml_path.write_text(yaml_path.read_text().replace("  slots: [blue]\n", ""))
    assert runs("render", "sandbox").returncode == 0
    done = apply(runs)
    assert done.returncode == 0, done.err[-3000:]
    assert held_key(runs) == old_key
    assert sekoia_emulator.sso_secret_history(DEMO_COMMUNITY_UUID) == history  # no new secret pushed
    assert tenant_counts(graph_emulator)["passwords"] == 2
    assert watch.bad == 0 and sekoia_accepted(graph_emulator, sekoia_emulator)
    assert runs("status", "sandbox").returncode == 0
    rotated = runs("rotate", "sandbox", "--yes")
    assert rotated.returncode == 0 and watch.bad == 0, rotated.err[-4000:]


def _configure_sso_as_version_0_1(sekoia, outputs) -> None:
    import httpx

    community = f"{sekoia.url}/v1/communities/{DEMO_COMMUNITY_UUID}"
    headers = {"Authorization": f"Bearer {sekoia.demo_api_key}"}
    sekoia.seed_domain(DEMO_COMMUNITY_UUID, "contoso.example", status="verified")
    roles = httpx.get(f"{community}/roles", headers=headers).raise_for_status().json()
    role = next(r["uuid"] for r in roles["items"] if r["name"] == "Analyst")
    httpx.put(f"{community}/sso", headers=headers, json={
        "enabled": True, "provider_url": outputs["tenant_endpoint"]["value"],
        "client_id": outputs["client_id"]["value"], "client_secret": outputs["client_secret"]["value"],
        "jit_provisioning": True, "default_role_uuid": role}).raise_for_status()


# ---- what the combined plan says, from real plan summaries -----------------------------------


def _ledger(pushed="k-blue", blue_days=100.0, green_days=150.0) -> Ledger:
    return Ledger.read({
        "secrets": {"blue": {"key_id": "k-blue", "start_date": "2026-01-01T00:00:00Z", "end_date": in_days(blue_days)},
                    "green": {"key_id": "k-green", "start_date": "2026-02-01T00:00:00Z",
                              "end_date": in_days(green_days)}},
        "sekoia_pushed_secret_key_id": pushed})


def test_a_replaced_application_is_said_in_words_a_reviewer_cannot_miss():
    summary = PlanSummary(resource_changes=(
        ResourceChange("module.sekoia_sso.azuread_application.this", "replace"),
        ResourceChange(password_address("blue"), "replace"), ResourceChange(password_address("green"), "replace")))
    plan = SecretPlan.of(_ledger(), summary, rotate_before_days=30, applied=True)
    assert plan.application_replaced and not plan.threatened
    assert "THE APPLICATION IS REPLACED" in plan.lines()[0] and "SSO logins FAIL" in plan.lines()[0]


@pytest.mark.parametrize(("action", "threatened"), [("replace", True), ("delete", True), ("update", False)])
def test_only_a_plan_that_removes_the_held_secret_asks_for_a_move_first(action, threatened):
    summary = PlanSummary(resource_changes=(ResourceChange(password_address("blue"), action),))
    assert SecretPlan.of(_ledger(), summary, rotate_before_days=30, applied=True).threatened is threatened
    standby = PlanSummary(resource_changes=(ResourceChange(password_address("green"), action),))
    assert SecretPlan.of(_ledger(), standby, rotate_before_days=30, applied=True).threatened is False


def test_the_secret_to_push_prefers_an_interrupted_hand_over_then_the_held_then_the_newest_usable():
    assert _ledger().to_push().name == "blue"
    interrupted = Ledger.read({**_outputs_of(_ledger()), "sekoia_secret_handover": {"pushing": "k-green"}})
    assert interrupted.to_push().name == "green" and interrupted.protected == {"k-blue", "k-green"}
    assert interrupted.retiring_slot() is None  # nothing is retired while Sekoia.io may hold either
    assert _ledger(blue_days=-1).to_push().name == "green"  # the held one expired
    assert _ledger(pushed="gone").to_push().name == "green"  # the held one was deleted: the newest usable
    assert _ledger(blue_days=-1, green_days=-1).to_push() is None
    retired = Ledger.read({**_outputs_of(_ledger(pushed="k-green")), "sekoia_secret_handover": {"retiring": "k-blue"}})
    assert retired.retiring_slot().name == "blue"


def _outputs_of(ledger: Ledger) -> dict:
    return {"secrets": {s.name: {"key_id": s.key_id, "start_date": s.start_date, "end_date": s.end_date}
                        for s in ledger.slots}, "sekoia_pushed_secret_key_id": ledger.pushed}
