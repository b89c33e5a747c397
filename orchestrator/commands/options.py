"""What the commands share: finding the project, loading the environments, options, the console."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click
from click.core import ParameterSource

if TYPE_CHECKING:  # the console is imported by the commands that print through it
    from orchestrator.console import Console
    from orchestrator.workflows.fleet import EnvironmentJob

F = TypeVar("F", bound=Callable[..., object])


def project_dir() -> Path:
    from orchestrator.terraform.workspace import find_project_dir

    return find_project_dir()


def environments(env: str | None, all_: bool) -> list:
    """The environments a command acts on, loaded and validated; warnings go to stderr.

    Several at once must each own their Sekoia.io community (orchestrator/sekoia/ownership.py): exit 2 otherwise."""
    from orchestrator.config.envfile import environment_names
    from orchestrator.config.loading import load_environment
    from orchestrator.console import begin_step

    if bool(env) == all_:
        raise click.UsageError("name one environment (ENV) or pass --all, not both")
    project = project_dir()
    names = environment_names(project) if all_ or env is None else [env]
    loaded = []
    for name in names:
        begin_step(f"loading envs/{name}.yaml")
        environment = load_environment(project, name)
        for warning in environment.warnings:
            click.secho(warning, fg="yellow", bold=True, err=True)
        loaded.append(environment)
    if len(loaded) > 1:
        from orchestrator.sekoia.ownership import require_distinct_communities

        require_distinct_communities(loaded)
    return loaded


env_argument = click.argument("env", required=False, metavar="[ENV]")
all_option = click.option("--all", "all_", is_flag=True, help="Act on every envs/*.yaml.")


# Options several commands share, each a decorator (sqlite-utils' style); the help says what it does there.


def json_option(help: str) -> Callable[[F], F]:
    return click.option("--json", "as_json", is_flag=True, help=help)


def quiet_option(help: str = "Do not stream Terraform's own lines.") -> Callable[[F], F]:
    return click.option("--quiet", "-q", is_flag=True, help=help)


def yes_option(help: str) -> Callable[[F], F]:
    return click.option("--yes", "-y", is_flag=True, help=help)


def take_over_option(help: str) -> Callable[[F], F]:
    return click.option("--take-over", is_flag=True, help=help)


def wait_options(function: F) -> F:
    """--wait/--no-wait and --timeout: how long to wait for Sekoia.io's domain verification."""
    function = click.option("--timeout", default="15m", show_default=True, metavar="DURATION",
                            help="How long to wait for domain verification (90s, 15m, 2h, 1d); then exit 3, a re-run "
                                 "goes on.")(function)
    return click.option("--wait/--no-wait", default=True, show_default=True,
                        help="Wait for Sekoia.io to verify pending domains, or exit 3 at once.")(function)



def terraform_echo(quiet: bool) -> Callable[[str], None] | None:
    """Terraform's progress lines go to stderr (dimmed), so stdout stays the command's result."""
    if quiet:
        return None
    return lambda line: click.secho(f"  {line}", dim=True, err=True)


def console_for(as_json: bool, quiet: bool = False) -> Console:
    from orchestrator.console import Console, Reporter

    return Console(Reporter(sys.stdout, sys.stderr, results_to_err=as_json), terraform_lines=not quiet)


def confirm_on_terminal() -> Callable[[str], bool] | None:
    """A yes/no prompt when a person is there to answer; None makes the workflow refuse without --yes."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    return lambda question: click.confirm(question, default=False, err=True)


def jobs_option(function: F) -> F:
    return click.option("--jobs", "-j", type=click.IntRange(min=1), default=4, show_default=True, metavar="N",
                        help="With --all: how many environments run at once.")(function)


def one_or_all(env: str | None, all_: bool) -> None:
    """ENV or --all, never both nor neither, and --jobs only with --all, where it means something (exit 2)."""
    if not env and not all_:
        raise click.UsageError("Missing argument 'ENV': name one environment, or pass --all for every one")
    if env and all_:
        raise click.UsageError("name one environment (ENV) or pass --all, not both")
    if env and click.get_current_context().get_parameter_source("jobs") not in (None, ParameterSource.DEFAULT):
        raise click.UsageError("--jobs goes with --all: one environment runs as one job")


def run_on_fleet(command: str, make_job: Callable[[Path], EnvironmentJob], *, as_json: bool, jobs: int,
                 terraform_lines: bool = True) -> None:
    """`command --all`: the job on every environment (workflows/fleet.py), then one table or one JSON document on
    stdout, each environment's lines on stderr; the exit code the worst of theirs."""
    from orchestrator.exits import emit_json
    from orchestrator.workflows.fleet import format_table, run_fleet, worst_exit

    project = project_dir()
    rows = run_fleet(project, make_job(project), jobs=jobs, err=sys.stderr, terraform_lines=terraform_lines)
    code = worst_exit(row.exit_code for row in rows)
    if as_json:
        emit_json({"command": command, "all": True, "jobs": jobs, "exit_code": code,
                   "environments": [row.to_dict() for row in rows]})
    else:
        click.echo(format_table(rows), nl=False)
    if code:
        sys.exit(code)
