"""The `sekoia-sso` command line: thin commands over the library, errors mapped to exit codes here.

Heavy libraries (httpx, jinja2, pydantic, python-terraform, azure-identity) are imported
inside the commands so that `sekoia-sso --help` stays fast.
"""

from __future__ import annotations

import gc
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from orchestrator import __version__
from orchestrator.errors import EXIT_USAGE
from orchestrator.exits import SSOGroup, emit_json, raise_terminated

if TYPE_CHECKING:  # the console is imported by the commands that print through it
    from orchestrator.console import Console

F = TypeVar("F", bound=Callable[..., object])


@click.group(cls=SSOGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sekoia-sso")
def cli() -> None:
    """Sekoia.io single sign-on through Microsoft Entra ID, as code.

    Each environment is described by envs/<env>.yaml; its Terraform root module is rendered to
    terraform/envs/<env>/ and committed. Exit codes: 0 done, 1 failed, 2 bad usage or bad
    config, 3 waiting on something outside our control (re-run later to go on), 130 after
    Ctrl-C, 143 after SIGTERM (Terraform is stopped cleanly first; a re-run goes on).
    """


def _project() -> Path:
    from orchestrator.terraform.workspace import find_project_dir

    return find_project_dir()


def _environments(env: str | None, all_: bool) -> list:
    """The environments a command acts on, loaded and validated; warnings go to stderr.

    Several at once must each own their Sekoia.io community (orchestrator/sekoia/ownership.py): exit 2 otherwise."""
    from orchestrator.config.envfile import environment_names
    from orchestrator.config.loading import load_environment
    from orchestrator.console import begin_step

    if bool(env) == all_:
        raise click.UsageError("name one environment (ENV) or pass --all, not both")
    project = _project()
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



@cli.command()
@env_argument
@all_option
def render(env: str | None, all_: bool) -> None:
    """Render terraform/envs/ENV/ from envs/ENV.yaml.

    The output is deterministic and terraform fmt-clean; commit it with the YAML.

    Example:

    \b
        sekoia-sso render prod
        sekoia-sso render --all
    """
    from orchestrator.render import render_environment, write_rendered

    project = _project()
    for environment in _environments(env, all_):
        root = render_environment(environment, project)
        changed = write_rendered(root, project)
        state = f"{len(changed)} file(s) changed" if changed else "unchanged"
        click.echo(f"{root.directory.as_posix()}: {state}")


@cli.command()
@env_argument
@all_option
def check(env: str | None, all_: bool) -> None:
    """Fail (exit 1) when committed terraform/envs/ENV/ differs from a fresh render.

    Prints a unified diff of what `sekoia-sso render` would change. Run it in CI. With --all, two
    environments naming the same sekoia.community_uuid are refused (exit 2).

    Example:

    \b
        sekoia-sso check sandbox
        sekoia-sso check --all
    """
    from orchestrator.render import diff_rendered, render_environment

    project = _project()
    stale = []
    for environment in _environments(env, all_):
        root = render_environment(environment, project)
        diff = diff_rendered(root, project)
        if diff:
            click.echo(diff, nl=False)
            stale.append(environment.name)
        else:
            click.echo(f"{root.directory.as_posix()}: up to date", err=True)
    if stale:
        from orchestrator.errors import StaleRenderError

        raise StaleRenderError(stale)


def _terraform_echo(quiet: bool) -> Callable[[str], None] | None:
    """Terraform's progress lines go to stderr (dimmed), so stdout stays the command's result."""
    if quiet:
        return None
    return lambda line: click.secho(f"  {line}", dim=True, err=True)


@cli.command()
@click.argument("env")
@json_option("Print the plan summary as JSON on stdout (for CI).")
@quiet_option("Do not stream Terraform's own progress lines to stderr.")
def plan(env: str, as_json: bool, quiet: bool) -> None:
    """Plan the Terraform changes of ENV and summarise them.

    Refuses when the committed terraform/envs/ENV/ is stale (run `sekoia-sso render ENV`).
    The plan is saved in the environment's data dir; `sekoia-sso apply` shows and applies a
    fresh one. Sensitive values are never shown, only the names of what changes. Also says
    what apply will do to the client secret: rotate it inside its rotation window, or move
    Sekoia.io off a secret the plan replaces.

    Example:

    \b
        sekoia-sso plan prod
        sekoia-sso plan prod --json > plan.json
    """
    from orchestrator.terraform.workspace import Workspace, work_elsewhere_when_read_only

    if as_json:
        work_elsewhere_when_read_only()  # writes nothing in the checkout: works on a read-only one
    (environment,) = _environments(env, False)
    workspace = Workspace(environment, _project())
    workspace.require_current_render()
    runner = workspace.initialised_runner(on_line=_terraform_echo(quiet or as_json))
    result = runner.plan(workspace.plan_path)
    summary = runner.show_plan(result.plan_path)
    # What apply would do to the client secret besides the plan: a rotation inside the window, a move
    # off a secret the plan replaces (from the state alone: `plan` needs no Graph access).
    from orchestrator.workflows.client_secret import Ledger, SecretPlan

    secret = SecretPlan.of(Ledger.read(runner.outputs()), summary, applied=True,
                           rotate_before_days=environment.config.secret.rotate_before_days)
    if as_json:
        import json

        document = json.loads(summary.to_json())
        document["client_secret"] = {"apply_will": secret.lines(), "rotation_due": secret.rotation_due,
                                     "replaces_held_secret": secret.threatened,
                                     "application_replaced": secret.application_replaced}
        click.echo(json.dumps(document, indent=2, sort_keys=True))
    else:
        click.echo(summary.render_text())
        for line in secret.lines():
            click.echo(f"Client secret: {line}")


@cli.command()
@click.argument("env")
@click.argument("name")
def output(env: str, name: str) -> None:
    """Print the Terraform output NAME of ENV: what the manual steps point at.

    Reads the state of terraform/envs/ENV the way every command does (its own Terraform data
    dir and backend), from anywhere in the project; a bare `terraform output` in that directory
    would first need its own `terraform init`. A string is printed as it is (like `terraform
    output -raw`), anything else as JSON. A sensitive output (client_secret, secrets) is printed
    only to a terminal: to a pipe or a file it is refused (exit 2), so it never lands in a log.
    Exit 2 as well for an unknown NAME or an environment not applied yet.

    Example:

    \b
        sekoia-sso output prod client_secret
        sekoia-sso output prod client_id
        sekoia-sso output prod tenant_endpoint
    """
    import json

    from orchestrator.errors import UsageError
    from orchestrator.terraform.workspace import Workspace

    (environment,) = _environments(env, False)
    workspace = Workspace(environment, _project())
    workspace.require_rendered_root()
    outputs = workspace.initialised_runner().outputs()
    if not outputs:
        raise UsageError(f"environment {environment.name} has no Terraform outputs yet: nothing is applied. Run "
                         f"`sekoia-sso apply {environment.name}` first.")
    if name not in outputs:
        raise UsageError(f"environment {environment.name} has no output {name!r}; its outputs: "
                         + ", ".join(sorted(outputs)))
    value = outputs[name]
    reveal = getattr(value, "reveal", None)
    if callable(reveal):
        if not sys.stdout.isatty():
            raise UsageError(
                f"{name} is sensitive: sekoia-sso prints it only to a terminal, and stdout here is a pipe or a "
                f"file, where it would stay. Run `sekoia-sso output {environment.name} {name}` in a terminal, "
                "paste the value, then clear the screen. The other outputs print anywhere.")
        value = reveal()
    click.echo(value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True))


@cli.command()
@click.argument("env")
@click.option("--format", "format_", type=click.Choice(["table", "json", "csv"]), default="table", show_default=True,
              help="table for people; json (stable, documented in README.md) or csv for machines.")
@click.option("--max-problems", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Exit 0 while at most N users will not get in.")
@click.option("--warn-only", is_flag=True, help="Report the users who will not get in, but exit 0.")
def preflight(env: str, format_: str, max_problems: int, warn_only: bool) -> None:
    """Check through Microsoft Graph that every user who may sign in will get in.

    Reads the groups and users of `access` in envs/ENV.yaml: each user needs a mail in one of
    the Sekoia.io domains, a first, last and full name, and an enabled account; members of
    nested groups get no access and are reported as "will be refused". Changes nothing.
    Credentials are the azuread provider's (ARM_CLIENT_ID/ARM_CLIENT_SECRET, OIDC, managed
    identity or `az login`). Exit 0 all good, 1 users who will not get in, 2 bad config.

    Example:

    \b
        sekoia-sso preflight prod
        sekoia-sso preflight prod --format json > preflight.json
        sekoia-sso preflight prod --max-problems 3
    """
    from orchestrator.entra.preflight.check import run_preflight
    from orchestrator.entra.preflight.report import FORMATTERS

    project = _project()
    environment = _environments(env, False)[0]
    progress = _PreflightProgress() if sys.stderr.isatty() else None
    try:
        report = run_preflight(environment, project, progress=progress)
    finally:
        if progress is not None:
            progress.clear()
    click.echo(FORMATTERS[format_](report), nl=False)
    if not warn_only:
        report.raise_for_problems(max_problems)


class _PreflightProgress:
    """A one-line counter on stderr (terminals only), redrawn at most ten times a second."""

    def __init__(self) -> None:
        import threading
        import time

        self._clock = time.monotonic
        self._lock = threading.Lock()
        self._last = 0.0
        self._shown = False

    def __call__(self, users: int, pages: int) -> None:
        with self._lock:
            now = self._clock()
            if now - self._last >= 0.1:
                self._last = now
                self._shown = True
                click.echo(f"\rchecked {users:,} users ({pages:,} pages)…", nl=False, err=True)

    def clear(self) -> None:
        if self._shown:
            click.echo("\r\033[K", nl=False, err=True)


@cli.command()
@click.argument("env")
@click.option("--wait/--no-wait", default=True, show_default=True,
              help="Wait for Sekoia.io to verify pending domains (polling with backoff), or exit 3 at once.")
@click.option("--timeout", default="15m", show_default=True, metavar="DURATION",
              help="How long to wait for domain verification (90s, 15m, 2h, 1d); then exit 3, a re-run goes on.")
@click.option("--show-secret", is_flag=True,
              help="In manual steps, print the client secret (only ever to a terminal).")
@json_option("Print the plan and result as JSON on stdout; progress on stderr.")
@take_over_option("Replace SSO that points at another application (another environment's, or set by hand).")
def connect(env: str, wait: bool, timeout: str, show_secret: bool, as_json: bool, take_over: bool) -> None:
    """Configure the Sekoia.io half from the Terraform outputs of terraform/envs/ENV.

    The Terraform half must be applied first. Checks the API key, community, default role
    and the tenant's discovery document, registers missing domains (never twice), waits for
    their verification, then writes the OIDC settings only when they differ or when Sekoia.io
    does not hold the current secret. Prints the users' SSO login URL. Exit 0 done, 1 failed
    (also when the community's SSO points at another application: --take-over replaces it),
    2 bad config, 3 waiting (a domain not verified yet, or steps to finish in the UI).

    Example:

    \b
        sekoia-sso connect prod
        sekoia-sso connect prod --no-wait --json
        sekoia-sso connect prod --timeout 2h
    """
    from orchestrator.console import parse_duration
    from orchestrator.sekoia.connect import connect_environment
    from orchestrator.workflows.common import poll_policy

    seconds = parse_duration(timeout)
    project = _project()
    environment = _environments(env, False)[0]
    connect_environment(project, environment, wait=wait, timeout=seconds, show_secret=show_secret,
                        as_json=as_json, out=sys.stdout, err=sys.stderr, poll=poll_policy(environment),
                        take_over=take_over)


def _console(as_json: bool, quiet: bool = False) -> Console:
    from orchestrator.console import Console, Reporter

    return Console(Reporter(sys.stdout, sys.stderr, results_to_err=as_json), terraform_lines=not quiet)


def _confirm_on_terminal() -> Callable[[str], bool] | None:
    """A yes/no prompt when a person is there to answer; None makes the workflow refuse without --yes."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None
    return lambda question: click.confirm(question, default=False, err=True)


@cli.command()
@click.argument("env")
@yes_option("Apply without asking (CI). Without a terminal it is required.")
@wait_options
@click.option("--max-problems", type=click.IntRange(min=0), default=0, show_default=True, metavar="N",
              help="Go on while at most N users fail the preflight.")
@click.option("--warn-only", is_flag=True, help="Report preflight problems but go on.")
@click.option("--skip-preflight", is_flag=True, help="Do not check the users through Microsoft Graph first.")
@click.option("--show-secret", is_flag=True, help="In manual steps, print the client secret (only to a terminal).")
@json_option("Print the summary as JSON on stdout; steps go to stderr.")
@quiet_option()
@take_over_option("Replace SSO that points at another application (shown in the plan); refused without it.")
def apply(env: str, yes: bool, wait: bool, timeout: str, max_problems: int, warn_only: bool, skip_preflight: bool,
          show_secret: bool, as_json: bool, quiet: bool, take_over: bool) -> None:
    """Apply ENV end to end: Entra ID through Terraform, then Sekoia.io.

    Checks that terraform/envs/ENV is a fresh render, runs the preflight, shows ONE plan of
    the Terraform changes and the Sekoia.io changes (domains to add, OIDC fields that differ,
    whether the secret will be pushed), asks for confirmation, applies the saved Terraform
    plan, waits until Entra ID serves the new objects, registers and waits for the domains,
    checks the tenant's discovery document, writes the OIDC settings and checks that Sekoia.io
    holds them. Rotates the client secret when it is inside its rotation window (no file
    changes, as `rotate`); when the plan would delete or replace the secret Sekoia.io holds,
    Sekoia.io is first moved to a fresh one. A re-run with nothing to do changes nothing. When
    the community's SSO points at another application (another environment's), nothing is
    written and it exits 1, unless --take-over. Exit 0 done, 1 failed, 2 bad config or not
    confirmed, 3 waiting on Sekoia.io (a domain not verified yet: re-run later to go on).

    Example:

    \b
        sekoia-sso apply prod
        sekoia-sso apply prod --yes --json > apply.json
        make apply ENV=prod
    """
    from orchestrator.console import parse_duration
    from orchestrator.terraform.workspace import EarlyPlan

    duration = parse_duration(timeout)
    console = _console(as_json, quiet)
    project = _project()
    # The plan is most of a no-op re-run: it starts before the config (and pydantic) loads, and is
    # dropped if the config turns out not to want it (see orchestrator/terraform/workspace.py, EarlyPlan).
    early = EarlyPlan.start(project, env, on_line=console.terraform_line, announce=console.step)
    try:
        from orchestrator.workflows.apply import ApplyOptions, apply_environment

        options = ApplyOptions(yes=yes, wait=wait, timeout=duration, max_problems=max_problems, warn_only=warn_only,
                               skip_preflight=skip_preflight, show_secret=show_secret, confirm=_confirm_on_terminal(),
                               take_over=take_over)
        (environment,) = _environments(env, False)
        summary = apply_environment(project, environment, options, console, early)
    finally:
        if early is not None:
            early.close()
    if as_json:
        emit_json(summary.to_dict())


@cli.command()
@click.argument("env")
@json_option("Print the report as one JSON document on stdout.")
@click.option("--strict", is_flag=True, help="Exit 1 on a warning too (the secret inside its rotation window).")
def status(env: str, as_json: bool, strict: bool) -> None:
    """Report each part of ENV and whether it matches the config; changes nothing.

    Each part is read from its own source and stands alone (a part that cannot be read is that
    part's problem; the others still report): rendered HCL; Terraform drift and pending
    changes, from one plan (drift only where it matters: what apply repairs or a change
    reads); the Entra application (redirect URIs, assignment required, assignments); the
    client secret (key ID, days left, a warning inside the rotation window); the tenant's
    discovery document; the Sekoia.io domains and OIDC settings (match the outputs, hold the
    current secret). The report goes to stdout; --json prints one document with each part's
    fields instead. Exit 0 all matches (warnings included, unless --strict), 1 drift or a
    problem, 3 waiting on Sekoia.io. Suited to a scheduled CI job.

    Example:

    \b
        sekoia-sso status prod
        sekoia-sso status prod --json --strict
    """
    from orchestrator.terraform.workspace import work_elsewhere_when_read_only
    from orchestrator.workflows.status import StatusOptions, status_environment

    work_elsewhere_when_read_only()  # status writes nothing in the checkout: it works on a read-only one
    (environment,) = _environments(env, False)
    code, checks = status_environment(_project(), environment, _console(as_json), StatusOptions(strict=strict))
    if as_json:
        states = [c.state for c in checks]
        emit_json({"environment": environment.name, "exit_code": code, "strict": strict,
                    "counts": {state: states.count(state) for state in sorted(set(states))},
                    "checks": [c.to_dict() for c in checks]})
    if code:
        sys.exit(code)


@cli.command()
@click.argument("env")
@yes_option("Rotate without asking.")
@wait_options
@json_option("Print the result as JSON on stdout.")
@quiet_option()
def rotate(env: str, yes: bool, wait: bool, timeout: str, as_json: bool, quiet: bool) -> None:
    """Rotate the client secret of ENV without downtime.

    The module always keeps two secret slots. A targeted Terraform plan gives the standby slot
    a fresh secret (today + validity_days); once Entra ID's token endpoint accepts it, the
    hand-over is recorded in the state, Sekoia.io gets the new secret, the push is recorded,
    and only then is the old slot's secret replaced, so it stops working. At no moment does
    Sekoia.io hold a secret Entra ID does not accept. No file changes: it works on a read-only
    checkout, and `apply` does the same by itself inside the rotation window. Interrupted, a
    re-run finishes the hand-over that was under way.

    Example:

    \b
        sekoia-sso rotate prod
        sekoia-sso rotate prod --yes -q
    """
    from orchestrator.console import parse_duration
    from orchestrator.workflows.rotate import RotateOptions, rotate_environment

    options = RotateOptions(yes=yes, wait=wait, timeout=parse_duration(timeout), confirm=_confirm_on_terminal())
    (environment,) = _environments(env, False)
    result = rotate_environment(_project(), environment, options, _console(as_json, quiet))
    if as_json:
        emit_json(result)


@cli.command()
@click.argument("env")
@yes_option("Do not ask; needs --confirm ENV too.")
@click.option("--confirm", "confirm_name", metavar="ENV", help="The environment's name, typed again (with --yes).")
@click.option("--remove-domains", is_flag=True, help="Also remove the environment's domains from Sekoia.io.")
@json_option("Print the result as JSON on stdout.")
@quiet_option()
def destroy(env: str, yes: bool, confirm_name: str | None, remove_domains: bool, as_json: bool, quiet: bool) -> None:
    """Tear ENV down: disable SSO in Sekoia.io, then destroy the Entra ID objects.

    Asks you to type the environment's name (or pass --yes --confirm ENV). Accounts created
    through SSO can only log in through SSO: they cannot log in once it is disabled. Verified
    domains stay unless --remove-domains. SSO that points at another application (another
    environment's) is never disabled: destroy says so and removes only ENV's own objects.
    A re-run after a partial failure finishes the job.

    Example:

    \b
        sekoia-sso destroy staging
        sekoia-sso destroy staging --yes --confirm staging --remove-domains
    """
    from orchestrator.workflows.destroy import DestroyOptions, destroy_environment

    (environment,) = _environments(env, False)
    if yes:
        if confirm_name != environment.name:
            raise click.UsageError(f"--yes needs --confirm {environment.name} (the environment's name, typed again)")
    else:
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise click.UsageError(f"no terminal to confirm on: pass --yes --confirm {environment.name}")
        typed = click.prompt(f"This disables Sekoia.io SSO and deletes the Entra ID application of "
                             f"{environment.name}. Type the environment's name to go on", err=True, default="",
                             show_default=False)
        if typed != environment.name:
            raise click.UsageError("the name does not match: nothing was changed")
    result = destroy_environment(_project(), environment, DestroyOptions(remove_domains=remove_domains),
                                 _console(as_json, quiet))
    if as_json:
        emit_json(result)


@cli.command("list")
@json_option("Print the environments as one JSON document on stdout (for a CI matrix).")
def list_(as_json: bool) -> None:
    """List every environment of envs/: region, community, tenant, backend, render current.

    Reads the files only (no Terraform, no network, no credentials), so a CI job can build its
    matrix of environments from it. An environment whose file does not load is listed with the
    reason, as are two environments naming one Sekoia.io community. Exit 0, or 2 when any
    environment has such a problem (every environment is listed still).

    Example:

    \b
        sekoia-sso list
        sekoia-sso list --json | jq -r '.environments[].name'
    """
    from orchestrator.workflows.fleet import list_environments

    rows = list_environments(_project())
    problems = [row.name for row in rows if row.problem]
    if as_json:
        emit_json({"environments": [row.to_dict() for row in rows], "exit_code": EXIT_USAGE if problems else 0})
    else:
        for row in rows:
            click.echo(row.line())
    if problems:
        click.secho(f"Error: {len(problems)} environment(s) with a problem: {', '.join(problems)}", fg="red", err=True)
        raise click.exceptions.Exit(EXIT_USAGE)


def main() -> None:
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        cli.main(prog_name="sekoia-sso", standalone_mode=True)
    except SystemExit as exc:
        # The command is over, and said how: a signal now would only replace its exit code with a traceback.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        # Click reports usage errors with exit 2 already; keep every other code as it is.
        code = exc.code if isinstance(exc.code, int) else (EXIT_USAGE if exc.code else 0)
        # All that is alive now lives until the exit: spare the interpreter's last collection a scan of
        # every loaded module (pydantic, httpx, …), tens of milliseconds on each command's way out.
        gc.freeze()
        sys.exit(code)
