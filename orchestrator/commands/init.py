"""`sekoia-sso init`: start a team's own infrastructure repository (orchestrator/workflows/scaffold.py)."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.argument("directory", required=False, default=".", type=click.Path(path_type=Path, file_okay=True))
@click.option("--no-module", "no_module", is_flag=True,
              help="Do not vendor the module: set terraform.module_source in envs/<env>.yaml to a git source with "
                   "?ref= or a registry source with terraform.module_version instead.")
def init(directory: Path, no_module: bool) -> None:
    """Start a repository of your own in DIRECTORY (default: the current one).

    Writes envs/example.yaml (a commented example environment), the Terraform module vendored
    into terraform/modules/sekoia-sso/, a Makefile with the usual targets (calling sekoia-sso
    from PATH), a .gitignore (state, .terraform, .sekoia-sso/) and the CI recipes under
    recipes/. It never overwrites anything: when any of these exists, it lists them and exits 2,
    having written nothing. Then copy envs/example.yaml to envs/<env>.yaml, fill it in and
    `sekoia-sso render <env>`.

    Example:

    \b
        sekoia-sso init sso-infra
        sekoia-sso init --no-module .
    """
    from orchestrator.workflows.scaffold import scaffold

    done = scaffold(directory, vendor_module=not no_module)
    click.echo(f"Created in {directory}:")
    for line in done.summary():
        click.echo(line)
    click.echo("Next: copy envs/example.yaml to envs/<env>.yaml, fill in your tenant and community, then "
               "`sekoia-sso render <env>`, review and commit.")
