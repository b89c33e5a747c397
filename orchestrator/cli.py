"""The `sekoia-sso` command line: thin commands over the library, errors mapped to exit codes here.

Heavy libraries (httpx, jinja2, pydantic, python-terraform, azure-identity) are imported
inside the commands so that `sekoia-sso --help` stays fast.
"""

from __future__ import annotations

import sys

import click

from orchestrator import __version__
from orchestrator.errors import EXIT_USAGE, SekoiaSSOError


class SSOGroup(click.Group):
    """Turns the library's exceptions into one-paragraph messages and documented exit codes."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except SekoiaSSOError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.secho("Interrupted.", fg="red", err=True)
            ctx.exit(130)


@click.group(cls=SSOGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sekoia-sso")
def cli() -> None:
    """Sekoia.io single sign-on through Microsoft Entra ID, as code.

    Each environment is described by envs/<env>.yaml; its Terraform root module is rendered to
    terraform/envs/<env>/ and committed. Exit codes: 0 done, 1 failed, 2 bad usage or bad
    config, 3 waiting on something outside our control (re-run later to go on).
    """


def _project():
    from orchestrator.config import find_project_dir

    return find_project_dir()


def _environments(env: str | None, all_: bool) -> list:
    """The environments a command acts on, loaded and validated; warnings go to stderr."""
    from orchestrator.config import environment_names, load_environment

    if bool(env) == all_:
        raise click.UsageError("name one environment (ENV) or pass --all, not both")
    project = _project()
    names = environment_names(project) if all_ else [env]
    loaded = []
    for name in names:
        environment = load_environment(project, name)
        for warning in environment.warnings:
            click.secho(warning, fg="yellow", bold=True, err=True)
        loaded.append(environment)
    return loaded


env_argument = click.argument("env", required=False, metavar="[ENV]")
all_option = click.option("--all", "all_", is_flag=True, help="Act on every envs/*.yaml.")


@cli.command()
@env_argument
@all_option
def render(env: str | None, all_: bool) -> None:
    """Render terraform/envs/ENV/ from envs/ENV.yaml.

    The output is deterministic and terraform fmt-clean; commit it with the YAML.

    Example:

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

    Prints a unified diff of what `sekoia-sso render` would change. Run it in CI.

    Example:

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
        from orchestrator.render import StaleRenderError

        raise StaleRenderError(stale)


def _terraform_echo(quiet: bool):
    """Terraform's progress lines go to stderr (dimmed), so stdout stays the command's result."""
    if quiet:
        return None
    return lambda line: click.secho(f"  {line}", dim=True, err=True)


@cli.command()
@click.argument("env")
@click.option("--json", "as_json", is_flag=True, help="Print the plan summary as JSON on stdout (for CI).")
@click.option("--quiet", "-q", is_flag=True, help="Do not stream Terraform's own progress lines to stderr.")
def plan(env: str, as_json: bool, quiet: bool) -> None:
    """Plan the Terraform changes of ENV and summarise them.

    Refuses when the committed terraform/envs/ENV/ is stale (run `sekoia-sso render ENV`).
    The plan is saved in the environment's data dir; `sekoia-sso apply` shows and applies a
    fresh one. Sensitive values are never shown, only the names of what changes.

    Example:

        sekoia-sso plan prod
        sekoia-sso plan prod --json > plan.json
    """
    from orchestrator.workspace import Workspace

    (environment,) = _environments(env, False)
    workspace = Workspace(environment, _project())
    workspace.require_current_render()
    runner = workspace.initialised_runner(on_line=_terraform_echo(quiet or as_json))
    result = runner.plan(workspace.plan_path)
    summary = runner.show_plan(result.plan_path)
    if as_json:
        click.echo(summary.to_json())
    else:
        click.echo(summary.render_text())


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
    from orchestrator.preflight import FORMATTERS, run_preflight

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
@click.option("--json", "as_json", is_flag=True, help="Print the plan and result as JSON on stdout; progress on stderr.")
def connect(env: str, wait: bool, timeout: str, show_secret: bool, as_json: bool) -> None:
    """Configure the Sekoia.io half from the Terraform outputs of terraform/envs/ENV.

    The Terraform half must be applied first. Checks the API key, community, default role
    and the tenant's discovery document, registers missing domains (never twice), waits for
    their verification, then writes the OIDC settings only when they differ or when Sekoia.io
    does not hold the current secret. Prints the users' SSO login URL. Exit 0 done, 1 failed,
    2 bad config, 3 waiting (a domain not verified yet, or steps to finish in the UI).

    Example:

    \b
        sekoia-sso connect prod
        sekoia-sso connect prod --no-wait --json
        sekoia-sso connect prod --timeout 2h
    """
    from orchestrator.sekoia_setup import connect_environment, parse_duration

    seconds = parse_duration(timeout)
    project = _project()
    environment = _environments(env, False)[0]
    connect_environment(project, environment, wait=wait, timeout=seconds, show_secret=show_secret,
                        as_json=as_json, out=sys.stdout, err=sys.stderr)


def main() -> None:
    try:
        cli.main(prog_name="sekoia-sso", standalone_mode=True)
    except SystemExit as exc:
        # Click reports usage errors with exit 2 already; keep every other code as it is.
        code = exc.code if isinstance(exc.code, int) else (EXIT_USAGE if exc.code else 0)
        sys.exit(code)
