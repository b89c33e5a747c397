"""Connecting an environment to its community: domains, their verification, then the OIDC settings.

    target = SekoiaTarget.from_outputs(env, runner.outputs())          # settings.py
    plan = plan_sekoia(client, target)                                 # plan.py: what connect would change
    result = connect(client, target, check_discovery=..., handover=..., reporter=Reporter())
    connect_environment(project_dir, env, ...)                         # `sekoia-sso connect ENV`

Order, so that nothing is half-done: every read and check first (the key, the community, the
default role, the tenant's discovery document, the domains, the current OIDC settings), then the
writes: domains not registered yet (never twice), the bounded wait for Sekoia.io's team to verify
them, and the OIDC settings only once every domain is verified.

Around a write that gives Sekoia.io another secret, connect calls `handover.before_push(target)`
(Entra ID accepts it, the hand-over is recorded) and `handover.after_push(target)` (the push is
recorded): the records are behind that object so that this module runs without Terraform.

When an assumed route (domains, SSO) answers 404/405 as a missing path, the step stops and the
exact UI steps are printed with every value to paste (manual.py), then WaitingError (exit 3): no
other route is guessed. The client secret is printed only when asked (`show_secret`) and only to a
terminal.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TextIO

from orchestrator.console import Reporter, begin_step, format_duration
from orchestrator.errors import (
    DomainRejectedError,
    DomainsPendingError,
    ManualStepsRequired,
    RecordFailedError,
    SekoiaError,
    SekoiaPermissionError,
    SekoiaRouteMissingError,
    SekoiaSSOError,
    TerraformNotAppliedError,
    UsageError,
)
from orchestrator.sekoia.client import SekoiaClient
from orchestrator.sekoia.manual import manual_steps
from orchestrator.sekoia.ownership import owner_lookup, refuse_foreign
from orchestrator.sekoia.plan import (
    DomainState,
    Preconditions,
    SekoiaPlan,
    check_preconditions,
    domain_states,
    plan_sekoia,
)
from orchestrator.sekoia.routes import PERMISSION_WRITE
from orchestrator.sekoia.settings import SekoiaTarget, SsoSettings, show_value, sso_changes

DEFAULT_TIMEOUT = 15 * 60.0


# --------------------------------------------------------------------------------------------
# Errors


# --------------------------------------------------------------------------------------------
# Waiting


@dataclass(frozen=True)
class PollPolicy:
    """How often the domains are polled: a human verifies them, so start slow and slow down."""

    first: float = 10.0
    factor: float = 1.5
    maximum: float = 300.0
    tick: float = 1.0  # how often the progress line's elapsed time is refreshed on a terminal
    log_every: float = 60.0  # without a terminal (a CI log): a line at most this often, or when a domain changes


def _wait_for_domains(client: SekoiaClient, target: SekoiaTarget, states: tuple[DomainState, ...], *,
                      timeout: float, poll: PollPolicy, reporter: Reporter, clock: Callable[[], float],
                      sleep: Callable[[float], None], report: dict[str, Any]) -> tuple[DomainState, ...]:
    started = clock()
    deadline = started + timeout
    delay = poll.first
    logged: float | None = None  # without a terminal: when the waiting line was last written
    while True:
        pending = [d.name for d in states if d.status == "pending"]
        if not pending:
            reporter.end_progress()
            return states
        now = clock()
        if now >= deadline:
            reporter.end_progress()
            raise _pending_error(target, states, waited=now - started, report=report)
        wake = min(now + delay, deadline)
        while True:  # on a terminal the line's elapsed time is refreshed every tick
            if reporter.progress_is_tty:
                reporter.progress(
                    f"Waiting for Sekoia.io to verify {', '.join(pending)}: {format_duration(now - started)} "
                    f"elapsed, next check in {format_duration(max(0.0, wake - now))} "
                    f"(gives up after {format_duration(timeout)})")
            elif logged is None or now - logged >= poll.log_every:
                # a log is read later: a line when the wait starts, then at a slow pace (and each change)
                logged = now
                reporter.progress(
                    f"Waiting for Sekoia.io to verify {', '.join(pending)}: {format_duration(now - started)} "
                    f"elapsed, gives up after {format_duration(timeout)} (checked every "
                    f"{format_duration(max(1.0, poll.maximum))} at most; a line here every "
                    f"{format_duration(poll.log_every)} or when a domain changes)")
            step = wake - now if not reporter.progress_is_tty else min(wake - now, poll.tick)
            if step > 0:
                sleep(step)
            now = clock()
            if now >= wake:
                break
        delay = min(delay * poll.factor, poll.maximum)
        previous = {d.name: d.status for d in states}
        states = domain_states(target, client.domains(target.community_uuid))
        for domain in states:
            if previous.get(domain.name) != domain.status:
                reporter.note(f"  domain {domain.name}: {domain.describe()}")
                logged = None  # something changed: say where the wait stands
        _raise_if_rejected(states)


def _pending_error(target: SekoiaTarget, states: tuple[DomainState, ...], *, waited: float | None,
                   report: dict[str, Any]) -> DomainsPendingError:
    pending = tuple(d.name for d in states if d.status == "pending")
    since = "; ".join(f"{d.name} sent {d.created_at}" for d in states if d.status == "pending" and d.created_at)
    waited_text = (f"Gave up waiting after {format_duration(waited)}" if waited is not None
                   else "Not waiting (--no-wait)")
    return DomainsPendingError(
        f"Waiting for Sekoia.io to verify {', '.join(pending)}" + (f" ({since})" if since else "") + ". "
        f"{waited_text}: verification is done by Sekoia.io's team and can take hours to days. "
        f"Re-run `sekoia-sso apply {target.environment}` (or `connect`) later: it continues from here (nothing is "
        "registered twice) and configures OIDC once every domain is verified.",
        pending=pending, report={**report, "status": "waiting", "pending_domains": list(pending)})


def _raise_if_rejected(states: tuple[DomainState, ...]) -> None:
    rejected = [d for d in states if d.status == "rejected"]
    if rejected:
        reasons = "; ".join(f"{d.name}: {d.rejection_reason or 'no reason given'}" for d in rejected)
        raise DomainRejectedError(
            f"Sekoia.io rejected {', '.join(d.name for d in rejected)} ({reasons}). OIDC was not configured. "
            "Fix what the reason says (a domain must belong to your organisation), then remove the domain in "
            "Sekoia.io's UI (\"Security\" > \"Verify your domains\") and re-run to send it again, or take it out "
            "of sekoia.domains.")


# --------------------------------------------------------------------------------------------
# connect


@dataclass(frozen=True)
class ConnectResult:
    plan: SekoiaPlan
    domains: tuple[DomainState, ...]
    domains_added: tuple[str, ...]
    sso_written: bool
    secret_pushed_key_id: str | None
    login_url: str | None
    discovery: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": "done",
            "plan": self.plan.to_dict(),
            "domains": [{"name": d.name, "status": d.status} for d in self.domains],
            "domains_added": list(self.domains_added),
            "sso_written": self.sso_written,
            "secret_pushed_key_id": self.secret_pushed_key_id,
            "login_url": self.login_url,
            "discovery": self.discovery.to_dict() if hasattr(self.discovery, "to_dict") else None,
        }


def connect(
    client: SekoiaClient,
    target: SekoiaTarget,
    *,
    check_discovery: Callable[[], Any],
    handover: Handover,
    reporter: Reporter | None = None,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    poll: PollPolicy = PollPolicy(),
    show_secret: bool = False,
    show_plan: bool = True,
    owner_of: Callable[[str], str] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> ConnectResult:
    """Bring the community to `target`; writes only what differs. See the module docstring for the order.

    Raises ConfigError (exit 2: unknown community or role), SekoiaError (exit 1: refused key,
    missing permission, rejected domain, Sekoia.io failures), DomainsPendingError (exit 3: a
    re-run continues), ManualStepsRequired (exit 3: an assumed route is missing, steps printed),
    ForeignSSOError (exit 1: the community's SSO points at another application, and `target.take_over`
    is not set; `owner_of(client_id)` says which environment has it). `show_plan=False`: the caller
    printed the plan already (apply's combined plan).
    """
    run = _Connection(client, target, reporter or Reporter(), show_secret=show_secret)
    pre, discovery = run.check_before_writing(check_discovery)
    begin_step("reading the community's domains and SSO settings")
    plan = plan_sekoia(client, target, preconditions=pre)
    if show_plan:
        run.reporter.line(plan.render_text())
    run.report = {"plan": plan.to_dict()}
    if plan.refused:
        raise refuse_foreign(target, plan, owner_of)
    if "domains" in plan.missing_routes:
        raise run.manual(plan, None, operation="list_domains")
    _raise_if_rejected(plan.domains)

    added, states = run.register_domains(plan)
    if any(d.status == "pending" for d in states):
        if not wait:
            raise _pending_error(target, states, waited=None, report=run.report)
        begin_step("waiting for Sekoia.io to verify the domains")
        states = _wait_for_domains(client, target, states, timeout=timeout, poll=poll, reporter=run.reporter,
                                   clock=clock, sleep=sleep, report=run.report)
        # The wait may have lasted long: read the OIDC settings again before deciding to write.
        plan = replace(plan_sekoia(client, target, preconditions=pre), domains=states)
    _require_verified(states)

    if "sso" in plan.missing_routes:
        raise run.manual(plan, None, operation="read_sso")
    login_url = plan.login_url
    pushed: str | None = None
    if plan.write_sso:
        if plan.refused:  # read again after the wait: another environment took the community meanwhile
            raise refuse_foreign(target, plan, owner_of)
        answer = run.write_oidc(plan, pre, handover, added=added)
        pushed = target.client_secret_key_id
        login_url = (answer or {}).get("login_url") or login_url
    else:
        run.reporter.note("OIDC settings up to date; nothing written")
    if login_url:
        run.reporter.line(f"Users log in through SSO at: {login_url}")
    return ConnectResult(plan=plan, domains=states, domains_added=tuple(added), sso_written=plan.write_sso,
                         secret_pushed_key_id=pushed, login_url=login_url, discovery=discovery)


def _require_verified(states: tuple[DomainState, ...]) -> None:
    unverified = [d.name for d in states if d.status != "verified"]
    if unverified:
        raise SekoiaError(f"Sekoia.io answers an unexpected status for {', '.join(unverified)}: "
                          f"{', '.join(sorted({d.status for d in states if d.status != 'verified'}))}")


@dataclass
class _Connection:
    """One connect run: its phases share the client, the target, where it reports and the report so far."""

    client: SekoiaClient
    target: SekoiaTarget
    reporter: Reporter
    show_secret: bool = False
    report: dict[str, Any] = field(default_factory=dict)  # the document a WaitingError carries for --json

    def check_before_writing(self, check_discovery: Callable[[], Any]) -> tuple[Preconditions, Any]:
        """The target is applied, the key reaches the community and its default role, the tenant answers."""
        target, reporter = self.target, self.reporter
        if not target.applied:
            raise TerraformNotAppliedError(
                f"The Terraform half of environment {target.environment} has not been applied: there is no client "
                f"ID or secret to give Sekoia.io yet. Apply it first (`sekoia-sso apply {target.environment}`).")
        begin_step("checking the Sekoia.io API key, community and default role")
        pre = check_preconditions(self.client, target)
        role = f"; default role {target.default_role}" if target.default_role else ""
        reporter.note(f"Sekoia.io: API key of {pre.user_email or 'an API user'} reaches community "
                      f"{pre.community_name}{role}")
        # Before anything is written: Sekoia.io must not be pointed at a tenant that cannot log anyone in.
        begin_step("checking the tenant's discovery document")
        discovery = check_discovery()
        issuer = getattr(discovery, "issuer", None)
        if issuer:
            keys = len(getattr(discovery, "key_ids", ()))
            reporter.note(f"Tenant discovery document checked: issuer {issuer}, {keys} signing key(s)")
        return pre, discovery

    def register_domains(self, plan: SekoiaPlan) -> tuple[list[str], tuple[DomainState, ...]]:
        """Send each domain not registered yet for verification (never twice); the names sent, the states after."""
        client, target = self.client, self.target
        added: list[str] = []
        if plan.domains_to_add:
            begin_step("registering domains in Sekoia.io")
        for name in plan.domains_to_add:
            try:
                client.add_domain(target.community_uuid, name)
            except SekoiaRouteMissingError as exc:
                raise self.manual(plan, exc, operation="add_domain") from None
            except SekoiaPermissionError as exc:
                raise _permission_error(exc, "register the domain " + name, written=added) from None
            except SekoiaError as exc:
                if exc.status != 409:  # 409: it is there already (another run, or the UI): never twice
                    raise
            added.append(name)
            self.reporter.note(f"  domain {name}: sent for verification")
        if not added:
            return added, plan.domains
        states = domain_states(target, client.domains(target.community_uuid))
        for domain in states:
            if domain.name in added and domain.status != "pending":
                self.reporter.note(f"  domain {domain.name}: {domain.describe()}")
        _raise_if_rejected(states)
        unlisted = [d.name for d in states if d.status == "missing"]
        if unlisted:
            raise SekoiaError(f"Sekoia.io accepted {', '.join(unlisted)} (or answered that it exists) but does "
                              "not list it in the community's domains; check them in the UI before re-running")
        return added, states

    def write_oidc(self, plan: SekoiaPlan, pre: Preconditions, handover: Handover, *, added: list[str]) -> Any:
        """Write the OIDC settings, the secret with them, and check what Sekoia.io answers; its answer."""
        target, reporter = self.target, self.reporter
        begin_step("writing the OIDC settings to Sekoia.io")
        # Another secret than the one Sekoia.io holds: Entra ID must accept it first, and the hand-over
        # is recorded before the write, as from then on Sekoia.io may hold either (workflows/client_secret.py).
        new_secret = not plan.secret_current
        if new_secret:
            handover.before_push(target)
        try:
            answer = self.client.write_sso(target.community_uuid, plan.wanted, client_secret=target.client_secret)
        except SekoiaRouteMissingError as exc:
            raise self.manual(plan, exc, operation="write_sso") from None
        except SekoiaPermissionError as exc:
            raise _permission_error(exc, "write the OIDC settings", written=added) from None
        left = sso_changes(SsoSettings.from_answer(answer or {}), plan.wanted, pre.roles)
        if left:
            raise SekoiaError("Sekoia.io accepted the OIDC settings but answers different ones: "
                              + "; ".join(f"{c.name} is {show_value(c.current)}, not {show_value(c.wanted)}"
                                          for c in left))
        pushed = target.client_secret_key_id
        reporter.note(f"OIDC settings written; client secret key ID {pushed} pushed")
        if new_secret:
            reporter.note(f"Recording key ID {pushed} as the secret Sekoia.io holds (in the Terraform state)")
            begin_step("recording the pushed key ID in the Terraform state")
            try:
                handover.after_push(target)
            except SekoiaSSOError as exc:
                raise RecordFailedError(
                    f"Sekoia.io now holds the client secret with key ID {pushed}, but recording that in the "
                    f"environment's Terraform state failed: {exc}. Harmless: the hand-over stays recorded as under "
                    "way, so no run touches either secret, and the next run pushes this one again and records it."
                ) from None
        return answer

    def manual(self, plan: SekoiaPlan, error: SekoiaRouteMissingError | None, *, operation: str
               ) -> ManualStepsRequired:
        """Print the UI steps for what the API does not offer; the error to raise (exit 3).

        A missing domain route leaves the domains and SSO to do by hand; a missing SSO route, SSO only."""
        target, reporter = self.target, self.reporter
        domains = operation in ("list_domains", "add_domain")
        steps = manual_steps(target, plan, domains=domains, sso=True, show_secret=self.show_secret,
                             to_terminal=reporter.out_is_tty)
        what = "domain" if domains else "SSO"
        cause = (f"{error.method} {error.path} answered {error.status}" if error is not None
                 else f"reading the {'domains' if domains else 'SSO settings'} found no such route")
        reporter.line("")
        reporter.line(f"Manual steps: Sekoia.io's API does not offer the {what} route this tool assumes ({cause}), "
                      "so finish in the UI:")
        for step in steps:
            reporter.line("  " + step.replace("\n", "\n  "))
        reporter.line("This tool cannot check these steps through the API. Nothing else was changed in Sekoia.io.")
        safe_steps = manual_steps(target, plan, domains=domains, sso=True, show_secret=False, to_terminal=False)
        report = {**self.report, "status": "manual", "manual_steps": safe_steps}
        return ManualStepsRequired(
            f"Sekoia.io's API has no {what} route ({cause}): finish the {what} step in Sekoia.io's UI (steps "
            "printed above), then re-run. This tool never guesses another route.",
            steps=safe_steps, operation=operation, report=report)


def _permission_error(exc: SekoiaPermissionError, doing: str, *, written: list[str]) -> SekoiaPermissionError:
    done = (f" Already done before the refusal: registered {', '.join(written)}." if written
            else " Nothing was written.")
    return SekoiaPermissionError(
        f"Sekoia.io refused to {doing} (403): the API key lacks {PERMISSION_WRITE}, which configuring SSO "
        f"needs. Sekoia.io's API offers no way to read a key's permissions beforehand, so this shows at the "
        f"first write.{done} {exc}", status=exc.status, code=exc.code)


# --------------------------------------------------------------------------------------------
# Wiring: Terraform outputs in, the hand-over recorded in Terraform state


class Handover(Protocol):
    """What connect calls around a write that gives Sekoia.io another secret (rotation.TerraformSecrets)."""

    def before_push(self, target: SekoiaTarget) -> None: ...

    def after_push(self, target: SekoiaTarget) -> None: ...


def connect_environment(
    project_dir: Path,
    env: Any,
    *,
    wait: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    show_secret: bool = False,
    as_json: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    poll: PollPolicy = PollPolicy(),
    client_options: Mapping[str, Any] | None = None,
    take_over: bool = False,
) -> ConnectResult:
    """`sekoia-sso connect ENV`: Terraform outputs of terraform/envs/ENV, then the Sekoia.io half.

    With `as_json` the result document goes to `out`; a failure raises, and the CLI prints its document."""
    from orchestrator.terraform.workspace import Workspace
    from orchestrator.workflows.client_secret import push_to_sekoia

    out = out if out is not None else sys.stdout
    reporter = Reporter(out, err, results_to_err=as_json)
    workspace = Workspace(env, project_dir)
    endpoints = workspace.endpoints
    if not workspace.root_dir.is_dir():
        raise UsageError(f"terraform/envs/{env.name} does not exist: run `sekoia-sso render {env.name}`, "
                         f"then apply it")
    with SekoiaClient.for_environment(env, endpoints, **dict(client_options or {})) as client:
        begin_step(f"reading the Terraform outputs of terraform/envs/{env.name}")
        reporter.note(f"Reading the Terraform outputs of terraform/envs/{env.name}")
        runner = workspace.initialised_runner()
        result = push_to_sekoia(client, env, workspace, runner, runner.outputs(), credentials=None,
                                reporter=reporter, wait=wait, timeout=timeout, poll=poll, show_secret=show_secret,
                                take_over=take_over, owner_of=owner_lookup(project_dir, env.name))
    if as_json:
        _print_json(out, {"environment": env.name, **result.to_dict()})
    return result


def _print_json(out: TextIO, document: Mapping[str, Any]) -> None:
    out.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    out.flush()
