"""The `sekoia-sso` command line: thin commands over the library, errors mapped to exit codes here.

Heavy libraries (httpx, jinja2, python-terraform, azure-identity) are imported inside the
commands so that `sekoia-sso --help` stays fast.
"""

from __future__ import annotations

import click

from orchestrator import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sekoia-sso")
def cli() -> None:
    """Sekoia.io single sign-on through Microsoft Entra ID, as code."""


def main() -> None:
    cli(prog_name="sekoia-sso")
