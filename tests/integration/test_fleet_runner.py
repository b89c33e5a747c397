"""The fleet runner on a real project's files: bounded concurrency, blocks kept together, a failure is its row."""

from __future__ import annotations

import io
import re
import threading
import time

import pytest

from orchestrator.errors import SekoiaUnavailableError
from orchestrator.workflows.fleet import run_fleet
from tests.harness.project import copy_project

SANDBOX = "3b1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21"


@pytest.fixture
def project(tmp_path):
    project = copy_project(tmp_path / "project", envs=("sandbox",))
    text = (project / "envs" / "sandbox.yaml").read_text()
    for index in range(6):
        community = f"{index}a1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21"
        (project / "envs" / f"env{index}.yaml").write_text(text.replace(SANDBOX, community))
    return project


def test_at_most_jobs_at_once_and_each_block_in_one_piece(project):
    running, most = [0], [0]
    lock = threading.Lock()

    def job(env, console):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        for step in range(5):
            console.step(f"{env.name} step {step}")
            time.sleep(0.01)
        with lock:
            running[0] -= 1
        return (3 if env.name == "env2" else 0), f"{env.name} done", {"name": env.name}

    err = io.StringIO()
    rows = run_fleet(project, job, jobs=3, err=err)
    assert most[0] == 3
    assert [row.name for row in rows] == ["env0", "env1", "env2", "env3", "env4", "env5", "sandbox"]
    assert {row.exit_code for row in rows} == {0, 3} and rows[2].result == {"name": "env2"}
    names = [re.match(r"^\[(\S+)\] ", line).group(1) for line in err.getvalue().splitlines()]
    blocks = [name for index, name in enumerate(names) if index == 0 or names[index - 1] != name]
    assert sorted(blocks) == sorted(set(names)) and len(blocks) == 7  # never interleaved


def test_an_error_or_a_bug_in_one_environment_is_its_row_and_the_others_run(project):
    (project / "envs" / "broken.yaml").write_text("tenant_id: [unclosed\n")
    (project / "envs" / "twin.yaml").write_text((project / "envs" / "sandbox.yaml").read_text())
    (project / "envs" / "local.yaml").write_text((project / "envs" / "sandbox.yaml").read_text().replace(
        "sandbox: true", "sandbox: false").replace(SANDBOX, "7c1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21"))

    def job(env, console):
        if env.name == "env0":
            raise SekoiaUnavailableError("Sekoia.io GET /v1/me: could not connect after 3 tries")
        if env.name == "env1":
            raise KeyError("a bug")
        return 0, "fine", {}

    err = io.StringIO()
    rows = {row.name: row for row in run_fleet(project, job, jobs=2, err=err)}
    assert rows["env0"].exit_code == 1 and "could not connect" in rows["env0"].summary
    assert rows["env1"].exit_code == 1 and rows["env1"].summary == "internal error: KeyError: 'a bug'"
    assert rows["broken"].exit_code == 2 and "envs/broken.yaml" in rows["broken"].summary
    for name in ("sandbox", "twin"):  # two naming one community: both refused, as `list` shows them
        assert rows[name].exit_code == 2 and "one environment owns one community" in rows[name].summary
    assert all(rows[f"env{i}"].exit_code == 0 for i in range(2, 6))
    assert "Traceback" not in err.getvalue()
    assert "[env0] Error: Sekoia.io GET /v1/me: could not connect" in err.getvalue()
    assert "[local] WARNING envs/local.yaml: terraform.backend.type is 'local'" in err.getvalue()  # its warning
    assert rows["local"].exit_code == 0
