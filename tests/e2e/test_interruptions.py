"""Interruptions: SIGINT and SIGKILL at seeded points of `apply`, `rotate` and `destroy`, then a re-run.

Each scenario runs the three commands in turn on one throwaway project, interrupting each once:
the CLI is started in its own process group (as a shell starts a job) and, once a given step line
shows on stderr and a seeded delay has passed, gets SIGINT (a terminal's Ctrl-C: the CLI forwards
it to Terraform and waits) or SIGKILL (`kill -9` of the job; with `whole tree`, Terraform and its
provider die too, as when the machine or the CI runner dies). Then:

- the interrupted run printed no traceback (SIGINT: "Interrupted.", exit 130);
- no Terraform state lock is held: a plain plan (lock taken, not waited for) works at once;
- Sekoia.io never holds a secret Entra ID refuses once it held a good one (SecretMonitor, every 5 ms),
  nor does Entra ID ever remove the secret Sekoia.io holds;
- one re-run of the same command exits 0, and then: no lock info file, no Entra ID object that the
  Terraform state does not know; after apply and rotate exactly one application, service principal,
  the three assignments, a secret per slot, Sekoia.io holding one Entra ID accepts (after rotate, a new one), and an
  empty plan; after destroy nothing of ours left in the tenant and SSO off in Sekoia.io.

Figures (runs, signals sent, runs converged, duplicates found) are printed in the terminal summary.
"""

from __future__ import annotations

import random
import signal
import time
from dataclasses import dataclass

import pytest

from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import (
    Baseline,
    SecretMonitor,
    apply,
    clean_failure,
    converged_problems,
    orphaned_objects,
)

pytestmark = pytest.mark.timeout(900)

APPLY = ("apply", "sandbox", "--yes", "--warn-only", "--timeout", "30s")
ROTATE = ("rotate", "sandbox", "--yes")
DESTROY = ("destroy", "sandbox", "--yes", "--confirm", "sandbox")
# The step lines each command prints, in order: where a signal may land.
MARKERS = {
    "apply": ("==> Planning the Terraform changes", "==> Applying the saved Terraform plan",
              "==> Waiting until Entra ID serves", "==> Configuring Sekoia.io", "Recording key ID",
              "==> Verifying that Sekoia.io holds", "==> Checking login readiness"),
    "rotate": ("==> Rotating: slot", "a fresh secret (rotation)", "Entra ID accepts the secret",
               "OIDC settings written", "Recording key ID", "a fresh secret (Sekoia.io no longer uses"),
    "destroy": ("==> Disabling SSO in Sekoia.io", "==> Destroying the Terraform resources"),
}
# What each command prints on stdout once its work is all done.
FINISHED = {"apply": "Environment sandbox is configured.", "rotate": "Rotated: ", "destroy": "is destroyed"}
SLOW_SEEDS = range(100, 120)


@dataclass(frozen=True)
class Interruption:
    command: str
    signum: int
    marker: str
    delay: float
    whole_tree: bool = False  # SIGKILL to Terraform and its provider too (their own process group)

    def describe(self) -> str:
        what = signal.Signals(self.signum).name + (" (whole tree)" if self.whole_tree else "")
        return f"{self.command}: {what} {self.delay:.2f}s after {self.marker!r}"


def draw(seed: int) -> list[Interruption]:
    rng = random.Random(seed)
    plan = []
    for command in ("apply", "rotate", "destroy"):
        signum = rng.choice([signal.SIGINT, signal.SIGKILL])
        plan.append(Interruption(command, signum, rng.choice(MARKERS[command]), round(rng.uniform(0.0, 2.0), 2),
                                 whole_tree=signum == signal.SIGKILL and rng.random() < 0.5))
    return plan


def quick_plan(seed: int) -> list[Interruption]:
    """`make test`'s cases: the hard spots, at seeded delays — Terraform killed mid-create during apply
    (objects made but not recorded), rotate killed while it replaces the old secret (Sekoia.io already on
    the new one, the hand-over not yet cleared), Ctrl-C while destroy runs Terraform."""
    rng = random.Random(seed)
    return [
        Interruption("apply", signal.SIGKILL, "==> Applying the saved Terraform plan",
                     round(rng.uniform(0.2, 1.2), 2), whole_tree=True),
        Interruption("rotate", signal.SIGKILL, "a fresh secret (Sekoia.io no longer uses",
                     round(rng.uniform(0.2, 1.2), 2), whole_tree=True),
        Interruption("destroy", signal.SIGINT, "==> Destroying the Terraform resources",
                     round(rng.uniform(0.1, 0.6), 2)),
    ]


class SecretWatch:
    """Records every moment Entra ID removes the secret Sekoia.io holds (it must never happen)."""

    def __init__(self, graph, sekoia):
        self.violations: list[str] = []
        state = graph.state
        original = state.remove_password

        def watched_remove(owner, body):
            key_id = body.get("keyId") if isinstance(body, dict) else None
            if key_id and state.password_secrets.get(key_id) == sekoia.sso_secret(DEMO_COMMUNITY_UUID):
                self.violations.append(f"Entra ID removed key {key_id}, the secret Sekoia.io holds")
            return original(owner, body)

        state.remove_password = watched_remove


def interrupt(runs, args: tuple[str, ...], case: Interruption) -> tuple[object, bool]:
    """Start the command, signal it at the case's point; (the finished run, whether the signal was sent)."""
    running = runs.start(*args)
    seen = running.wait_for_line(case.marker, timeout=180)
    if not seen:
        done = running.finish()
        assert done.returncode == 0, f"{case.describe()}: ended before the marker:\n{done.err[-3000:]}"
        raise AssertionError(f"{case.describe()}: the marker never showed; the steps printed:\n{done.err[-3000:]}")
    time.sleep(case.delay)
    sent = running.process.poll() is None
    if sent:
        running.signal(case.signum, whole_tree=case.whole_tree)
    done = running.finish()
    # SIGKILL spares what runs in its own process group (Terraform, its provider) unless it is the whole
    # tree; they die soon (a broken pipe) or finish. What still lives after a while is killed here.
    running.wait_descendants_gone(timeout=15)
    running.kill_descendants()
    return done, sent


def check_interrupted(done, case: Interruption, sent: bool) -> None:
    context = f"{case.describe()}:\n{done.err[-3000:]}"
    assert "Traceback (most recent call last)" not in done.err, context
    if not sent:
        assert done.returncode == 0, context
    elif case.signum == signal.SIGKILL:
        assert done.returncode in (-signal.SIGKILL, 0), context
    elif done.returncode == -signal.SIGINT:
        # Ctrl-C after the command had returned, as the interpreter exits: Python dies of the signal
        # (its documented way out of an unhandled Ctrl-C). Only acceptable with the work all done.
        assert FINISHED[case.command] in done.out, context
    else:
        # Ctrl-C during a step: "Interrupted." and 130 (the CLI stops Terraform first and waits for it);
        # 0 when the run was already past its last step; 1 only as one clean `Error:` paragraph.
        assert done.returncode in (130, 0, 1), context
        if done.returncode == 130:
            assert done.err.rstrip().endswith("Interrupted."), context
        if done.returncode == 1:
            assert clean_failure(done) is None, context


def check_lock_free(runs) -> None:
    """A plain plan takes the state lock at once: nobody holds it."""
    runs.plain_plan()  # StateLockedError (the test fails) if the lock is held


def run_scenario(label: str, cases: list[Interruption], runs, graph, sekoia, evidence, *,
                 replication_delay_ms: float) -> None:
    tally = evidence.tally(label)
    baseline = Baseline.of(graph)
    # Entra ID's replication delay: each create waits for its object to show, as against the real
    # service, which holds a kill's window open between the create and Terraform recording it.
    # Half the new objects lag (seeded): the real provider fails a lagging service principal outright (its
    # PATCH after the create does not retry 404), which apply then waits out; with every object lagging,
    # each replacement would lag too and no number of attempts would do.
    graph.configure(replication_delay_ms=replication_delay_ms, replication_lag_share=0.5)
    watch = SecretWatch(graph, sekoia)
    with SecretMonitor(graph, sekoia) as monitor:
        _run_cases(cases, runs, graph, sekoia, tally, baseline, watch, monitor)


def _run_cases(cases, runs, graph, sekoia, tally, baseline, watch, monitor) -> None:
    history: list[str] = []
    args = {"apply": APPLY, "rotate": ROTATE, "destroy": DESTROY}
    for case in cases:
        if case.command == "rotate":
            key_before = runs.outputs()["client_secret_key_id"]
        tally.runs += 1
        done, sent = interrupt(runs, args[case.command], case)
        history.append(f"{case.describe()}: {'sent' if sent else 'the run had finished'}, exit {done.returncode}")
        if sent:
            tally.faults[signal.Signals(case.signum).name + (" whole tree" if case.whole_tree else "")] += 1
        else:
            tally.notes["signals too late (run already done)"] += 1
        context = "\n".join(history)
        check_interrupted(done, case, sent)
        if sent and done.returncode == -signal.SIGINT:
            tally.notes["Ctrl-C as the CLI exited, work done"] += 1
        check_lock_free(runs)
        if case.command == "rotate":
            assert monitor.bad_after_good == 0, f"{context}\nSekoia.io held a secret Entra ID refused"

        again = runs(*args[case.command])
        history.append(f"  re-run: exit {again.returncode}")
        context = "\n".join(history)
        assert again.returncode == 0, f"{context}\n{again.err[-3000:]}"
        tally.notes["objects adopted by re-runs"] += again.err.count("    adopted ")
        tally.notes["unrecorded secrets removed by re-runs"] += again.err.count("    removed secret ")
        if case.command == "destroy":
            made = baseline.made(graph)
            assert made == {"applications": [], "service_principals": []}, context
            assert sekoia.sso_configuration(DEMO_COMMUNITY_UUID) is None, context
        else:
            problems, duplicates = converged_problems(runs, graph, sekoia, baseline)
            tally.duplicates += duplicates
            assert problems == [], f"{context}\n{problems}"
            assert runs.plain_plan().has_changes is False, f"{context}\nthe plan after the re-run is not empty"
        assert orphaned_objects(runs, graph, baseline) == [], context
        assert not runs.lock_info_path.exists(), f"{context}\nthe state lock info file is still there"
        if case.command == "rotate":
            rotated = runs.outputs()["client_secret_key_id"] != key_before  # key IDs: no secret in a failure text
            assert rotated, f"{context}\nthe live secret is still the one from before the rotation"
            assert runs("check", "sandbox").returncode == 0, f"{context}\nthe committed render is stale"
        assert watch.violations == [], f"{context}\n{watch.violations}"
        assert monitor.bad_after_good == 0, f"{context}\nSekoia.io held a secret Entra ID refused"
        tally.converged += 1


def test_objects_a_killed_run_left_outside_the_state_are_adopted_not_duplicated(
        runs, graph_emulator, sekoia_emulator, graph_client, evidence):
    """What a run killed between Graph's answers and Terraform's state write leaves behind, made here as
    the provider makes it: the application, its service principal, one assignment and one password."""
    tally = evidence.tally("interruptions: objects left outside the state, then apply")
    baseline = Baseline.of(graph_emulator)
    tags = ["sekoia-sso", "sekoia-sso:sandbox"]
    app = graph_client.post("/v1.0/applications", json={"displayName": "Sekoia.io SSO (sandbox)", "tags": tags})
    app = app.raise_for_status().json()
    sp = graph_client.post("/v1.0/servicePrincipals", json={"appId": app["appId"], "tags": tags}).raise_for_status()
    group = graph_client.get("/v1.0/groups", params={"$filter": "displayName eq 'SOC Analysts'"}).json()["value"][0]
    graph_client.post(f"/v1.0/servicePrincipals/{sp.json()['id']}/appRoleAssignedTo", json={
        "principalId": group["id"], "resourceId": sp.json()["id"],
        "appRoleId": "00000000-0000-0000-0000-000000000000"}).raise_for_status()
    graph_client.post(f"/v1.0/applications/{app['id']}/addPassword",
                      json={"passwordCredential": {"displayName": "sekoia-sso-blue"}}).raise_for_status()
    tally.runs += 1
    tally.faults["objects left outside the state"] += 4

    done = apply(runs)
    assert done.returncode == 0, done.err
    assert done.err.count("    adopted ") == 3, done.err
    assert "    removed secret " in done.err
    problems, duplicates = converged_problems(runs, graph_emulator, sekoia_emulator, baseline)
    tally.duplicates += duplicates
    assert problems == [] and duplicates == 0, problems
    assert [a["id"] for a in baseline.made(graph_emulator)["applications"]] == [app["id"]]
    tally.converged += 1


def test_an_admin_consent_grant_a_killed_run_left_outside_the_state_is_adopted(
        runs, graph_emulator, graph_client, evidence):
    """Entra ID keeps one tenant-wide grant per client and resource: without adoption, every re-run after a
    run killed as it granted consent would fail on "Permission entry already exists" (409)."""
    tally = evidence.tally("interruptions: admin consent grant left outside the state, then apply")
    assert apply(runs).returncode == 0
    yaml_path = runs.project / "envs" / "sandbox.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("application:\n", "application:\n  admin_consent: true\n", 1))
    assert runs("render", "sandbox").returncode == 0
    # the grant as the provider makes it, then the run dies before Terraform records it
    client_sp = runs.outputs()["service_principal_object_id"]
    microsoft_graph = graph_client.get("/v1.0/servicePrincipals", params={
        "$filter": "appId eq '00000003-0000-0000-c000-000000000000'"}).raise_for_status().json()["value"][0]
    graph_client.post("/v1.0/oauth2PermissionGrants", json={
        "clientId": client_sp, "resourceId": microsoft_graph["id"], "consentType": "AllPrincipals",
        "scope": "openid profile"}).raise_for_status()
    tally.runs += 1
    tally.faults["objects left outside the state"] += 1

    done = apply(runs)
    assert done.returncode == 0, done.err[-3000:]
    assert "adopted the admin consent grant" in done.err
    grants = [g for g in graph_emulator.state.oauth2_permission_grants.values() if g["clientId"] == client_sp]
    assert len(grants) == 1
    assert sorted(grants[0]["scope"].split()) == ["User.Read", "email", "openid", "profile"]  # the config's, now
    assert runs.plain_plan().has_changes is False
    tally.converged += 1


def test_sigterm_stops_terraform_cleanly_and_a_rerun_converges(runs, graph_emulator, sekoia_emulator, evidence):
    """SIGTERM, as a cancelled CI job or a stopped container sends it to the CLI's process group (Terraform runs
    in its own): met as Ctrl-C is, so Terraform is stopped with SIGINT and waited for."""
    tally = evidence.tally("interruptions: SIGTERM during Terraform's apply")
    baseline = Baseline.of(graph_emulator)
    # Half the creates wait (seeded; see run_scenario): the signal lands mid-apply.
    graph_emulator.configure(replication_delay_ms=1000, replication_lag_share=0.5)
    running = runs.start(*APPLY)
    assert running.wait_for_line("==> Applying the saved Terraform plan", timeout=180), running.err
    time.sleep(0.3)
    tally.runs += 1
    running.signal(signal.SIGTERM)
    tally.faults["SIGTERM"] += 1
    done = running.finish()
    assert "Traceback (most recent call last)" not in done.err, done.err[-3000:]
    assert done.returncode == 128 + signal.SIGTERM, done.err[-3000:]
    assert done.err.rstrip().endswith("Terminated."), done.err[-3000:]
    # the CLI waited for Terraform (and its provider) to exit: nothing of the run lives on, no lock is held
    assert running.wait_descendants_gone(timeout=5) == []
    check_lock_free(runs)
    again = runs(*APPLY)
    assert again.returncode == 0, again.err[-3000:]
    problems, duplicates = converged_problems(runs, graph_emulator, sekoia_emulator, baseline)
    tally.duplicates += duplicates
    assert problems == [] and duplicates == 0, problems
    assert orphaned_objects(runs, graph_emulator, baseline) == []
    tally.converged += 1


@pytest.mark.parametrize("seed", [0])
def test_interrupted_apply_rotate_destroy_each_converge_on_a_rerun(seed, runs, graph_emulator, sekoia_emulator,
                                                                   evidence):
    run_scenario("interruptions: apply, rotate, destroy", quick_plan(seed), runs, graph_emulator, sekoia_emulator,
                 evidence, replication_delay_ms=random.Random(seed).uniform(500, 1500))


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_interrupted_apply_rotate_destroy_each_converge_on_a_rerun_slow(seed, runs, graph_emulator, sekoia_emulator,
                                                                        evidence):
    run_scenario("interruptions: apply, rotate, destroy (seeded)", draw(seed), runs, graph_emulator,
                 sekoia_emulator, evidence, replication_delay_ms=random.Random(seed).uniform(0, 1500))


def test_the_seeded_plans_cover_both_signals_every_command_and_every_step():
    cases = [case for seed in SLOW_SEEDS for case in draw(seed)]
    assert {(c.command, c.signum) for c in cases} == {(command, signum) for command in MARKERS
                                                      for signum in (signal.SIGINT, signal.SIGKILL)}
    assert {(c.command, c.marker) for c in cases} == {(command, m) for command, markers in MARKERS.items()
                                                      for m in markers}
    assert any(c.whole_tree for c in cases)
