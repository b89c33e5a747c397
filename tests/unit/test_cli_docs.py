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
