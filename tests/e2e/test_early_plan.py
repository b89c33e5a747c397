"""apply's early plan (orchestrator/terraform/workspace.py, EarlyPlan): started from the environment's name before
its config loads, taken by the apply it fits, otherwise stopped and dropped without a trace.

Real Terraform on the sandbox: each test first applies, as a no-op re-run is what the early plan is for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from orchestrator.config.loading import load_environment
from orchestrator.errors import EnvironmentBusyError
from orchestrator.terraform.workspace import EarlyPlan, PlanSite, Workspace
from tests.harness.e2e import apply, children_running

pytestmark = pytest.mark.timeout(600)


@contextmanager
def sandbox_dir(runs) -> Iterator[None]:
    """The CLI's view of the sandbox (PlanSite reads SEKOIA_SSO_SANDBOX_DIR when asked for a path)."""
    os.environ["SEKOIA_SSO_SANDBOX_DIR"] = str(runs.sandbox_dir)
    try:
        yield
    finally:
        del os.environ["SEKOIA_SSO_SANDBOX_DIR"]


def assert_left_nothing(runs) -> None:
    """No plan file, the environment free, no Terraform process, Terraform's state lock free."""
    with sandbox_dir(runs):
        site = PlanSite(runs.project, "sandbox", True)
        assert not site.plan_path.exists()
        site.lock().acquire().release()
    assert children_running(b"terraform") == []
    assert not runs.lock_info_path.exists()
    assert runs.plain_plan().has_changes is False


def test_an_early_plan_is_taken_by_the_apply_it_fits(runs):
    assert apply(runs).returncode == 0
    with sandbox_dir(runs):
        announced = []
        early = EarlyPlan.start(runs.project, "sandbox", announce=announced.append)
        assert early is not None
        assert not announced  # held until an apply takes the plan: a config error comes first and alone
        # the plan holds the environment as an apply would
        with pytest.raises(EnvironmentBusyError):
            early.site.lock().acquire()
        workspace = Workspace(load_environment(runs.project, "sandbox"), runs.project)
        assert early.take(workspace)
        assert announced and "terraform/envs/sandbox" in announced[0]
        assert early.future.result(timeout=300).has_changes is False
        early.close()  # taken: the plan and the lock are the apply's now
        assert early.site.plan_path.exists()
        with pytest.raises(EnvironmentBusyError):
            early.site.lock().acquire()
        early.lock.release()
        early.site.plan_path.unlink()
    assert_left_nothing(runs)


def test_an_early_plan_nobody_takes_is_stopped_and_dropped(runs):
    assert apply(runs).returncode == 0
    with sandbox_dir(runs):
        early = EarlyPlan.start(runs.project, "sandbox")
        assert early is not None
        other = Workspace(load_environment(runs.project, "sandbox"), runs.project / "elsewhere")
        assert not early.take(other)
        early.close()
        assert early.future.done()
    assert_left_nothing(runs)


@pytest.mark.parametrize("change", ["init-due", "environment-busy", "sandbox-stopped", "sandbox-not-a-boolean",
                                    "not-rendered", "unknown-environment"])
def test_no_early_plan_when_a_re_run_would_not_be_a_plain_plan(runs, change):
    assert apply(runs).returncode == 0
    name = "sandbox"
    site = PlanSite(runs.project, name, True)
    held = None
    with sandbox_dir(runs):
        if change == "init-due":
            site.init_marker.write_text("stale")
        elif change == "environment-busy":
            held = site.lock().acquire()
        elif change == "sandbox-stopped":
            (runs.sandbox_dir / "endpoints.json").rename(runs.sandbox_dir / "endpoints.json.off")
        elif change == "sandbox-not-a-boolean":
            yaml_path = runs.project / "envs" / "sandbox.yaml"
            yaml_path.write_text(yaml_path.read_text().replace("sandbox: true", "sandbox: 'true'"))
        elif change == "not-rendered":
            (runs.project / "terraform" / "envs" / "sandbox").rename(runs.project / "terraform" / "envs" / "off")
        else:
            name = "../sandbox"
        assert EarlyPlan.start(runs.project, name) is None
        if held is not None:
            held.release()
        assert not site.plan_path.exists()
        site.lock().acquire().release()
    assert children_running(b"terraform") == []


def test_apply_with_a_broken_config_drops_the_early_plan(runs, graph_emulator):
    assert apply(runs).returncode == 0
    yaml_path = runs.project / "envs" / "sandbox.yaml"
    good = yaml_path.read_text()
    yaml_path.write_text(good + "\nunknown_setting: 1\n")
    broken = apply(runs)
    assert broken.returncode == 2, broken.err
    assert "unknown_setting" in broken.err
    # the plan had started before the config was read, but it is stopped silently: the config error comes
    # first and alone (no step announced, no "Interrupt received" nor any other line of Terraform's)
    assert broken.err.startswith("Error: envs/sandbox.yaml"), broken.err
    assert "Planning the Terraform changes" not in broken.err and "Interrupt" not in broken.err
    assert "|" not in broken.err, broken.err
    yaml_path.write_text(good)
    assert_left_nothing(runs)
    again = apply(runs)
    assert again.returncode == 0, again.err
    assert "Nothing to do" in again.err
