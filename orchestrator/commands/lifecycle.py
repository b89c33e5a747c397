"""Commands that change or check what is deployed: connect, apply, status, rotate, destroy."""

from __future__ import annotations

import sys

import click

from orchestrator.commands.options import (
    all_option,
    confirm_on_terminal,
    console_for,
    env_argument,
    environments,
    jobs_option,
    json_option,
    one_or_all,
    project_dir,
    quiet_option,
    run_on_fleet,
    take_over_option,
    wait_options,
    yes_option,
)
from orchestrator.exits import emit_json


@click.command()
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
    project = project_dir()
    environment = environments(env, False)[0]
    connect_environment(project, environment, wait=wait, timeout=seconds, show_secret=show_secret,
                        as_json=as_json, out=sys.stdout, err=sys.stderr, poll=poll_policy(environment),
                        take_over=take_over)


@click.command()
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
    written and it exits 1, unless --take-over. It also writes nothing and exits 1 when its
    plan assigns a group in a tenant without Entra ID P1/P2, which cannot assign groups.
    Exit 0 done, 1 failed, 2 bad config or not
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
    console = console_for(as_json, quiet)
    project = project_dir()
    # The plan is most of a no-op re-run: it starts before the config (and pydantic) loads, and is
    # dropped if the config turns out not to want it (see orchestrator/terraform/workspace.py, EarlyPlan).
    early = EarlyPlan.start(project, env, on_line=console.terraform_line, announce=console.step)
    try:
        from orchestrator.workflows.apply import ApplyOptions, apply_environment

        options = ApplyOptions(yes=yes, wait=wait, timeout=duration, max_problems=max_problems, warn_only=warn_only,
                               skip_preflight=skip_preflight, show_secret=show_secret, confirm=confirm_on_terminal(),
                               take_over=take_over)
        (environment,) = environments(env, False)
        summary = apply_environment(project, environment, options, console, early)
    finally:
        if early is not None:
            early.close()
    if as_json:
        emit_json(summary.to_dict())


@click.command()
@env_argument
@all_option
@json_option("Print the report as one JSON document on stdout (with --all: a row per environment).")
@click.option("--strict", is_flag=True, help="Exit 1 on a warning too (the secret inside its rotation window).")
@jobs_option
def status(env: str | None, all_: bool, as_json: bool, strict: bool, jobs: int) -> None:
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

    With --all, every envs/*.yaml, --jobs at a time: one table on stdout (a row per environment:
    outcome, exit code, the parts not ok), each environment's report on stderr in one piece, its
    lines prefixed by its name. An environment that fails (a bad file, Sekoia.io down) is its row;
    the others still run. Exit code the worst of theirs: 1, then 2, then 3, then 0.

    Example:

    \b
        sekoia-sso status prod
        sekoia-sso status prod --json --strict
        sekoia-sso status --all --jobs 4
    """
    from orchestrator.terraform.workspace import work_elsewhere_when_read_only

    one_or_all(env, all_)
    work_elsewhere_when_read_only()  # status writes nothing in the checkout: it works on a read-only one
    if all_:
        from orchestrator.workflows.fleet import status_job

        run_on_fleet("status", lambda project: status_job(project, strict=strict), as_json=as_json, jobs=jobs)
        return
    from orchestrator.workflows.status import StatusOptions, status_document, status_environment

    (environment,) = environments(env, False)
    code, checks = status_environment(project_dir(), environment, console_for(as_json), StatusOptions(strict=strict))
    if as_json:
        emit_json(status_document(environment, code, checks, strict=strict))
    if code:
        sys.exit(code)


@click.command()
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

    options = RotateOptions(yes=yes, wait=wait, timeout=parse_duration(timeout), confirm=confirm_on_terminal())
    (environment,) = environments(env, False)
    result = rotate_environment(project_dir(), environment, options, console_for(as_json, quiet))
    if as_json:
        emit_json(result)


@click.command()
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

    (environment,) = environments(env, False)
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
    result = destroy_environment(project_dir(), environment, DestroyOptions(remove_domains=remove_domains),
                                 console_for(as_json, quiet))
    if as_json:
        emit_json(result)
