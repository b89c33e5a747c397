"""The command that checks the users through Microsoft Graph: preflight."""

from __future__ import annotations

import sys

import click

from orchestrator.commands.options import environments, project_dir


@click.command()
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

    project = project_dir()
    environment = environments(env, False)[0]
    progress = _PreflightProgress() if sys.stderr.isatty() else None
    try:
        report = run_preflight(environment, project, progress=progress)
    finally:
        if progress is not None:
            progress.clear()
    click.echo(FORMATTERS[format_](report), nl=False)
    if not warn_only:
        from orchestrator.entra.licences import refuse_unlicensed

        refuse_unlicensed(environment, report.group_assignment)
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
