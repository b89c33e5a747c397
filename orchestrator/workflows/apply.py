"""`sekoia-sso apply`: the whole flow of one environment, as named phases (`apply_environment`).

    plan:     Terraform plan; beside it: render current?, preflight, Sekoia.io's reads, outputs, Entra's secrets
    show:     one combined plan (Terraform + Sekoia.io + the client secret)
    confirm:  refuse SSO held by another application; ask (or --yes)
    apply:    move Sekoia.io off a secret the plan replaces; Terraform apply of the saved plan (on a
              known transient failure, terraform/transient.py: wait, plan again, apply again, bounded);
              wait until Entra ID serves the new objects
    connect:  Sekoia.io (domains, verification wait, discovery check, OIDC); rotate when due; final check
    report:   the summary

No progress file: what is done is read each time from Terraform state/outputs, Entra ID and
Sekoia.io, so any step can be re-run and a re-run with nothing to do changes nothing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.config.schema import Environment
from orchestrator.console import Console
from orchestrator.entra.adopt import PASSWORD as PASSWORD_PREFIX
from orchestrator.entra.adopt import creates
from orchestrator.errors import ConfigError, GraphNotFoundError, SekoiaSSOError, StillTransientError, TerraformError
from orchestrator.secret import reveal
from orchestrator.terraform.planview import PlanSummary
from orchestrator.terraform.workspace import EarlyPlan, Workspace, apply_plan_step
from orchestrator.workflows.client_secret import days_left
from orchestrator.workflows.common import confirm, credentials_reader, environment_lock, poll_policy, push

if TYPE_CHECKING:  # each is imported by the step that needs it
    from orchestrator.entra.licences import GroupAssignmentLicence
    from orchestrator.entra.preflight.report import PreflightReport
    from orchestrator.sekoia.client import SekoiaClient
    from orchestrator.sekoia.plan import SekoiaPlan
    from orchestrator.sekoia.settings import SekoiaTarget
    from orchestrator.terraform.runner import PlanResult, TerraformRunner
    from orchestrator.workflows.client_secret import CredentialsReader

READABLE_TIMEOUT = 120.0
TRANSIENT_RETRY_ENV = "SEKOIA_SSO_TRANSIENT_RETRY"  # "attempts,first_wait,max_wait" (terraform/transient.py)


@dataclass
class ApplyOptions:
    yes: bool = False
    wait: bool = True
    timeout: float = 15 * 60.0
    max_problems: int = 0
    warn_only: bool = False
    skip_preflight: bool = False
    show_secret: bool = False
    confirm: Callable[[str], bool] | None = None  # asks the user; None: no terminal to ask on
    rotate_when_due: bool = True
    poll: Any = None
    sekoia_client_options: dict[str, Any] = field(default_factory=dict)
    take_over: bool = False  # replace SSO that points at another application (orchestrator/sekoia/ownership.py)


@dataclass
class ApplySummary:
    environment: str
    terraform_applied: bool
    terraform_changes: dict[str, int]
    sekoia: dict[str, Any] | None
    login_url: str | None
    client_id: str | None
    client_secret_key_id: str | None
    client_secret_days_left: float | None
    rotated: bool = False
    preflight: dict[str, int] | None = None
    login_readiness: dict[str, Any] | None = None  # orchestrator/entra/login.py; None when nothing was done

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "status": "done",
            "terraform": {"applied": self.terraform_applied, "changes": self.terraform_changes},
            "sekoia": self.sekoia,
            "login_url": self.login_url,
            "client_id": self.client_id,
            "client_secret_key_id": self.client_secret_key_id,
            "client_secret_days_left": None if self.client_secret_days_left is None
            else round(self.client_secret_days_left, 1),
            "rotated": self.rotated,
            "preflight": self.preflight,
            "login_readiness": self.login_readiness,
        }


def _read_credentials(env: Environment, project_dir: Path,
                      outputs_future: Future[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Beside the plan: Entra ID's own view of the secrets (None before the first apply)."""
    outputs = outputs_future.result()
    if not outputs.get("application_object_id"):
        return None
    try:
        return credentials_reader(env, project_dir, outputs)()
    except GraphNotFoundError:  # the application itself is gone: the plan recreates it
        return []


def _read_sekoia(client: SekoiaClient, env: Environment, outputs_future: Future[dict[str, Any]],
                 take_over: bool = False) -> tuple[SekoiaTarget, SekoiaPlan]:
    """Sekoia.io's reads for the combined plan; the checks that need no Terraform output go first.

    Not the key's owner (GET /v1/me): `connect` checks every precondition again before it writes,
    and a no-op re-apply needs only the four reads left, which the client sends at once (RequestWindow)."""
    from orchestrator.sekoia.plan import check_preconditions, plan_sekoia
    from orchestrator.sekoia.settings import SekoiaTarget

    preconditions = check_preconditions(client, SekoiaTarget.from_outputs(env, {}, allow_unapplied=True),
                                        read_key_owner=False)
    target = SekoiaTarget.from_outputs(env, outputs_future.result(), allow_unapplied=True, take_over=take_over)
    return target, plan_sekoia(client, target, preconditions=preconditions)


def _preflight_report(env: Environment, project_dir: Path, options: ApplyOptions) -> PreflightReport | None:
    if options.skip_preflight:
        return None
    from orchestrator.entra.preflight.check import run_preflight

    return run_preflight(env, project_dir)


def _read_group_licence(env: Environment, project_dir: Path, options: ApplyOptions) -> GroupAssignmentLicence | None:
    """Beside the plan, when the preflight (which reads it too) is skipped: may the groups be assigned?"""
    from orchestrator.entra.graph import open_graph
    from orchestrator.entra.licences import check_group_licence

    if not options.skip_preflight or not env.config.access.groups:
        return None
    with open_graph(env, project_dir) as graph:
        return check_group_licence(graph, env)


def _show_preflight(report: PreflightReport | None, options: ApplyOptions, console: Console) -> dict[str, int] | None:
    if report is None:
        console.step("Preflight skipped (--skip-preflight)")
        return None
    console.step("Preflight: will every user who may log in get in? (Microsoft Graph)")
    counts = report.counts
    console.note(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in counts.items()))
    if report.problem_users:  # the licence of group assignment is the combined plan's to show
        from orchestrator.entra.preflight.report import format_table

        console.result(format_table(report).rstrip())
        if not options.warn_only:
            report.raise_for_problems(options.max_problems)
        console.note("continuing: --warn-only")
    return counts


def _wait_until_readable(env: Environment, project_dir: Path, outputs: dict[str, Any], console: Console) -> None:
    """The real provider's known pain: a new app or service principal is not readable everywhere at once."""
    from orchestrator.entra.graph import open_graph

    paths = [
        f"/applications/{outputs['application_object_id']}",
        f"/servicePrincipals/{outputs['service_principal_object_id']}",
    ]
    deadline = time.monotonic() + READABLE_TIMEOUT
    with open_graph(env, project_dir) as graph:
        for path in paths:
            delay = 0.2
            while True:
                try:
                    graph.get(path, {"$select": "id"})
                    break
                except GraphNotFoundError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
    console.note("application and service principal are readable in Microsoft Graph")


def _adopt_unrecorded(env: Environment, project_dir: Path, workspace: Workspace, runner: TerraformRunner,
                      summary: PlanSummary, console: Console) -> tuple[PlanResult, PlanSummary] | None:
    """Objects a killed run left in Entra ID outside the state: imported, and the plan made again (adopt.py)."""
    from orchestrator.entra.adopt import adopt_unrecorded, may_adopt
    from orchestrator.entra.graph import open_graph

    if not may_adopt(summary):
        return None
    with open_graph(env, project_dir) as graph:
        imported = adopt_unrecorded(graph, runner.import_resource, env, summary, console.note)
    if not imported:
        return None
    console.step("Planning again, with the adopted objects in the state")
    plan = runner.plan(workspace.plan_path)
    return plan, runner.show_plan(plan.plan_path) if plan.has_changes else PlanSummary()


def _transient_retry() -> Any:
    """How apply waits out transient Terraform failures: TransientRetry's defaults, or $SEKOIA_SSO_TRANSIENT_RETRY."""
    from orchestrator.terraform.transient import TransientRetry

    text = os.environ.get(TRANSIENT_RETRY_ENV, "").strip()
    if not text:
        return TransientRetry()
    try:
        return TransientRetry.from_text(text, source=TRANSIENT_RETRY_ENV)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def _remove_unrecorded_passwords(env: Environment, project_dir: Path, outputs: dict[str, Any],
                                 console: Console) -> None:
    """Once Sekoia.io holds the state's secret: the sekoia-sso passwords the state does not list go (adopt.py)."""
    from orchestrator.entra.adopt import remove_unrecorded_passwords
    from orchestrator.entra.graph import open_graph

    secrets = reveal(outputs.get("secrets")) or {}
    recorded = [str(item["key_id"]) for item in secrets.values() if isinstance(item, dict) and item.get("key_id")]
    with open_graph(env, project_dir) as graph:
        remove_unrecorded_passwords(graph, str(outputs["application_object_id"]), recorded, console.note)


def _move_off_threatened_secret(client: SekoiaClient, env: Environment, project_dir: Path, workspace: Workspace,
                                runner: TerraformRunner, outputs: dict[str, Any], options: ApplyOptions,
                                console: Console) -> tuple[PlanResult, PlanSummary]:
    """The plan would delete or replace the secret Sekoia.io holds: hand Sekoia.io over to a fresh one first.

    Only then is the plan made again (the state changed) and applied; when the hand-over fails,
    nothing of the plan is applied."""
    from orchestrator.errors import SecretUnsafeError
    from orchestrator.workflows.client_secret import APPLICATION, Ledger, SecretPlan, rotate_secret

    workspace.plan_path.unlink(missing_ok=True)
    console.step("The plan replaces the secret Sekoia.io holds: moving Sekoia.io to a fresh secret first")
    credentials = credentials_reader(env, project_dir, outputs)
    slot = rotate_secret(client, env, workspace, runner, credentials=credentials, reporter=console.reporter,
                         wait=options.wait, timeout=options.timeout, poll=poll_policy(env, options.poll),
                         why="the plan replaces the secret Sekoia.io held",
                         allowed=lambda change: change.address == APPLICATION and change.action == "update")
    console.note(f"Sekoia.io holds the secret of slot {slot.name} (key ID {slot.key_id})")
    console.step("Planning again, with Sekoia.io on the fresh secret")
    plan = runner.plan(workspace.plan_path)
    summary = runner.show_plan(plan.plan_path) if plan.has_changes else PlanSummary()
    again = SecretPlan.of(Ledger.read(runner.outputs(), credentials()), summary,
                          rotate_before_days=env.config.secret.rotate_before_days, applied=True)
    if again.threatened:
        workspace.plan_path.unlink(missing_ok=True)
        raise SecretUnsafeError("the plan would replace the fresh secret Sekoia.io now holds too; nothing more was "
                                "applied. Check what changes the secrets in Entra ID, then re-run")
    console.result("  " + summary.render_text().rstrip().replace("\n", "\n  "))
    return plan, summary


def _rotate_when_due(client: SekoiaClient, env: Environment, workspace: Workspace, runner: TerraformRunner,
                     credentials: CredentialsReader, options: Any, console: Console) -> bool:
    """Rotate when the held secret is inside its rotation window (or expired): no file changes."""
    from orchestrator.workflows.client_secret import Ledger, rotate_secret

    held = Ledger.read(runner.outputs(), credentials()).held
    left = held.days_left if held is not None else None
    window = env.config.secret.rotate_before_days
    if not getattr(options, "rotate_when_due", True) or held is None or left is None or left > window:
        return False
    console.step(f"The client secret of slot {held.name} " + (f"expired {-left:.0f} days ago" if left <= 0 else
                 f"expires in {left:.0f} days") + f" (window: {window}): rotating it")
    slot = rotate_secret(client, env, workspace, runner, credentials=credentials, reporter=console.reporter,
                         wait=options.wait, timeout=options.timeout, poll=poll_policy(env, options.poll),
                         why="inside the rotation window")
    console.note(f"rotated: Sekoia.io holds the secret of slot {slot.name} (key ID {slot.key_id})")
    return True


class _ApplyRun:
    """One apply, phase by phase; each phase leaves on `self` what the next one reads."""

    def __init__(self, project_dir: Path, env: Environment, workspace: Workspace, options: ApplyOptions,
                 console: Console, pool: ThreadPoolExecutor):
        self.project_dir, self.env, self.workspace = project_dir, env, workspace
        self.options, self.console, self.pool = options, console, pool
        self.client: Any = None
        self.preflight_future: Future | None = None  # set once the reads beside the plan start
        self.futures: list[Future] = []
        self.adopted: tuple[Any, PlanSummary] | None = None
        self.result: Any = None
        self.rotated = False
        self.licence: GroupAssignmentLicence | None = None
        self.login_readiness: dict[str, Any] | None = None

    def plan_with_reads_beside(self, early: EarlyPlan | None) -> None:
        """The plan goes first, as it takes longest; everything else runs beside it: the render check,
        Graph (preflight), Sekoia.io's reads and the outputs. A plan changes nothing, so when a check
        fails it is stopped (as Ctrl-C would) and dropped."""
        if early is None:
            self.console.step(apply_plan_step(self.env.name))
            self.runner = self.workspace.initialised_runner(on_line=self.console.terraform_line)
            self.stop_plan = threading.Event()
            plan_future = self.pool.submit(self.runner.plan, self.workspace.plan_path, cancel=self.stop_plan)
        else:
            self.runner, self.stop_plan, plan_future = early.runner, early.cancel, early.future
        render_future = self.pool.submit(self.workspace.require_current_render)
        render_future.add_done_callback(self._stop_plan_when_failed)
        self.futures = [plan_future, render_future]
        try:
            self._read_beside(plan_future, render_future)
        except BaseException as error:
            self._drop_plan(error, render_future)
            raise

    def _stop_plan_when_failed(self, check: Future) -> None:
        if check.exception() is not None:
            self.stop_plan.set()

    def _read_beside(self, plan_future: Future, render_future: Future) -> None:
        # imported once the plan runs: httpx and the clients take a tenth of a second to load
        from orchestrator.sekoia.client import SekoiaClient

        env, project_dir, options, pool = self.env, self.project_dir, self.options, self.pool
        self.preflight_future = pool.submit(_preflight_report, env, project_dir, options)
        self.licence_future = pool.submit(_read_group_licence, env, project_dir, options)
        self.outputs_future = pool.submit(self.workspace.runner().outputs)  # its own runner: no state shared
        self.credentials_future = pool.submit(_read_credentials, env, project_dir, self.outputs_future)
        self.futures += [self.preflight_future, self.licence_future, self.outputs_future, self.credentials_future]
        self.client = SekoiaClient.for_environment(env, self.workspace.endpoints, **options.sekoia_client_options)
        self.sekoia_future = pool.submit(_read_sekoia, self.client, env, self.outputs_future, options.take_over)
        self.futures.append(self.sekoia_future)
        render_future.result()  # a stale render stops here, whatever the plan did
        self.plan = plan_future.result()
        self.tf_summary = self.runner.show_plan(self.plan.plan_path) if self.plan.has_changes else PlanSummary()
        self.adopted = _adopt_unrecorded(env, project_dir, self.workspace, self.runner, self.tf_summary,
                                         self.console)
        if self.adopted:
            self.plan, self.tf_summary = self.adopted

    def _drop_plan(self, error: BaseException, render_future: Future) -> None:
        self.stop_plan.set()
        wait(self.futures)
        self.workspace.plan_path.unlink(missing_ok=True)
        if self.client is not None:
            self.client.close()
        if not isinstance(error, KeyboardInterrupt):
            # What to fix first: a stale render; then a bad name in `access`, which fails the plan
            # too but whose preflight message says it better.
            stale = render_future.exception()
            if stale is not None:
                raise stale from None
            bad_access = self.preflight_future.exception() if self.preflight_future is not None else None
            if isinstance(bad_access, ConfigError):
                raise bad_access from None

    def gather_reads(self) -> None:
        from orchestrator.workflows.client_secret import Ledger, SecretPlan

        try:
            assert self.preflight_future is not None  # plan_with_reads_beside ran
            preflight_report = self.preflight_future.result()
            self.target, self.sekoia_plan = self.sekoia_future.result()
            self.outputs = self.outputs_future.result()
            ledger = Ledger.read(self.outputs, self.credentials_future.result())
            self.secret_plan = SecretPlan.of(ledger, self.tf_summary, applied=self.target.applied,
                                             rotate_before_days=self.env.config.secret.rotate_before_days)
            self.licence = (preflight_report.group_assignment if preflight_report is not None
                            else self.licence_future.result())
            self.preflight = _show_preflight(preflight_report, self.options, self.console)
        except BaseException:
            self.workspace.plan_path.unlink(missing_ok=True)
            raise

    def show_combined_plan(self) -> None:
        result = self.console.result
        result("Terraform:")
        result("  " + self.tf_summary.render_text().rstrip().replace("\n", "\n  "))
        result("Sekoia.io:")
        result("  " + self.sekoia_plan.render_text().rstrip().replace("\n", "\n  "))
        secret_lines = self.secret_plan.lines()
        if secret_lines:
            result("Client secret:")
            for line in secret_lines:
                result("  " + line)
        if self.licence is not None:
            result("Entra ID licence:")
            result(f"  {self.licence.describe()}")

    def refuse_unlicensed(self) -> None:
        """Before anything is written: groups a tenant without P1/P2 would refuse halfway through the apply.

        Only when the plan assigns a group: a run that assigns none (a rotation, a no-op) goes on."""
        from orchestrator.entra.licences import plan_assigns_group, refuse_unlicensed

        if not plan_assigns_group(self.tf_summary):
            return
        try:
            refuse_unlicensed(self.env, self.licence)
        except BaseException:
            self.workspace.plan_path.unlink(missing_ok=True)
            raise

    def refuse_foreign_orconfirm(self) -> None:
        """Sets `anything`: whether there is work (changes, or a domain Sekoia.io still verifies)."""
        from orchestrator.sekoia.ownership import owner_lookup, refuse_foreign

        self.owner = owner_lookup(self.project_dir, self.env.name)
        if self.sekoia_plan.refused:  # before anything is written, in Entra ID as in Sekoia.io
            self.workspace.plan_path.unlink(missing_ok=True)
            raise refuse_foreign(self.target, self.sekoia_plan, self.owner)
        # A domain Sekoia.io has not verified yet is not done, even with nothing to write: connect waits.
        pending = [d.name for d in self.sekoia_plan.domains if d.status == "pending"]
        changes = self.plan.has_changes or self.sekoia_plan.has_changes or self.secret_plan.has_work
        self.anything = changes or bool(pending)
        if not self.anything:
            self.console.step("Nothing to do: the Terraform plan is empty and Sekoia.io already matches")
            self.workspace.plan_path.unlink(missing_ok=True)
        elif not changes:
            self.console.step(f"Nothing to change; {', '.join(pending)} still "
                              f"{'waits' if len(pending) == 1 else 'wait'} for Sekoia.io's verification")
        else:
            confirm(self.options, f"Apply these changes to environment {self.env.name}?")

    def apply_terraform(self) -> None:
        if self.secret_plan.threatened:
            self.plan, self.tf_summary = _move_off_threatened_secret(
                self.client, self.env, self.project_dir, self.workspace, self.runner, self.outputs, self.options,
                self.console)
        if self.plan.has_changes:
            self.console.step("Applying the saved Terraform plan")
            self._apply_through_lag()
        self.workspace.plan_path.unlink(missing_ok=True)
        # With nothing applied, the outputs read beside the plan are still those of the state.
        if self.plan.has_changes or self.adopted or self.secret_plan.threatened:
            self.outputs = self.runner.outputs()
        if self.plan.has_changes:
            self.console.step("Waiting until Entra ID serves the new objects")
            _wait_until_readable(self.env, self.project_dir, self.outputs, self.console)

    def _apply_through_lag(self) -> None:
        """Apply the saved plan; on a failure known to be Entra ID's replication lag (every error of it in
        terraform/transient.py's table), say so, wait, plan again (adopting what the provider dropped from the
        state) and apply that plan, up to the attempts allowed; then StillTransientError."""
        from orchestrator.terraform.transient import transient_failure

        retry = _transient_retry()
        plan, attempt = self.plan, 1
        while True:
            try:
                self.runner.apply(plan.plan_path)
                return
            except TerraformError as exc:
                pattern = transient_failure(exc.diagnostics) if type(exc) is TerraformError else None
                if pattern is None:
                    raise
                if attempt >= retry.attempts:
                    raise StillTransientError(
                        f"Terraform apply still failed after {attempt} attempts on a failure known to be Entra ID's "
                        f"replication lag ({pattern.name}: {pattern.why}). Entra ID has not caught up yet; run apply "
                        f"again in a few minutes: it goes on from where this run stopped. The last failure: {exc}",
                        command="apply", returncode=exc.returncode, diagnostics=exc.diagnostics) from None
            attempt += 1
            pause = retry.wait_before(attempt)
            self.console.note(f"Terraform apply failed on a known transient error, {pattern.name}: {pattern.why}. "
                              f"Waiting {pause:g} s for Entra ID to catch up, then planning again and applying "
                              f"(attempt {attempt} of {retry.attempts})")
            time.sleep(pause)
            self.console.step("Planning again after the transient failure")
            plan = self.runner.plan(self.workspace.plan_path)
            summary = self.runner.show_plan(plan.plan_path) if plan.has_changes else PlanSummary()
            adopted = _adopt_unrecorded(self.env, self.project_dir, self.workspace, self.runner, summary,
                                        self.console)
            if adopted:
                plan = adopted[0]
            if not plan.has_changes:
                return
            self.console.step(f"Applying the new plan (attempt {attempt} of {retry.attempts})")

    def configure_sekoia(self) -> None:
        from orchestrator.sekoia.plan import plan_sekoia
        from orchestrator.sekoia.settings import SekoiaTarget

        if not self.anything:
            self.login_url = self.sekoia_plan.login_url
            return
        env, console = self.env, self.console
        console.step("Configuring Sekoia.io")
        credentials = credentials_reader(env, self.project_dir, self.outputs)
        ours = (self.target.client_id,) if self.target.applied else ()  # before a re-creation of the application
        self.result = push(self.client, env, self.workspace, self.runner, self.outputs, credentials, self.options,
                           console, take_over=self.options.take_over, previous_client_ids=ours, owner_of=self.owner,
                           show_plan=False)  # the combined plan above showed it
        self.rotated = _rotate_when_due(self.client, env, self.workspace, self.runner, credentials, self.options,
                                        console)
        self.outputs = self.runner.outputs()
        if self.secret_plan.lost:
            console.result(f"SSO logins were broken until now: {self.secret_plan.lost}. Sekoia.io now holds a "
                           f"working secret (key ID {reveal(self.outputs.get('sekoia_pushed_secret_key_id'))}).")
        console.step("Verifying that Sekoia.io holds what Terraform made")
        final = plan_sekoia(self.client, SekoiaTarget.from_outputs(env, self.outputs))
        if final.has_changes:
            raise SekoiaSSOError("Sekoia.io does not hold the wanted configuration after the write: "
                                 + json.dumps(final.to_dict()["sso"], sort_keys=True))
        self.login_url = self.result.login_url or final.login_url
        self.login_readiness = _check_login(env, self.workspace, self.outputs, self.login_url, console)
        if creates(self.tf_summary, PASSWORD_PREFIX):  # a killed run may have made one the state lacks
            _remove_unrecorded_passwords(env, self.project_dir, self.outputs, console)

    def report(self) -> ApplySummary:
        outputs, left = self.outputs, days_left(reveal(self.outputs.get("client_secret_end_date")))
        summary = ApplySummary(
            environment=self.env.name,
            terraform_applied=self.plan.has_changes,
            terraform_changes=self.tf_summary.counts(),
            sekoia=(self.result.to_dict() if self.result
                    else {"status": "unchanged", "plan": self.sekoia_plan.to_dict()}),
            login_url=self.login_url,
            client_id=reveal(outputs.get("client_id")),
            client_secret_key_id=reveal(outputs.get("client_secret_key_id")),
            client_secret_days_left=left,
            rotated=self.rotated,
            preflight=self.preflight,
            login_readiness=self.login_readiness,
        )
        result = self.console.result
        self.console.step("Done")
        result(f"Environment {self.env.name} is configured.")
        if summary.client_id:
            result(f"  client ID          {summary.client_id}")
        if summary.client_secret_key_id:
            days = f" ({left:.0f} days left)" if left is not None else ""
            result(f"  client secret      key ID {summary.client_secret_key_id}{days}")
        if self.login_url:
            result(f"  SSO login URL      {self.login_url}")
        return summary


def _check_login(env: Environment, workspace: Workspace, outputs: dict[str, Any], login_url: str | None,
                 console: Console) -> dict[str, Any]:
    """`login readiness`, once Sekoia.io holds its settings; a secret still propagating is waited out (bounded)."""
    from orchestrator.entra.login import check_login_readiness
    from orchestrator.sekoia.settings import SekoiaTarget
    from orchestrator.workflows.client_secret import ACCEPT_TIMEOUT
    from orchestrator.workflows.status import login_attempt

    console.step("Checking login readiness")
    url, user = login_attempt(env, login_url)
    ready = check_login_readiness(SekoiaTarget.from_outputs(env, outputs), env.config.sekoia.redirect_uris[0],
                                  endpoints=workspace.endpoints, env_name=env.name, sandbox_user=user,
                                  login_url=url, wait_s=ACCEPT_TIMEOUT, on_wait=console.result)
    console.result(f"login readiness: {ready.describe()}")
    return ready.to_dict()


def apply_environment(project_dir: Path, env: Environment, options: ApplyOptions, console: Console,
                      early: EarlyPlan | None = None) -> ApplySummary:
    """`early`: the plan EarlyPlan.start began before `env` was loaded; taken when it is the plan this apply
    needs, else dropped (the caller closes it in any case: a no-op once taken)."""
    workspace = Workspace(env, project_dir)
    workspace.require_rendered_root()
    _transient_retry()  # a bad $SEKOIA_SSO_TRANSIENT_RETRY stops the run (exit 2) before anything is done
    if early is not None and not early.take(workspace):
        early.close()
        early = None
    with environment_lock(workspace, early.lock if early else None), ThreadPoolExecutor(max_workers=5) as pool:
        run = _ApplyRun(project_dir, env, workspace, options, console, pool)
        run.plan_with_reads_beside(early)
        with run.client:
            run.gather_reads()
            run.show_combined_plan()
            run.refuse_unlicensed()
            run.refuse_foreign_orconfirm()
            run.apply_terraform()
            run.configure_sekoia()
    return run.report()
