"""Commands that read Terraform's plan and state: plan, output."""

from __future__ import annotations

import sys

import click

from orchestrator.commands import options
from orchestrator.exits import emit_json


@click.command()
@options.env_argument
@options.all_option
@click.option("--format", "output_format", type=click.Choice(["text", "json", "markdown"]), default=None,
              help="text for people; json for machines; markdown for a CI job summary or a pull-request comment "
                   "(one ENV). With --all: text or json, a row per environment.  [default: text]")
@options.json_option("The same as --format json.")
@options.quiet_option("Do not stream Terraform's own progress lines to stderr.")
@options.jobs_option
def plan(env: str | None, all_: bool, output_format: str | None, as_json: bool, quiet: bool, jobs: int) -> None:
    """Plan the Terraform changes of ENV and summarise them.

    Refuses when the committed terraform/envs/ENV/ is stale (run `sekoia-sso render ENV`).
    The plan is saved in the environment's data dir; `sekoia-sso apply` shows and applies a
    fresh one. Sensitive values are never shown, only the names of what changes. Also says
    what apply will do to the client secret: rotate it inside its rotation window, or move
    Sekoia.io off a secret the plan replaces; and, when access.groups is set, whether the
    tenant can assign groups at all (Entra ID P1/P2, read through Microsoft Graph): apply
    refuses a plan that assigns a group when it cannot.

    With --all, every envs/*.yaml, --jobs at a time: one table on stdout (a row per environment:
    outcome, exit code, what changes), each environment's plan on stderr in one piece, its lines
    prefixed by its name. An environment that fails (a bad file, a stale render) is its row; the
    others still run. Exit code the worst of theirs: 1, then 2, then 3, then 0.

    Example:

    \b
        sekoia-sso plan prod
        sekoia-sso plan prod --json > plan.json
        sekoia-sso plan prod --format markdown >> "$GITHUB_STEP_SUMMARY"
        sekoia-sso plan --all --json > plans.json
    """
    from orchestrator.terraform.workspace import work_elsewhere_when_read_only

    options.one_or_all(env, all_)
    if as_json and output_format not in (None, "json"):
        raise click.UsageError(f"--json means --format json: it cannot go with --format {output_format}")
    output_format = "json" if as_json else output_format or "text"
    if all_ and output_format == "markdown":
        raise click.UsageError("--format markdown plans one ENV; with --all use text or json")
    document_only = output_format != "text"  # json and markdown: stdout holds the document alone
    if document_only:
        work_elsewhere_when_read_only()  # writes nothing in the checkout: works on a read-only one
    if all_:
        from orchestrator.workflows.fleet import plan_job

        options.run_on_fleet("plan", plan_job, as_json=output_format == "json", jobs=jobs, terraform_lines=not quiet)
        return
    from orchestrator.workflows.plan import plan_environment

    (environment,) = options.environments(env, False)
    echo = options.terraform_echo(quiet or document_only)
    planned = plan_environment(options.project_dir(), environment, on_line=echo)
    if output_format == "markdown":
        from orchestrator.terraform.markdown import plan_markdown

        click.echo(plan_markdown(planned.document(), environment=environment.name), nl=False)
    elif output_format == "json":
        emit_json(planned.document())
    else:
        click.echo(planned.text(), nl=False)


@click.command()
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

    (environment,) = options.environments(env, False)
    workspace = Workspace(environment, options.project_dir())
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
