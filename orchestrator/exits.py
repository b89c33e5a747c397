"""How a run of `sekoia-sso` ends: the one place where the library's exceptions become a message and
an exit code (each exception's `exit_code`, drawn in orchestrator/errors.py), and where a --json run
gets its one JSON document whatever the ending (an error, bad usage, waiting, a signal).
"""

from __future__ import annotations

import signal
from typing import Any

import click

from orchestrator.errors import SekoiaSSOError


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, a stopped container), met as Ctrl-C is: every step that runs Terraform
    stops it with SIGINT and waits for it to exit, so the state is written and its lock released."""


def raise_terminated(signum: int, frame: object) -> None:
    raise Terminated()


class SSOGroup(click.Group):
    """Turns the library's exceptions into one-paragraph messages and documented exit codes.

    And the one place where a command run with --json that does not finish with its own document gets
    one: whatever the exit code (a failure, bad usage, waiting on Sekoia.io, a signal), stdout holds
    exactly one JSON document (see `_error_document`), and the message goes to stderr as without --json.
    """

    def invoke(self, ctx: click.Context) -> Any:
        from orchestrator.console import begin_step

        protected = getattr(ctx, "_protected_args", None) or getattr(ctx, "protected_args", None) or []
        args = [*protected, *ctx.args]
        json_run = _json_run(self, args)
        begin_step(None)
        try:
            return super().invoke(ctx)
        except SekoiaSSOError as exc:
            if json_run:
                emit_json(_error_document(ctx, json_run, exc.exit_code, str(exc), getattr(exc, "report", None)))
            click.secho(f"Error: {exc}", fg="red", err=True)
            ctx.exit(exc.exit_code)
        except click.ClickException as exc:  # bad usage (exit 2), as Click reports it
            if json_run:
                emit_json(_error_document(ctx, json_run, exc.exit_code, exc.format_message()))
            raise
        except click.exceptions.Exit:
            raise
        except click.Abort:
            if json_run:
                emit_json(_error_document(ctx, json_run, 1, "aborted"))
            raise
        except OSError as exc:  # a file the library did not expect to fail (a read-only checkout, a full disk)
            where = f" {exc.filename}" if exc.filename else ""
            message = f"cannot use{where}: {exc.strerror or exc}; nothing more was done"
            if json_run:
                emit_json(_error_document(ctx, json_run, 1, message))
            click.secho(f"Error: {message}", fg="red", err=True)
            ctx.exit(1)
        except Terminated:
            if json_run:
                emit_json(_error_document(ctx, json_run, 128 + signal.SIGTERM, "terminated (SIGTERM)"))
            click.secho("Terminated.", fg="red", err=True)
            ctx.exit(128 + signal.SIGTERM)
        except KeyboardInterrupt:
            if json_run:
                emit_json(_error_document(ctx, json_run, 130, "interrupted (Ctrl-C)"))
            click.secho("Interrupted.", fg="red", err=True)
            ctx.exit(130)
        except Exception as exc:  # a bug: its traceback follows on stderr, and --json still answers
            if json_run:
                emit_json(_error_document(ctx, json_run, 1, f"internal error: {type(exc).__name__}: {exc}"))
            raise


def _json_run(group: click.Group, args: list[str]) -> tuple[click.Command, str, list[str]] | None:
    """(command, its name, its arguments) when `args` run a command that takes --json with --json; else None."""
    if not args or args[0] not in group.commands:
        return None
    command = group.commands[args[0]]
    rest = args[1:]
    given = rest[:rest.index("--")] if "--" in rest else rest
    takes = any("--json" in getattr(param, "opts", ()) for param in command.params)
    # `plan --format json` is `plan --json` spelled otherwise: its failures are one document too
    as_json = "--json" in given or "--format=json" in given or any(
        flag == "--format" and value == "json" for flag, value in zip(given, given[1:], strict=False))
    return (command, args[0], rest) if takes and as_json else None


def _error_document(ctx: click.Context, json_run: tuple[click.Command, str, list[str]], code: int, message: str,
                    report: dict | None = None) -> dict:
    """What a --json run prints when it ends without its result: status, exit code, message, the failed step."""
    from orchestrator.console import current_step

    command, name, rest = json_run
    try:  # the environment's name, even when the arguments did not parse
        environment = command.make_context(name, list(rest), parent=ctx, resilient_parsing=True).params.get("env")
    except Exception:  # noqa: BLE001 - the document is printed without it
        environment = None
    report = dict(report or {})
    status = {3: report.get("status", "waiting"), 130: "interrupted", 143: "interrupted"}.get(code, "failed")
    return {**report, "command": name, "environment": environment, "status": status, "exit_code": code,
            "message": message, "step": current_step() or f"starting `sekoia-sso {name}`"}


def emit_json(document: dict) -> None:
    import json

    click.echo(json.dumps(document, indent=2, sort_keys=True, default=str))
