"""`make sandbox PROFILE=reality` in one terminal, `make apply ENV=sandbox` in another: one run, exit 0.

The reality profile (sandbox/profiles.py) turns on seeded replication lag, a secret propagation delay,
Graph latency and occasional 429s, and the emulated provider polls as slowly as the real one. apply
runs with its default pauses between attempts, as a user's would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from tests.harness.project import REPO, copy_project

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_apply_against_the_reality_profile_converges_in_one_run(tmp_path):
    project = copy_project(tmp_path / "project", envs=("sandbox",))
    sandbox_dir = tmp_path / "sandbox"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARM_", "SEKOIA_", "AZUREAD_"))}
    env.update(SEKOIA_SSO_PROJECT_DIR=str(project), SEKOIA_SSO_SANDBOX_DIR=str(sandbox_dir))
    up = subprocess.Popen([sys.executable, "-m", "sandbox", "up", "--profile", "reality", "--dir", str(sandbox_dir),
                           "--domain-verification-delay", "2"], cwd=REPO, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not (sandbox_dir / "endpoints.json").exists():
            assert up.poll() is None and time.monotonic() < deadline, up.stderr.read() if up.stderr else ""
            time.sleep(0.1)
        started = time.monotonic()
        applied = subprocess.run(["make", "--no-print-directory", "apply", "ENV=sandbox"], cwd=REPO, env=env,
                                 capture_output=True, text=True, timeout=600)
        took = time.monotonic() - started
        assert applied.returncode == 0, applied.stderr[-5000:]
        assert "Environment sandbox is configured." in applied.stdout + applied.stderr
        status = subprocess.run([sys.executable, "-m", "orchestrator", "status", "sandbox"], cwd=project, env=env,
                                capture_output=True, text=True, timeout=300)
        assert status.returncode == 0, status.stderr[-3000:]
        print(f"reality profile: first apply {took:.1f} s, "
              f"{applied.stderr.count('known transient error')} transient failures waited out")
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=30)
    assert "profile                   reality" in out
    assert "sekoia-sso sandbox stopped" in out
