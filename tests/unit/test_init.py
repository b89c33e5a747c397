"""`sekoia-sso init`, in process: what it writes, and that it never overwrites (#17 §1).

The installed-wheel run is tests/e2e/test_install.py; here the shipped files are the checkout's own.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.shipped import MODULE, shipped_files, shipped_root
from orchestrator.workflows import scaffold
from tests.harness.project import REPO


def init(*args: str):
    return CliRunner().invoke(cli, ["init", *args])


def files_in(directory) -> list[str]:
    return sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file())


def test_a_new_directory_gets_the_example_the_module_the_makefile_and_gitignore(tmp_path):
    done = init(str(tmp_path / "new" / "repo"))
    assert done.exit_code == 0, done.output
    repo = tmp_path / "new" / "repo"
    assert (repo / "envs/example.yaml").read_text() == (REPO / "envs/example-prod.yaml").read_text()
    assert (repo / ".gitignore").read_text() == (REPO / "scaffold/gitignore").read_text()
    assert "$(SSO) $@ $(ENV) $(ARGS)" in (repo / "Makefile").read_text()
    assert "terraform/modules/sekoia-sso/variables.tf" in files_in(repo)
    assert not [name for name in files_in(repo) if ".terraform" in name or ".sekoia-sso-init" in name]
    module_files = len(list(shipped_files(shipped_root(), MODULE)))  # the module's README, HCL, examples, ...
    assert module_files >= 7 and len([n for n in files_in(repo) if n.startswith(MODULE + "/")]) == module_files
    assert "Created in" in done.output and f"terraform/modules/sekoia-sso/ ({module_files} files)" in done.output


def test_without_the_module_and_in_the_current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".git").mkdir()  # a repository just made with `git init`: nothing of ours in the way
    done = init("--no-module")
    assert done.exit_code == 0, done.output
    recipes = sorted(f"recipes/{path.relative_to(REPO / 'recipes').as_posix()}"
                     for path in (REPO / "recipes").rglob("*") if path.is_file())
    assert recipes, "the checkout ships CI recipes"
    assert files_in(tmp_path) == sorted([".gitignore", "Makefile", "envs/example.yaml", *recipes])


def test_the_shipped_recipes_are_copied_as_they_are(tmp_path, monkeypatch):
    shipped = tmp_path / "shipped"
    shutil.copytree(shipped_root() / "templates", shipped / "templates")
    shutil.copytree(shipped_root() / "terraform/modules/sekoia-sso", shipped / "terraform/modules/sekoia-sso")
    shutil.copytree(shipped_root() / "scaffold", shipped / "scaffold")
    (shipped / "envs").mkdir()
    shutil.copy(shipped_root() / "envs/example-prod.yaml", shipped / "envs/example-prod.yaml")
    (shipped / "recipes/github/workflows").mkdir(parents=True)
    (shipped / "recipes/github/workflows/plan.yml").write_text("on: pull_request\n")
    (shipped / "recipes/azure-devops").mkdir()
    (shipped / "recipes/azure-devops/azure-pipelines.yml").write_text("stages: []\n")
    monkeypatch.setattr(scaffold, "shipped_root", lambda: shipped)
    done = init(str(tmp_path / "repo"))
    assert done.exit_code == 0, done.output
    assert (tmp_path / "repo/recipes/github/workflows/plan.yml").read_text() == "on: pull_request\n"
    assert (tmp_path / "repo/recipes/azure-devops/azure-pipelines.yml").is_file()
    assert "  recipes/ (2 files)" in done.output


@pytest.mark.parametrize("existing", [".gitignore", "envs/example.yaml", "terraform/modules/sekoia-sso/main.tf"])
def test_any_file_of_ours_already_there_stops_it_before_anything_is_written(tmp_path, existing):
    (tmp_path / existing).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / existing).write_text("theirs\n")
    done = init(str(tmp_path))
    assert done.exit_code == 2
    assert f"already has {existing}" in done.output and "Nothing was written" in done.output
    assert files_in(tmp_path) == [existing] and (tmp_path / existing).read_text() == "theirs\n"


def test_a_file_where_a_directory_is_needed_and_a_file_as_target_are_refused(tmp_path):
    (tmp_path / "envs").write_text("not a directory\n")
    done = init(str(tmp_path))
    assert done.exit_code == 2 and "envs (a file where a directory is needed)" in done.output
    assert files_in(tmp_path) == ["envs"]
    done = init(str(tmp_path / "envs"))
    assert done.exit_code == 2 and "is not a directory" in done.output


def test_render_and_check_in_the_new_repository_use_the_shipped_templates(tmp_path, monkeypatch):
    assert init(str(tmp_path)).exit_code == 0
    monkeypatch.chdir(tmp_path / "envs")  # found from a subdirectory; no templates/ anywhere up there
    monkeypatch.delenv("SEKOIA_SSO_PROJECT_DIR", raising=False)
    rendered = CliRunner().invoke(cli, ["render", "example"])
    assert rendered.exit_code == 0, rendered.output
    assert not (tmp_path / "templates").exists()
    main_tf = (tmp_path / "terraform/envs/example/main.tf").read_text()
    assert main_tf.startswith("# Generated by sekoia-sso from envs/example.yaml")
    assert 'source = "../../modules/sekoia-sso"' in main_tf
    assert CliRunner().invoke(cli, ["check", "--all"]).exit_code == 0


def test_outside_any_project_the_message_says_init_starts_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEKOIA_SSO_PROJECT_DIR", raising=False)
    done = CliRunner().invoke(cli, ["render", "prod"])
    assert done.exit_code == 2 and "start one with `sekoia-sso init`" in done.output


def test_a_failure_halfway_takes_back_what_was_moved_and_leaves_no_staging(tmp_path, monkeypatch):
    real_rename, calls = scaffold.os.rename, []

    def rename_then_fail(source, target):
        calls.append(target)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        real_rename(source, target)

    monkeypatch.setattr(scaffold.os, "rename", rename_then_fail)
    (tmp_path / "README.md").write_text("theirs\n")
    done = init(str(tmp_path))
    assert done.exit_code == 1 and "cannot be written (No space left on device); nothing was written" in done.output
    assert len(calls) == 3 and sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


# An init whose copies stop after the 5th file and say so: the test kills it there, as a runner's
# timeout or the OOM killer would, with no chance to clean up.
_INIT_THAT_HANGS = """
import pathlib, shutil, sys, time
from orchestrator.cli import cli
from orchestrator.workflows import scaffold
real_copy, copied = shutil.copyfile, []
def copy_then_hang(source, target):
    real_copy(source, target)
    copied.append(target)
    if len(copied) == 5:
        pathlib.Path(sys.argv[2]).write_text("hanging")
        time.sleep(600)
scaffold.shutil.copyfile = copy_then_hang
cli(["init", sys.argv[1]])
"""


def test_a_killed_init_leaves_a_staging_directory_the_next_init_removes(tmp_path):
    target, marker = tmp_path / "repo", tmp_path / "hanging"
    killed = subprocess.Popen([sys.executable, "-c", _INIT_THAT_HANGS, str(target), str(marker)], cwd=REPO)
    try:
        for _ in range(600):
            if marker.exists() or killed.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), "the init never reached its 5th file"
    finally:
        killed.send_signal(signal.SIGKILL)
        killed.wait()
    left = [p.name for p in target.iterdir()]
    assert len(left) == 1 and left[0].startswith(f".sekoia-sso-init-{killed.pid}-")  # all it had was staged

    # A running init's staging (this test's own PID stands for one) and a look-alike not ours are kept.
    running = target / f".sekoia-sso-init-{os.getpid()}-abcd1234"
    running.mkdir()
    theirs = target / ".sekoia-sso-init-notes"
    theirs.write_text("a file of theirs\n")
    done = init(str(target))
    assert done.exit_code == 0, done.output
    names = sorted(p.name for p in target.iterdir())
    assert left[0] not in names and running.name in names and theirs.name in names
    assert [n for n in names if n.startswith(".sekoia-sso-init-")] == sorted([running.name, theirs.name])
    assert (target / "envs" / "example.yaml").is_file()


@pytest.mark.parametrize(("target", "runs"), [
    ("plan", "sekoia-sso plan prod"), ("apply", "sekoia-sso apply prod --yes"), ("list", "sekoia-sso list"),
    ("check-all", "sekoia-sso check --all"), ("output", "sekoia-sso output prod client_id"),
])
def test_the_new_makefile_runs_sekoia_sso_from_path(tmp_path, target, runs):
    assert init(str(tmp_path)).exit_code == 0
    shown = subprocess.run(["make", "-n", "-s", target, "ENV=prod", "NAME=client_id", "ARGS=--yes" if target == "apply"
                            else "ARGS="], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert shown.strip() == runs
