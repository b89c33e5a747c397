"""`sekoia-sso list`: the environments side by side, from the files alone, as a CI matrix reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness.e2e import READ_ONLY_MOUNTS
from tests.harness.project import copy_project

SECRET = "Abc8Q~ThisLooksLikeAnEntraClientSecret0123"


def sekoia_sso(project: Path, *args: str, read_only: bool = False) -> subprocess.CompletedProcess[str]:
    """The CLI as a process; `read_only`: the project mounted read-only for it alone, as on a CI runner."""
    # No credential of any kind: list must not need one.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ARM_", "AZURE_", "SEKOIA_"))}
    env["SEKOIA_SSO_PROJECT_DIR"] = str(project)
    argv = [sys.executable, "-m", "orchestrator", *args]
    if read_only:
        argv = ["unshare", "--map-root-user", "--mount", "sh", "-c", READ_ONLY_MOUNTS, "sh", str(project), "--", *argv]
    return subprocess.run(argv, cwd=project, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return copy_project(tmp_path / "project")


def test_each_environment_with_its_region_community_tenant_backend_and_render(project):
    listed = sekoia_sso(project, "list")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == ["example-prod", "sandbox"]
    prod = lines[0]
    assert "FRA1" in prod and "9c8b7a6d-5e4f-4321-a0b9-c8d7e6f5a4b3" in prod and "2d1f6b0e-93a4" in prod
    assert "azurerm stsekoiassostate/tfstate/sekoia-sso/prod.tfstate" in prod and "render current" in prod
    assert "key $SEKOIA_API_KEY" in prod  # environments naming one key variable share its Sekoia.io budget
    assert "local" in lines[1] and "render current" in lines[1]


def test_json_is_one_document_a_matrix_can_be_built_from(project):
    listed = sekoia_sso(project, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    document = json.loads(listed.stdout)
    assert [row["name"] for row in document["environments"]] == ["example-prod", "sandbox"]
    sandbox = document["environments"][1]
    assert sandbox == {"name": "sandbox", "problem": None, "region": "FRA1",
                       "community_uuid": "3b1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21",
                       "tenant_id": "8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10", "backend": "local", "sandbox": True,
                       "render_current": True, "api_key_env": "SEKOIA_SANDBOX_API_KEY"}
    assert document["exit_code"] == 0


def test_a_stale_or_missing_render_is_shown_and_is_not_a_failure(project):
    yaml_path = project / "envs" / "sandbox.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("display_name: ", "display_name: Renamed ", 1))
    (project / "envs" / "new.yaml").write_text((project / "envs" / "example-prod.yaml").read_text().replace(
        "9c8b7a6d-5e4f-4321-a0b9-c8d7e6f5a4b3", "11111111-2222-4333-8444-555555555555"))
    document = json.loads(sekoia_sso(project, "list", "--json").stdout)
    current = {row["name"]: row["render_current"] for row in document["environments"]}
    assert current == {"example-prod": True, "new": False, "sandbox": False}
    assert "STALE (run `sekoia-sso render sandbox`)" in sekoia_sso(project, "list").stdout


def test_a_broken_file_is_a_row_with_its_reason_the_others_are_listed_and_it_exits_2(project):
    (project / "envs" / "broken.yaml").write_text(f"tenant_id: [unclosed\nsekoia:\n  api_key: {SECRET}\n")
    for args in (("list",), ("list", "--json")):
        listed = sekoia_sso(project, *args)
        assert listed.returncode == 2
        assert "1 environment(s) with a problem: broken" in listed.stderr
        assert SECRET not in listed.stdout + listed.stderr
        assert "Traceback" not in listed.stderr
    document = json.loads(listed.stdout)  # still exactly one document
    rows = {row["name"]: row for row in document["environments"]}
    assert set(rows) == {"broken", "example-prod", "sandbox"} and document["exit_code"] == 2
    assert "envs/broken.yaml" in rows["broken"]["problem"] and rows["broken"]["region"] is None
    assert rows["sandbox"]["problem"] is None


def test_two_environments_naming_one_community_are_both_problems(project):
    copy = (project / "envs" / "sandbox.yaml").read_text()
    (project / "envs" / "sandbox-copy.yaml").write_text(copy)
    listed = sekoia_sso(project, "list", "--json")
    assert listed.returncode == 2
    rows = {row["name"]: row for row in json.loads(listed.stdout)["environments"]}
    for name in ("sandbox", "sandbox-copy"):
        assert "is named by sandbox and sandbox-copy: one environment owns one community" in rows[name]["problem"]
    assert rows["example-prod"]["problem"] is None


def test_a_read_only_checkout_is_listed_and_left_as_it_was(project):
    before = {p: p.stat().st_mtime_ns for p in project.rglob("*")}
    listed = sekoia_sso(project, "list", "--json", read_only=True)
    assert listed.returncode == 0, listed.stderr
    assert all(row["render_current"] for row in json.loads(listed.stdout)["environments"])
    assert {p: p.stat().st_mtime_ns for p in project.rglob("*")} == before


def test_an_empty_envs_directory_is_an_empty_list(tmp_path):
    (tmp_path / "envs").mkdir()
    listed = sekoia_sso(tmp_path, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"environments": [], "exit_code": 0}
