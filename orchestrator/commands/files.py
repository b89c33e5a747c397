"""Commands that read and write the committed files only: render, check, list."""

from __future__ import annotations

import click

from orchestrator.commands.options import all_option, env_argument, environments, json_option, project_dir
from orchestrator.errors import EXIT_USAGE
from orchestrator.exits import emit_json


@click.command()
@env_argument
@all_option
def render(env: str | None, all_: bool) -> None:
    """Render terraform/envs/ENV/ from envs/ENV.yaml.

    The output is deterministic and terraform fmt-clean; commit it with the YAML. Every
    environment named is loaded and checked before any file is written: with --all, two
    environments naming the same sekoia.community_uuid are refused (exit 2), nothing written.

    Example:

    \b
        sekoia-sso render prod
        sekoia-sso render --all
    """
    from concurrent.futures import ThreadPoolExecutor

    from orchestrator.render import render_environment, write_rendered

    project = project_dir()
    roots = [render_environment(environment, project) for environment in environments(env, all_)]
    # Each environment's files are written all or none, each synced to disk before its rename: side by side,
    # the syncs overlap (one journal commit serves several) instead of queueing, 600 of them for 200 environments.
    with ThreadPoolExecutor(max_workers=8) as pool:
        written = pool.map(lambda root: (root, write_rendered(root, project)), roots)
        for root, changed in written:
            state = f"{len(changed)} file(s) changed" if changed else "unchanged"
            click.echo(f"{root.directory.as_posix()}: {state}")


@click.command()
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

    project = project_dir()
    stale = []
    for environment in environments(env, all_):
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


@click.command("list")
@json_option("Print the environments as one JSON document on stdout (for a CI matrix).")
def list_(as_json: bool) -> None:
    """List every environment of envs/: region, community, tenant, backend, render current.

    Reads the files only (no Terraform, no network, no credentials), so a CI job can build its
    matrix of environments from it. Each row names the variable holding the environment's
    Sekoia.io API key too: jobs sharing a key share its budget (README, "A fleet"). An
    environment whose file does not load is listed with the reason, as are two environments
    naming one Sekoia.io community. Exit 0, or 2 when any environment has such a problem (every
    environment is listed still).

    Example:

    \b
        sekoia-sso list
        sekoia-sso list --json | jq -r '.environments[].name'
    """
    from orchestrator.workflows.fleet import list_environments

    rows = list_environments(project_dir())
    problems = [row.name for row in rows if row.problem]
    if as_json:
        emit_json({"environments": [row.to_dict() for row in rows], "exit_code": EXIT_USAGE if problems else 0})
    else:
        for row in rows:
            click.echo(row.line())
    if problems:
        click.secho(f"Error: {len(problems)} environment(s) with a problem: {', '.join(problems)}", fg="red", err=True)
        raise click.exceptions.Exit(EXIT_USAGE)
