"""What users run: apply, status, rotate and destroy of one environment.

    apply:   Terraform plan, beside it render current?, preflight and Sekoia.io's reads
             → one combined plan (Terraform + Sekoia.io) → confirm
             → Terraform apply of the saved plan → app and service principal readable
             → Sekoia.io (domains, verification wait, discovery check, OIDC) → final check → summary
    rotate:  a second secret slot beside the first → Terraform apply → push it to Sekoia.io →
             check Entra accepts it and Sekoia.io holds it → only then remove the old slot
    destroy: disable SSO in Sekoia.io → (remove domains) → Terraform destroy
    status:  each part read from its source of truth and compared with the config

No progress file: what is done is read each time from Terraform state/outputs, Entra ID and
Sekoia.io, so any step can be re-run and a re-run with nothing to do changes nothing.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.adopt import PASSWORD as PASSWORD_PREFIX
from orchestrator.adopt import creates
from orchestrator.config import Environment
from orchestrator.errors import EXIT_FAILED, EXIT_OK, EXIT_WAITING, ConfigError, SekoiaSSOError, UsageError
from orchestrator.planview import PlanSummary
from orchestrator.rotation import days_left
from orchestrator.secret import reveal
from orchestrator.terminal import Console
from orchestrator.workspace import EarlyPlan, EnvironmentLock, Workspace, apply_plan_step

READABLE_TIMEOUT = 120.0


@contextmanager
def environment_lock(workspace: Workspace, held: EnvironmentLock | None = None) -> Iterator[None]:
    """One run per environment at a time (EnvironmentBusyError for the second); `held`: already taken."""
    lock = held or workspace.site.lock().acquire()
    try:
        yield
    finally:
        lock.release()




def poll_policy(env: Environment, given: Any = None):
    """How often to poll pending domains: a human verifies them in Sekoia.io; the sandbox's emulator in seconds."""
    from orchestrator.sekoia.connect import PollPolicy

    if given is not None:
        return given
    return PollPolicy(first=0.2, factor=1.5, maximum=1.0, tick=0.5) if env.config.sandbox else PollPolicy()




# ----------------------------------------------------------------------------------------------
# apply


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
        }


def _credentials_reader(env: Environment, project_dir: Path, outputs: dict[str, Any]) -> Callable[[], list]:
    """Reads Entra ID's password credentials of the environment's application afresh at each call."""
    from orchestrator.graph import open_graph
    from orchestrator.rotation import read_credentials

    def read() -> list:
        with open_graph(env, project_dir) as graph:
            return read_credentials(graph, str(outputs["application_object_id"]))

    return read


def _read_credentials(env: Environment, project_dir: Path, outputs_future) -> list | None:
    """Beside the plan: Entra ID's own view of the secrets (None before the first apply)."""
    outputs = outputs_future.result()
    if not outputs.get("application_object_id"):
        return None
    try:
        return _credentials_reader(env, project_dir, outputs)()
    except SekoiaSSOError as exc:
        if getattr(exc, "status", None) == 404:  # the application itself is gone: the plan recreates it
            return []
        raise


def _read_sekoia(client, env: Environment, outputs_future, take_over: bool = False):
    """Sekoia.io's reads for the combined plan; the checks that need no Terraform output go first.

    Not the key's owner (GET /v1/me): `connect` checks every precondition again before it writes,
    and a no-op re-apply needs only the four reads left, which the client sends at once (RequestWindow)."""
    from orchestrator.sekoia.plan import check_preconditions, plan_sekoia
    from orchestrator.sekoia.settings import SekoiaTarget

    preconditions = check_preconditions(client, SekoiaTarget.from_outputs(env, {}, allow_unapplied=True),
                                        read_key_owner=False)
    target = SekoiaTarget.from_outputs(env, outputs_future.result(), allow_unapplied=True, take_over=take_over)
    return target, plan_sekoia(client, target, preconditions=preconditions)


def _preflight_report(env: Environment, project_dir: Path, options: ApplyOptions):
    if options.skip_preflight:
        return None
    from orchestrator.preflight import run_preflight

    return run_preflight(env, project_dir)


def _show_preflight(report, options: ApplyOptions, console: Console) -> dict[str, int] | None:
    if report is None:
        console.step("Preflight skipped (--skip-preflight)")
        return None
    console.step("Preflight: will every user who may log in get in? (Microsoft Graph)")
    counts = report.counts
    console.note(", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in counts.items()))
    if not report.ok:
        from orchestrator.preflight import format_table

        console.result(format_table(report).rstrip())
        if not options.warn_only:
            report.raise_for_problems(options.max_problems)
        console.note("continuing: --warn-only")
    return counts


def _wait_until_readable(env: Environment, project_dir: Path, outputs: dict[str, Any], console: Console) -> None:
    """The real provider's known pain: a new app or service principal is not readable everywhere at once."""
    from orchestrator.graph import open_graph

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
                except SekoiaSSOError as exc:
                    if getattr(exc, "status", None) != 404 or time.monotonic() > deadline:
                        raise
                    time.sleep(delay)
                    delay = min(delay * 2, 5.0)
    console.note("application and service principal are readable in Microsoft Graph")


def _adopt_unrecorded(env: Environment, project_dir: Path, workspace: Workspace, runner, summary: PlanSummary,
                      console: Console) -> tuple[Any, PlanSummary] | None:
    """Objects a killed run left in Entra ID outside the state: imported, and the plan made again (adopt.py)."""
    from orchestrator.adopt import adopt_unrecorded, may_adopt
    from orchestrator.graph import open_graph

    if not may_adopt(summary):
        return None
    with open_graph(env, project_dir) as graph:
        imported = adopt_unrecorded(graph, runner.import_resource, env, summary, console.note)
    if not imported:
        return None
    console.step("Planning again, with the adopted objects in the state")
    plan = runner.plan(workspace.plan_path)
    return plan, runner.show_plan(plan.plan_path) if plan.has_changes else PlanSummary()


def _remove_unrecorded_passwords(env: Environment, project_dir: Path, outputs: dict[str, Any],
                                 console: Console) -> None:
    """Once Sekoia.io holds the state's secret: the sekoia-sso passwords the state does not list go (adopt.py)."""
    from orchestrator.adopt import remove_unrecorded_passwords
    from orchestrator.graph import open_graph

    secrets = reveal(outputs.get("secrets")) or {}
    recorded = [item.get("key_id") for item in secrets.values() if isinstance(item, dict)]
    with open_graph(env, project_dir) as graph:
        remove_unrecorded_passwords(graph, str(outputs["application_object_id"]), recorded, console.note)


def _push(client, env: Environment, workspace: Workspace, runner, outputs: dict[str, Any], credentials,
          options: Any, console: Console, **connect_options: Any):
    """rotation.push_to_sekoia with the run's options; `connect_options` go through to connect."""
    from orchestrator.rotation import push_to_sekoia

    return push_to_sekoia(client, env, workspace, runner, outputs, credentials=credentials,
                          reporter=console.reporter, wait=options.wait, timeout=options.timeout,
                          poll=poll_policy(env, options.poll), show_secret=getattr(options, "show_secret", False),
                          **connect_options)


def _move_off_threatened_secret(client, env: Environment, project_dir: Path, workspace: Workspace, runner,
                                outputs: dict[str, Any], options: ApplyOptions, console: Console):
    """The plan would delete or replace the secret Sekoia.io holds: hand Sekoia.io over to a fresh one first.

    Only then is the plan made again (the state changed) and applied; when the hand-over fails,
    nothing of the plan is applied."""
    from orchestrator.rotation import APPLICATION, Ledger, SecretPlan, SecretUnsafeError, rotate_secret

    workspace.plan_path.unlink(missing_ok=True)
    console.step("The plan replaces the secret Sekoia.io holds: moving Sekoia.io to a fresh secret first")
    credentials = _credentials_reader(env, project_dir, outputs)
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


def _rotate_when_due(client, env: Environment, workspace: Workspace, runner, credentials, options: Any,
                     console: Console) -> bool:
    """Rotate when the held secret is inside its rotation window (or expired): no file changes."""
    from orchestrator.rotation import Ledger, rotate_secret

    held = Ledger.read(runner.outputs(), credentials()).held
    left = held.days_left if held is not None else None
    window = env.config.secret.rotate_before_days
    if not getattr(options, "rotate_when_due", True) or left is None or left > window:
        return False
    console.step(f"The client secret of slot {held.name} " + (f"expired {-left:.0f} days ago" if left <= 0 else
                 f"expires in {left:.0f} days") + f" (window: {window}): rotating it")
    slot = rotate_secret(client, env, workspace, runner, credentials=credentials, reporter=console.reporter,
                         wait=options.wait, timeout=options.timeout, poll=poll_policy(env, options.poll),
                         why="inside the rotation window")
    console.note(f"rotated: Sekoia.io holds the secret of slot {slot.name} (key ID {slot.key_id})")
    return True


def apply_environment(project_dir: Path, env: Environment, options: ApplyOptions, console: Console,
                      early: EarlyPlan | None = None) -> ApplySummary:
    """`early`: the plan EarlyPlan.start began before `env` was loaded; taken when it is the plan this apply
    needs, else dropped (the caller closes it in any case: a no-op once taken)."""
    workspace = Workspace(env, project_dir)
    workspace.require_rendered_root()
    if early is not None and not early.take(workspace):
        early.close()
        early = None
    with environment_lock(workspace, early.lock if early else None), ThreadPoolExecutor(max_workers=5) as pool:
        endpoints = workspace.endpoints
        # The plan goes first, as it takes longest; everything else runs beside it: the render check,
        # Graph (preflight), Sekoia.io's reads and the outputs. A plan changes nothing, so when a check
        # fails it is stopped (as Ctrl-C would) and dropped.
        if early is None:
            console.step(apply_plan_step(env.name))
            runner = workspace.initialised_runner(on_line=console.terraform_line)
            stop_plan = threading.Event()
            plan_future = pool.submit(runner.plan, workspace.plan_path, cancel=stop_plan)
        else:
            runner, stop_plan, plan_future = early.runner, early.cancel, early.future
        render_future = pool.submit(workspace.require_current_render)
        render_future.add_done_callback(lambda done: done.exception() is not None and stop_plan.set())
        futures = [plan_future, render_future]
        client = None
        try:
            # imported once the plan runs: httpx and the clients take a tenth of a second to load
            from orchestrator.rotation import Ledger, SecretPlan
            from orchestrator.sekoia.client import SekoiaClient
            from orchestrator.sekoia.ownership import owner_lookup, refuse_foreign
            from orchestrator.sekoia.plan import plan_sekoia
            from orchestrator.sekoia.settings import SekoiaTarget

            preflight_future = pool.submit(_preflight_report, env, project_dir, options)
            outputs_future = pool.submit(workspace.runner().outputs)  # its own runner: no state shared
            credentials_future = pool.submit(_read_credentials, env, project_dir, outputs_future)
            futures += [preflight_future, outputs_future, credentials_future]
            client = SekoiaClient.for_environment(env, endpoints, **options.sekoia_client_options)
            sekoia_future = pool.submit(_read_sekoia, client, env, outputs_future, options.take_over)
            futures.append(sekoia_future)
            render_future.result()  # a stale render stops here, whatever the plan did
            plan = plan_future.result()
            tf_summary = runner.show_plan(plan.plan_path) if plan.has_changes else PlanSummary()
            adopted = _adopt_unrecorded(env, project_dir, workspace, runner, tf_summary, console)
            if adopted:
                plan, tf_summary = adopted
        except BaseException as error:
            stop_plan.set()
            wait(futures)
            workspace.plan_path.unlink(missing_ok=True)
            if client is not None:
                client.close()
            if not isinstance(error, KeyboardInterrupt):
                # What to fix first: a stale render; then a bad name in `access`, which fails the plan
                # too but whose preflight message says it better.
                if render_future.exception() is not None:
                    raise render_future.exception() from None
                if len(futures) > 2 and isinstance(preflight_future.exception(), ConfigError):
                    raise preflight_future.exception() from None
            raise
        with client:
            try:
                preflight_report = preflight_future.result()
                target, sekoia_plan = sekoia_future.result()
                outputs = outputs_future.result()
                secret_plan = SecretPlan.of(Ledger.read(outputs, credentials_future.result()), tf_summary,
                                            rotate_before_days=env.config.secret.rotate_before_days,
                                            applied=target.applied)
                preflight = _show_preflight(preflight_report, options, console)
            except BaseException:
                workspace.plan_path.unlink(missing_ok=True)
                raise

            console.result("Terraform:")
            console.result("  " + tf_summary.render_text().rstrip().replace("\n", "\n  "))
            console.result("Sekoia.io:")
            console.result("  " + sekoia_plan.render_text().rstrip().replace("\n", "\n  "))
            secret_lines = secret_plan.lines()
            if secret_lines:
                console.result("Client secret:")
                for line in secret_lines:
                    console.result("  " + line)

            owner = owner_lookup(project_dir, env.name)
            if sekoia_plan.refused:  # before anything is written, in Entra ID as in Sekoia.io
                workspace.plan_path.unlink(missing_ok=True)
                raise refuse_foreign(target, sekoia_plan, owner)
            # A domain Sekoia.io has not verified yet is not done, even with nothing to write: connect waits.
            pending = [d.name for d in sekoia_plan.domains if d.status == "pending"]
            changes = plan.has_changes or sekoia_plan.has_changes or secret_plan.has_work
            anything = changes or bool(pending)
            if not anything:
                console.step("Nothing to do: the Terraform plan is empty and Sekoia.io already matches")
                workspace.plan_path.unlink(missing_ok=True)
            elif not changes:
                console.step(f"Nothing to change; {', '.join(pending)} still "
                             f"{'waits' if len(pending) == 1 else 'wait'} for Sekoia.io's verification")
            else:
                _confirm(options, f"Apply these changes to environment {env.name}?")

            if secret_plan.threatened:
                plan, tf_summary = _move_off_threatened_secret(client, env, project_dir, workspace, runner,
                                                               outputs, options, console)
            if plan.has_changes:
                console.step("Applying the saved Terraform plan")
                runner.apply(plan.plan_path)
            workspace.plan_path.unlink(missing_ok=True)
            # With nothing applied, the outputs read beside the plan are still those of the state.
            outputs = runner.outputs() if plan.has_changes or adopted or secret_plan.threatened else outputs
            if plan.has_changes:
                console.step("Waiting until Entra ID serves the new objects")
                _wait_until_readable(env, project_dir, outputs, console)

            result = None
            rotated = False
            if anything:
                console.step("Configuring Sekoia.io")
                credentials = _credentials_reader(env, project_dir, outputs)
                ours = (target.client_id,) if target.applied else ()  # before a re-creation of the application
                result = _push(client, env, workspace, runner, outputs, credentials, options, console,
                               take_over=options.take_over, previous_client_ids=ours, owner_of=owner,
                               show_plan=False)  # the combined plan above showed it
                rotated = _rotate_when_due(client, env, workspace, runner, credentials, options, console)
                outputs = runner.outputs()
                if secret_plan.lost:
                    console.result(f"SSO logins were broken until now: {secret_plan.lost}. Sekoia.io now holds a "
                                   f"working secret (key ID {reveal(outputs.get('sekoia_pushed_secret_key_id'))}).")
                console.step("Verifying that Sekoia.io holds what Terraform made")
                final = plan_sekoia(client, SekoiaTarget.from_outputs(env, outputs))
                if final.has_changes:
                    raise SekoiaSSOError(
                        "Sekoia.io does not hold the wanted configuration after the write: "
                        + json.dumps(final.to_dict()["sso"], sort_keys=True)
                    )
                login_url = result.login_url or final.login_url
                if creates(tf_summary, PASSWORD_PREFIX):  # a killed run may have made one the state lacks
                    _remove_unrecorded_passwords(env, project_dir, outputs, console)
            else:
                login_url = sekoia_plan.login_url

        left = days_left(reveal(outputs.get("client_secret_end_date")))

    summary = ApplySummary(
        environment=env.name,
        terraform_applied=plan.has_changes,
        terraform_changes=tf_summary.counts(),
        sekoia=result.to_dict() if result else {"status": "unchanged", "plan": sekoia_plan.to_dict()},
        login_url=login_url,
        client_id=reveal(outputs.get("client_id")),
        client_secret_key_id=reveal(outputs.get("client_secret_key_id")),
        client_secret_days_left=left,
        rotated=rotated,
        preflight=preflight,
    )
    console.step("Done")
    console.result(f"Environment {env.name} is configured.")
    if summary.client_id:
        console.result(f"  client ID          {summary.client_id}")
    if summary.client_secret_key_id:
        days = f" ({left:.0f} days left)" if left is not None else ""
        console.result(f"  client secret      key ID {summary.client_secret_key_id}{days}")
    if login_url:
        console.result(f"  SSO login URL      {login_url}")
    return summary


def _confirm(options: Any, question: str) -> None:
    if options.yes:
        return
    if options.confirm is None:
        raise UsageError("there is no terminal to confirm on: re-run with --yes to apply without asking")
    if not options.confirm(question):
        raise UsageError("not confirmed: nothing was changed")


# ----------------------------------------------------------------------------------------------
# rotate


@dataclass
class RotateOptions:
    yes: bool = False
    wait: bool = True
    timeout: float = 15 * 60.0
    confirm: Callable[[str], bool] | None = None
    poll: Any = None
    sekoia_client_options: dict[str, Any] = field(default_factory=dict)


def rotate_environment(project_dir: Path, env: Environment, options: RotateOptions, console: Console) -> dict[str, Any]:
    """Zero-downtime rotation, all in the Terraform state (rotation.py): no file changes.

    Each step is read back from the state, Entra ID and Sekoia.io, so a re-run after an
    interruption finishes the hand-over that was under way instead of starting another."""
    from orchestrator.rotation import Ledger, rotate_secret
    from orchestrator.sekoia.client import SekoiaClient

    workspace = Workspace(env, project_dir)
    with environment_lock(workspace):
        runner = workspace.initialised_runner(on_line=console.terraform_line)
        outputs = runner.outputs()
        if not outputs.get("application_object_id"):
            raise UsageError(f"environment {env.name} has not been applied yet: run `sekoia-sso apply {env.name}`")
        credentials = _credentials_reader(env, project_dir, outputs)
        ledger = Ledger.read(outputs, credentials())
        with SekoiaClient.for_environment(env, workspace.endpoints, **options.sekoia_client_options) as client:
            if ledger.pushing or ledger.retiring or ledger.held is None:
                console.step("Finishing the interrupted hand-over of the client secret")
                _push(client, env, workspace, runner, outputs, credentials, options, console)
                slot = Ledger.read(runner.outputs(), credentials()).held
            else:
                held = ledger.held
                _confirm(options, f"Rotate the client secret of {env.name} (slot {held.name} → "
                                  f"{ledger.other(held).name})?")
                console.step(f"Rotating: slot {ledger.other(held).name} gets a fresh secret, Sekoia.io is moved to "
                             f"it, then slot {held.name}'s secret is replaced")
                slot = rotate_secret(client, env, workspace, runner, credentials=credentials,
                                     reporter=console.reporter, wait=options.wait, timeout=options.timeout,
                                     poll=poll_policy(env, options.poll), why="rotation")
    if slot is None:
        raise SekoiaSSOError(f"Sekoia.io holds no recorded secret of {env.name}: run `sekoia-sso apply {env.name}`")
    console.result(f"Rotated: Sekoia.io now uses the secret of slot {slot.name} (key ID {slot.key_id}); the "
                   "previous secret no longer works. No file changed: the rotation lives in the Terraform state.")
    return {"environment": env.name, "status": "rotated", "slot": slot.name, "client_secret_key_id": slot.key_id,
            "days_left": None if slot.days_left is None else round(slot.days_left, 1)}


# ----------------------------------------------------------------------------------------------
# destroy


@dataclass
class DestroyOptions:
    remove_domains: bool = False
    sekoia_client_options: dict[str, Any] = field(default_factory=dict)


def destroy_environment(project_dir: Path, env: Environment, options: DestroyOptions, console: Console) -> dict:
    """Disable SSO (only when it points at this environment's application), then Terraform destroy."""
    from orchestrator.sekoia.client import SekoiaClient, SekoiaRouteMissingError
    from orchestrator.sekoia.ownership import foreign_holder, owner_of
    from orchestrator.sekoia.settings import SsoSettings

    workspace = Workspace(env, project_dir)
    community = env.config.sekoia.community_uuid
    with environment_lock(workspace):
        runner = workspace.initialised_runner(on_line=console.terraform_line)
        ours = str(reveal(runner.outputs().get("client_id")) or "")
        with SekoiaClient.for_environment(env, workspace.endpoints, **options.sekoia_client_options) as client:
            console.step("Disabling SSO in Sekoia.io")
            try:
                held = client.read_sso(community)
            except SekoiaRouteMissingError:
                held = None  # no read route: the disable below says whether it has one
                foreign = None
            else:
                foreign = foreign_holder(SsoSettings.from_answer(held).client_id if held else None, (ours,))
            sso = "left"
            if foreign:
                console.note(f"SSO of community {community} points at another application (client ID {foreign}, "
                             f"{owner_of(project_dir, foreign, exclude=env.name)}): left as it is, and so are the "
                             "domains; going on with this environment's own teardown")
            else:
                console.note("accounts created through SSO can only log in through SSO: they cannot log in until "
                             "it is enabled again")
                try:
                    disabled = client.disable_sso(community)
                except SekoiaRouteMissingError as exc:
                    raise SekoiaSSOError(
                        f"Sekoia.io's API has no route to disable SSO ({exc.method} {exc.path} answered "
                        f"{exc.status}): disable it in Settings > Community > SSO first, then re-run destroy. "
                        "Nothing was destroyed.") from None
                sso = "disabled" if disabled else "not configured"
                console.note("SSO disabled" if disabled else "SSO was not configured")
            removed = []
            if options.remove_domains and not foreign:
                for item in client.domains(community):
                    if item.get("name") in env.config.sekoia.domains:
                        client.remove_domain(community, item["uuid"])
                        removed.append(item["name"])
                        console.note(f"domain {item['name']} removed")
            elif not foreign:
                console.note("domains are left registered (--remove-domains removes them)")
        console.step("Destroying the Terraform resources")
        runner.destroy()
    console.result(f"Environment {env.name} is destroyed: Entra ID application, secret and assignments removed.")
    if foreign:
        console.result(f"Sekoia.io's SSO was left as it was: it points at another application (client ID {foreign}).")
    return {"environment": env.name, "status": "destroyed", "domains_removed": removed, "sso": sso,
            "foreign_client_id": foreign}


# ----------------------------------------------------------------------------------------------
# status
#
# A report, not a script: each part is a small check of its own, run beside the others, and a
# check that fails (Terraform, Graph or Sekoia.io unreachable, an output missing) is that part's
# problem; the others still report. The sources are read once each, beside each other: ONE Terraform
# plan (its `resource_drift` and `resource_changes` carry both the drift and the pending changes),
# the outputs, Microsoft Graph, Sekoia.io and the tenant's discovery document.


@dataclass
class Check:
    """One part of the report. `facts`: its structured fields for --json (wanted and actual values, …)."""

    part: str
    state: str  # ok | drift | problem | waiting | warning
    detail: str
    facts: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.facts, "part": self.part, "state": self.state, "detail": self.detail}

    def line(self) -> str:
        return f"{self.part:<22} {self.state.upper():<8} {self.detail}"


@dataclass
class StatusOptions:
    strict: bool = False  # a warning (the secret inside its rotation window) exits 1 too
    sekoia_client_options: dict[str, Any] = field(default_factory=dict)


STATUS_PLAN = "status.tfplan"


class _StatusReads:
    """The sources the checks read, each started once, all at once (futures); a check waits only for its own."""

    def __init__(self, project_dir: Path, env: Environment, options: StatusOptions, pool: ThreadPoolExecutor):
        self.env = env
        self.project_dir = project_dir
        self.options = options
        self.workspace = Workspace(env, project_dir)
        self.runner = pool.submit(self.workspace.initialised_runner)
        self.plan = pool.submit(self._plan)
        self.outputs = pool.submit(self._outputs)
        self.graph = pool.submit(self._open_graph)
        self.sekoia = pool.submit(self._sekoia_plan)

    def _plan(self) -> PlanSummary:
        runner = self.runner.result()
        plan_path = self.workspace.data_dir / STATUS_PLAN
        try:
            plan = runner.plan(plan_path)
            # An empty plan (exit 0) has no change a drift could feed: only an irrelevant drift, if any.
            return runner.show_plan(plan.plan_path) if plan.has_changes else PlanSummary()
        finally:
            plan_path.unlink(missing_ok=True)

    def _outputs(self) -> dict[str, Any]:
        self.runner.result()  # initialised: the backend is known
        return self.workspace.runner().outputs()  # its own runner: nothing shared with the plan's

    def outputs_or_none(self) -> dict[str, Any] | None:
        """The Terraform outputs, or None when they could not be read (the terraform parts say why)."""
        return None if self.outputs.exception() is not None else self.outputs.result()

    def object_id(self, name: str) -> str:
        """An object ID from the outputs; the calling check's problem when it is not there."""
        outputs = self.outputs_or_none()
        if outputs is None:
            raise SekoiaSSOError(f"the Terraform outputs could not be read ({self.outputs.exception()})")
        value = reveal(outputs.get(name))
        if not value:
            raise SekoiaSSOError(f"no Terraform output {name}: nothing applied yet? Run `sekoia-sso apply "
                                 f"{self.env.name}`")
        return str(value)

    def _open_graph(self):
        from orchestrator.graph import open_graph

        return open_graph(self.env, self.project_dir)

    def target(self):
        from orchestrator.sekoia.settings import SekoiaTarget

        return SekoiaTarget.from_outputs(self.env, self.outputs_or_none() or {}, allow_unapplied=True)

    def _sekoia_plan(self):
        from orchestrator.sekoia.client import SekoiaClient
        from orchestrator.sekoia.plan import plan_sekoia

        self.outputs.exception()  # the target needs them, when there are any
        target = self.target()
        with SekoiaClient.for_environment(self.env, self.workspace.endpoints,
                                          **self.options.sekoia_client_options) as client:
            return plan_sekoia(client, target, read_key_owner=False)

    def close(self) -> None:
        if self.graph.exception() is None:
            self.graph.result().close()


def _check_render(reads: _StatusReads) -> Check:
    env = reads.env
    facts = {"root": f"terraform/envs/{env.name}", "source": str(env.path)}
    try:
        reads.workspace.require_current_render()
    except SekoiaSSOError as exc:
        return Check("rendered HCL", "drift", str(exc), {**facts, "current": False})
    return Check("rendered HCL", "ok", f"terraform/envs/{env.name} matches {env.path}", {**facts, "current": True})


def _check_terraform_drift(reads: _StatusReads) -> Check:
    """What the plan's refresh found changed outside Terraform, only where it matters (planview's `drift`)."""
    drift = reads.plan.result().drift
    facts = {"resources": [{"address": c.address, "action": c.action,
                            "attributes": [a.to_dict() for a in c.attributes]} for c in drift]}
    if not drift:
        return Check("terraform drift", "ok", "Entra ID objects match the state", facts)
    changed = [f"{c.address} ({', '.join(c.attribute_names) or c.action})" for c in drift]
    return Check("terraform drift", "drift", "changed outside Terraform: " + ", ".join(changed)
                 + f"; `sekoia-sso apply {reads.env.name}` repairs it", facts)


def _check_terraform_plan(reads: _StatusReads) -> Check:
    summary = reads.plan.result()
    counts = {action: count for action, count in summary.counts().items() if count}
    facts = {"counts": counts, "changes": [{"address": c.address, "action": c.action,
                                            "attribute_names": c.attribute_names}
                                           for c in summary.resource_changes]}
    if not summary.has_changes:
        return Check("terraform plan", "ok", "no changes", facts)
    if reads.outputs_or_none() == {}:
        return Check("terraform plan", "problem", f"nothing applied yet: run `sekoia-sso apply {reads.env.name}`",
                     facts)
    return Check("terraform plan", "drift", "pending changes: " + ", ".join(f"{k} {v}" for k, v in counts.items()),
                 facts)


def _check_entra_application(reads: _StatusReads) -> Check:
    app = reads.graph.result().get(f"/applications/{reads.object_id('application_object_id')}",
                                   {"$select": "id,appId,web,displayName"})
    actual = sorted((app.get("web") or {}).get("redirectUris") or [])
    wanted = sorted(reads.env.config.sekoia.redirect_uris)
    missing, extra = sorted(set(wanted) - set(actual)), sorted(set(actual) - set(wanted))
    facts = {"display_name": app.get("displayName"), "client_id": app.get("appId"),
             "redirect_uris": {"wanted": wanted, "actual": actual, "missing": missing, "extra": extra}}
    if missing or extra:
        said = [f"lack {', '.join(missing)}"] * bool(missing) + [f"also hold {', '.join(extra)}"] * bool(extra)
        return Check("entra application", "drift", f"redirect URIs {' and '.join(said)}", facts)
    return Check("entra application", "ok", f"{app.get('displayName')}: redirect URI {', '.join(wanted)}", facts)


def _check_assignment_required(reads: _StatusReads) -> Check:
    sp = reads.graph.result().get(f"/servicePrincipals/{reads.object_id('service_principal_object_id')}",
                                  {"$select": "id,appRoleAssignmentRequired"})
    actual = bool(sp.get("appRoleAssignmentRequired"))
    wanted = reads.env.config.access.assignment_required
    facts = {"wanted": wanted, "actual": actual}
    if actual == wanted:
        return Check("assignment required", "ok", str(actual).lower(), facts)
    return Check("assignment required", "drift", f"{str(actual).lower()}, config wants {str(wanted).lower()}", facts)


def _check_assignments(reads: _StatusReads) -> Check:
    graph = reads.graph.result()
    path = f"/servicePrincipals/{reads.object_id('service_principal_object_id')}/appRoleAssignedTo"
    assigned = [item for page in graph.iter_pages(path, {"$top": 999}) for item in page]
    missing = _missing_assignments(graph, reads.env, assigned)
    facts = {"assigned": len(assigned), "missing": missing,
             "principals": sorted(str(a.get("principalDisplayName")) for a in assigned)}
    if missing:
        return Check("assignments", "drift", f"{len(assigned)} assigned; not assigned: {', '.join(missing)}", facts)
    return Check("assignments", "ok", f"{len(assigned)} group(s)/user(s) assigned, as configured", facts)


def _check_client_secret(outputs: dict[str, Any] | None, env: Environment, credentials: list | None = None) -> Check:
    """The secret Sekoia.io holds, as Entra ID sees it (`credentials`; None: as the state recorded it): deleted,
    expired, inside its rotation window, a hand-over left unfinished, or fine. Never raises: a missing or odd
    output is this part's problem."""
    from orchestrator.rotation import Ledger, Slot

    part, window, name = "client secret", env.config.secret.rotate_before_days, env.name
    if outputs is None:
        return Check(part, "problem", "the Terraform outputs could not be read (see the terraform parts)",
                     {"rotate_before_days": window})
    ledger = Ledger.read(outputs, credentials)
    facts: dict[str, Any] = {"rotate_before_days": window, "checked_in_entra": credentials is not None,
                             **ledger.to_dict()}
    if ledger.pushing or ledger.retiring:
        return Check(part, "warning", "a hand-over of the client secret was interrupted: "
                     f"`sekoia-sso apply {name}` (or `rotate`) finishes it", facts)
    if ledger.held is None and ledger.pushed:
        return Check(part, "problem", f"the secret Sekoia.io holds (key ID {ledger.pushed}) is no longer in the state "
                     f"or in Entra ID: SSO logins fail; `sekoia-sso apply {name}` gives Sekoia.io a working one", facts)
    # Nothing pushed yet (a domain pending, say: the sekoia oidc part says why): the secret it will get.
    subject = ledger.held or ledger.to_push()
    if subject is None:
        key_id, end_date = reveal(outputs.get("client_secret_key_id")), reveal(outputs.get("client_secret_end_date"))
        if not key_id and not end_date:
            return Check(part, "problem", f"no client secret in the outputs: nothing applied yet? Run "
                         f"`sekoia-sso apply {name}`", facts)
        subject = Slot("active", key_id, None, end_date, in_entra=True)
    facts.update(key_id=subject.key_id, slot=subject.name, end_date=subject.end_date, days_left=None)
    if not subject.in_entra:
        return Check(part, "problem", f"key ID {subject.key_id} (slot {subject.name}, the one Sekoia.io holds) was "
                     f"deleted outside Terraform: SSO logins fail; `sekoia-sso apply {name}` recreates it and pushes "
                     "it", facts)
    left = subject.days_left
    if left is None:
        what = f"is not a date: {subject.end_date!r}" if subject.end_date else "is missing"
        return Check(part, "problem", f"the end date of key ID {subject.key_id} {what}", facts)
    facts["days_left"] = round(left, 1)
    if left <= 0:
        return Check(part, "problem", f"key ID {subject.key_id} EXPIRED {-left:.0f} days ago: SSO logins fail; "
                     f"`sekoia-sso apply {name}` (or `sekoia-sso rotate {name}`) gives Sekoia.io a fresh one", facts)
    if left <= window:
        return Check(part, "warning", f"key ID {subject.key_id}: {left:.0f} days left, inside the rotation window "
                     f"({window}): `sekoia-sso rotate {name}` rotates it now, the next `apply` does it too", facts)
    return Check(part, "ok", f"key ID {subject.key_id} (slot {subject.name}): {left:.0f} days left", facts)


def _entra_credentials(reads: _StatusReads) -> list | None:
    """Entra ID's password credentials for the secret check; None (the state's view) when Graph cannot say."""
    from orchestrator.rotation import read_credentials

    try:
        return read_credentials(reads.graph.result(), reads.object_id("application_object_id"))
    except SekoiaSSOError:
        return None


def _check_discovery(reads: _StatusReads) -> Check:
    from orchestrator.discovery import check_tenant_discovery

    target = reads.target()
    discovery = check_tenant_discovery(target.provider_url, target.tenant_id, endpoints=reads.workspace.endpoints)
    return Check("discovery document", "ok", f"issuer {discovery.issuer}",
                 {"tenant_id": target.tenant_id, "issuer": discovery.issuer})


def _check_sekoia_domains(reads: _StatusReads) -> list[Check]:
    states = {"verified": "ok", "pending": "waiting", "missing": "drift"}  # missing: apply registers it
    apply = f"not registered in Sekoia.io: `sekoia-sso apply {reads.env.name}` sends it for verification"
    return [Check(f"domain {d.name}", states.get(d.status, "problem"), apply if d.status == "missing" else d.describe(),
                  {"domain": d.name, "status": d.status, "rejection_reason": d.rejection_reason})
            for d in reads.sekoia.result().domains]


def _check_sekoia_oidc(reads: _StatusReads) -> Check:
    plan, outputs, name = reads.sekoia.result(), reads.outputs_or_none(), reads.env.name
    facts = {"configured": plan.sso_configured, "login_url": plan.login_url,
             "changes": [c.to_dict() for c in plan.sso_changes],
             "secret": {"current_key_id": plan.client_secret_key_id,
                        "held_key_id": reveal((outputs or {}).get("sekoia_pushed_secret_key_id")),
                        "held_is_current": plan.secret_current}}
    if "sso" in plan.missing_routes:
        return Check("sekoia oidc", "problem", "the API does not offer the assumed route: check it in the UI", facts)
    if not plan.sso_configured:
        facts["waits_for_domains"] = list(plan.domains_not_verified)
        if plan.rejected:
            return Check("sekoia oidc", "problem", "SSO is not configured and cannot be: Sekoia.io rejected "
                         + ", ".join(d.name for d in plan.rejected), facts)
        if plan.domains_not_verified and not plan.domains_to_add:
            return Check("sekoia oidc", "waiting", "SSO will be configured once the domains are verified: re-run "
                         "apply then", facts)
        return Check("sekoia oidc", "drift", f"SSO is not configured: run `sekoia-sso apply {name}`", facts)
    if outputs is None:
        return Check("sekoia oidc", "problem", "SSO is configured, but the Terraform outputs to compare it with "
                     "could not be read (see the terraform parts)", facts)
    if plan.sso_changes:
        return Check("sekoia oidc", "drift", "differs: " + ", ".join(
            f"{c.name} is {c.current!r}, wants {c.wanted!r}" for c in plan.sso_changes), facts)
    if not plan.secret_current:
        return Check("sekoia oidc", "drift", plan.secret_reason, facts)
    return Check("sekoia oidc", "ok", f"matches the outputs; holds secret {plan.client_secret_key_id}; login URL "
                 f"{plan.login_url}", facts)


# The report's parts, in the order it shows them: (the part a failure is reported as, the check).
STATUS_CHECKS: tuple[tuple[str, Callable[[_StatusReads], Check | list[Check]]], ...] = (
    ("rendered HCL", _check_render),
    ("terraform drift", _check_terraform_drift),
    ("terraform plan", _check_terraform_plan),
    ("entra application", _check_entra_application),
    ("assignment required", _check_assignment_required),
    ("assignments", _check_assignments),
    ("client secret", lambda reads: _check_client_secret(reads.outputs_or_none(), reads.env,
                                                          _entra_credentials(reads))),
    ("discovery document", _check_discovery),
    ("sekoia domains", _check_sekoia_domains),
    ("sekoia oidc", _check_sekoia_oidc),
)


def _guarded(part: str, check: Callable[[_StatusReads], Check | list[Check]], reads: _StatusReads) -> list[Check]:
    """The check's own result, or its failure as that part's problem: a report never stops at one part."""
    try:
        found = check(reads)
    except SekoiaSSOError as exc:
        return [Check(part, "problem", str(exc))]
    except Exception as exc:  # noqa: BLE001 - whatever broke, it is this part's problem; the others report
        return [Check(part, "problem", f"{type(exc).__name__}: {exc}")]
    return found if isinstance(found, list) else [found]


def status_environment(project_dir: Path, env: Environment, console: Console,
                       options: StatusOptions | None = None) -> tuple[int, list[Check]]:
    """Every part of `env` read from its source of truth and compared with the config; changes nothing.

    (exit code, checks): 0 all match (warnings too, unless options.strict), 1 drift or a problem, 3 waiting."""
    options = options or StatusOptions()
    console.step(f"Status of environment {env.name}")
    with ThreadPoolExecutor(max_workers=len(STATUS_CHECKS) + 6) as pool:
        reads = _StatusReads(project_dir, env, options, pool)
        try:
            futures = [pool.submit(_guarded, part, check, reads) for part, check in STATUS_CHECKS]
            checks = [check for future in futures for check in future.result()]
        finally:
            wait([reads.runner, reads.plan, reads.outputs, reads.graph, reads.sekoia])
            reads.close()
    for check in checks:
        console.result(check.line())
    return _status_code(checks, strict=options.strict), checks


def _missing_assignments(graph, env: Environment, assigned: list[dict[str, Any]]) -> list[str]:
    """The configured groups and users that hold no assignment on the service principal."""
    from orchestrator.graph import path_segment

    ids = {str(a.get("principalId", "")).lower() for a in assigned}
    group_names = {str(a.get("principalDisplayName")) for a in assigned if a.get("principalType") == "Group"}
    access = env.config.access
    missing = [name for name in access.group_names if name not in group_names]
    missing += [object_id for object_id in (*access.group_ids, *access.user_ids) if object_id not in ids]
    for upn in access.user_principal_names:
        user = graph.get(f"/users/{path_segment(upn)}", {"$select": "id"})
        if str(user.get("id", "")).lower() not in ids:
            missing.append(upn)
    return missing


def _status_code(checks: list[Check], *, strict: bool = False) -> int:
    states = {c.state for c in checks}
    if states & {"drift", "problem"} or (strict and "warning" in states):
        return EXIT_FAILED
    if "waiting" in states:
        return EXIT_WAITING
    return EXIT_OK
