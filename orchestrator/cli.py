"""The `sekoia-sso` command line: the commands of orchestrator/commands/ in one group.

Exceptions become messages and exit codes in one place, orchestrator/exits.py (SSOGroup).

Heavy libraries (httpx, jinja2, pydantic, python-terraform, azure-identity) are imported
inside the commands so that `sekoia-sso --help` stays fast.
"""

from __future__ import annotations

import gc
import signal
import sys

import click

from orchestrator import __version__
from orchestrator.commands import entra, files, init, lifecycle, terraform
from orchestrator.errors import EXIT_USAGE
from orchestrator.exits import SSOGroup, raise_terminated


@click.group(cls=SSOGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sekoia-sso")
def cli() -> None:
    """Sekoia.io single sign-on through Microsoft Entra ID, as code.

    Each environment is described by envs/<env>.yaml; its Terraform root module is rendered to
    terraform/envs/<env>/ and committed. Exit codes: 0 done, 1 failed, 2 bad usage or bad
    config, 3 waiting on something outside our control (re-run later to go on), 130 after
    Ctrl-C, 143 after SIGTERM (Terraform is stopped cleanly first; a re-run goes on).
    """


for command in (files.render, files.check, files.list_, terraform.plan, terraform.output, entra.preflight,
                lifecycle.connect, lifecycle.apply, lifecycle.status, lifecycle.rotate, lifecycle.destroy):
    cli.add_command(command)
cli.add_command(init.init)


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
