"""Every command is documented: --help with an example, a row in the README, a make target."""

import re
import subprocess

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from tests.harness.project import REPO

COMMANDS = sorted(cli.commands)
README = (REPO / "README.md").read_text()


def test_the_cli_has_the_commands_the_design_names():
    assert set(COMMANDS) >= {"render", "check", "plan", "preflight", "apply", "status", "connect", "rotate", "destroy"}


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help_with_an_example(name):
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0
    assert "Example:" in result.output
    assert f"sekoia-sso {name}" in result.output.split("Example:")[1]
    for option in cli.commands[name].params:
        if option.param_type_name == "option" and not option.hidden:
            assert option.help, f"{name} {option.opts} has no help text"


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_is_in_the_readme_and_the_makefile(name):
    assert re.search(rf"^\| `{name}` \|", README, re.MULTILINE), f"README's command table lacks {name}"
    # make itself says what the target runs (-n: print, do not run)
    shown = subprocess.run(["make", "-n", "-s", name, "ENV=prod", "NAME=client_id"], cwd=REPO, capture_output=True,
                           text=True, check=True).stdout
    takes_env = any(param.name == "env" for param in cli.commands[name].params)
    runs = rf"sekoia-sso {name} prod\b" if takes_env else rf"sekoia-sso {name}\b"
    assert re.search(runs, shown), f"`make {name}` does not run `sekoia-sso {name}`:\n{shown}"


def test_help_lists_exit_codes():
    result = CliRunner().invoke(cli, ["--help"])
    assert "3 waiting" in result.output and "2 bad usage" in result.output


def test_the_readme_command_reference_is_what_cog_generates_from_help():
    # cog's own check, as `make lint` runs it: exit 0 only when regenerating would change nothing
    cog = REPO / ".venv" / "bin" / "cog"
    result = subprocess.run([str(cog), "--check", "README.md"], cwd=REPO, capture_output=True, text=True)
    stale = f"README.md is stale: run `.venv/bin/cog -r README.md`\n{result.stdout}{result.stderr}"
    assert result.returncode == 0, stale


def test_a_stale_readme_fails_the_cog_check(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(README.replace("Render terraform/envs/ENV/ from envs/ENV.yaml.", "Renders something.", 1))
    result = subprocess.run([str(REPO / ".venv" / "bin" / "cog"), "--check", str(stale)], cwd=REPO,
                            capture_output=True, text=True)
    assert result.returncode != 0


def test_the_readme_has_each_commands_full_help():
    for name in COMMANDS:
        assert f"### `sekoia-sso {name}`" in README, f"README lacks the --help section of {name}"


def _pre_commit_hooks():
    import yaml

    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    return [hook for repo in config["repos"] for hook in repo["hooks"]]


def test_the_pre_commit_config_has_the_hooks_the_readme_names():
    entries = " ; ".join(hook["entry"] for hook in _pre_commit_hooks())
    for command in ("terraform fmt -check -recursive terraform/", "sekoia-sso check --all", "ruff check",
                    "cog --check README.md"):
        assert command in entries
    assert "pre-commit install" in README


@pytest.mark.parametrize("hook", _pre_commit_hooks(), ids=lambda hook: hook["id"])
def test_each_pre_commit_hook_runs_and_passes_on_the_clean_tree(hook):
    import shlex
    import shutil

    assert hook["language"] == "system" and hook["pass_filenames"] is False
    argv = shlex.split(hook["entry"])
    assert shutil.which(argv[0], path=str(REPO)) or shutil.which(argv[0]) or (REPO / argv[0]).is_file()
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"{hook['entry']} failed:\n{result.stdout}{result.stderr}"
