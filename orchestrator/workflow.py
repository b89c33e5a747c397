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
    from orchestrator.sekoia_setup import PollPolicy

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


def _read_sekoia(client, env: Environment, outputs_future):
    """Sekoia.io's reads for the combined plan; the checks that need no Terraform output go first.

    Not the key's owner (GET /v1/me): `connect` checks every precondition again before it writes,
    and a no-op re-apply needs only the four reads left, which the client sends at once (RequestWindow)."""
    from orchestrator.sekoia_setup import SekoiaTarget, check_preconditions, plan_sekoia

    preconditions = check_preconditions(client, SekoiaTarget.from_outputs(env, {}, allow_unapplied=True),
                                        read_key_owner=False)
    target = SekoiaTarget.from_outputs(env, outputs_future.result(), allow_unapplied=True)
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
          options: Any, console: Console, *, slot_name: str | None = None):
    from orchestrator.rotation import push_to_sekoia

    return push_to_sekoia(client, env, workspace, runner, outputs, credentials=credentials,
                          reporter=console.reporter, wait=options.wait, timeout=options.timeout,
                          poll=poll_policy(env, options.poll), show_secret=getattr(options, "show_secret", False),
                          slot_name=slot_name)


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
            from orchestrator.sekoia import SekoiaClient
            from orchestrator.sekoia_setup import SekoiaTarget, plan_sekoia

            preflight_future = pool.submit(_preflight_report, env, project_dir, options)
            outputs_future = pool.submit(workspace.runner().outputs)  # its own runner: no state shared
            credentials_future = pool.submit(_read_credentials, env, project_dir, outputs_future)
            futures += [preflight_future, outputs_future, credentials_future]
            client = SekoiaClient.for_environment(env, endpoints, **options.sekoia_client_options)
            sekoia_future = pool.submit(_read_sekoia, client, env, outputs_future)
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
            if secret_plan.lines():
                console.result("Client secret:")
                for line in secret_plan.lines():
                    console.result("  " + line)

            anything = plan.has_changes or sekoia_plan.has_changes or secret_plan.has_work
            if not anything:
                console.step("Nothing to do: the Terraform plan is empty and Sekoia.io already matches")
                workspace.plan_path.unlink(missing_ok=True)
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
                result = _push(client, env, workspace, runner, outputs, credentials, options, console)
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
    from orchestrator.sekoia import SekoiaClient

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
    from orchestrator.sekoia import SekoiaClient, SekoiaRouteMissingError

    workspace = Workspace(env, project_dir)
    community = env.config.sekoia.community_uuid
    with environment_lock(workspace):
        with SekoiaClient.for_environment(env, workspace.endpoints, **options.sekoia_client_options) as client:
            console.step("Disabling SSO in Sekoia.io")
            console.note("accounts created through SSO can only log in through SSO: they cannot log in until it "
                         "is enabled again")
            try:
                disabled = client.disable_sso(community)
                console.note("SSO disabled" if disabled else "SSO was not configured")
            except SekoiaRouteMissingError:
                raise SekoiaSSOError(
                    "Sekoia.io's API has no route to disable SSO (the assumed route answered as missing): disable it "
                    "in Settings > Community > SSO first, then re-run destroy. Nothing was destroyed."
                ) from None
            removed = []
            if options.remove_domains:
                for item in client.domains(community):
                    if item.get("name") in env.config.sekoia.domains:
                        client.remove_domain(community, item["uuid"])
                        removed.append(item["name"])
                        console.note(f"domain {item['name']} removed")
            else:
                console.note("domains are left registered (--remove-domains removes them)")
        console.step("Destroying the Terraform resources")
        runner = workspace.initialised_runner(on_line=console.terraform_line)
        runner.destroy()
    console.result(f"Environment {env.name} is destroyed: Entra ID application, secret and assignments removed.")
    return {"environment": env.name, "status": "destroyed", "domains_removed": removed}


# ----------------------------------------------------------------------------------------------
# status


@dataclass
class Check:
    part: str
    state: str  # ok | drift | problem | waiting | warning
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"part": self.part, "state": self.state, "detail": self.detail}


def status_environment(project_dir: Path, env: Environment, console: Console) -> tuple[int, list[Check]]:
    from orchestrator.discovery import check_tenant_discovery
    from orchestrator.graph import open_graph
    from orchestrator.rotation import read_credentials
    from orchestrator.sekoia import SekoiaClient
    from orchestrator.sekoia_setup import SekoiaTarget, plan_sekoia

    workspace = Workspace(env, project_dir)
    checks: list[Check] = []

    def add(part: str, state: str, detail: str) -> None:
        checks.append(Check(part, state, detail))
        console.note(f"{part:<22} {state.upper():<8} {detail}")

    console.step(f"Status of environment {env.name}")
    try:
        workspace.require_current_render()
        add("rendered HCL", "ok", f"terraform/envs/{env.name} matches {env.path}")
    except SekoiaSSOError as exc:
        add("rendered HCL", "drift", str(exc))

    runner = workspace.initialised_runner(on_line=None)
    outputs = runner.outputs()
    if not outputs:
        add("terraform", "problem", f"nothing applied yet: run `sekoia-sso apply {env.name}`")
        return _status_code(checks), checks

    refresh = runner.plan(workspace.data_dir / "refresh.tfplan", refresh_only=True)
    changed = [c.address for c in runner.show_plan(refresh.plan_path).drift] if refresh.has_changes else []
    if changed:
        add("terraform drift", "drift", "changed outside Terraform: " + ", ".join(changed))
    else:
        add("terraform drift", "ok", "Entra ID objects match the state")
    normal = runner.plan(workspace.data_dir / "status.tfplan")
    if normal.has_changes:
        counts = runner.show_plan(normal.plan_path).counts()
        add("terraform plan", "drift", "pending changes: " + ", ".join(f"{k} {v}" for k, v in counts.items() if v))
    else:
        add("terraform plan", "ok", "no changes")
    for path in (refresh.plan_path, normal.plan_path):
        Path(path).unlink(missing_ok=True)

    with open_graph(env, project_dir) as graph:
        app = graph.get(f"/applications/{outputs['application_object_id']}",
                        {"$select": "id,appId,web,displayName"})
        uris = set((app.get("web") or {}).get("redirectUris") or [])
        wanted = set(env.config.sekoia.redirect_uris)
        if wanted <= uris:
            add("entra application", "ok", f"{app.get('displayName')}: redirect URI {', '.join(sorted(wanted))}")
        else:
            add("entra application", "drift", f"redirect URIs {sorted(uris)} lack {sorted(wanted - uris)}")
        sp = graph.get(f"/servicePrincipals/{outputs['service_principal_object_id']}",
                       {"$select": "id,appRoleAssignmentRequired"})
        required = bool(sp.get("appRoleAssignmentRequired"))
        if required == env.config.access.assignment_required:
            add("assignment required", "ok", str(required).lower())
        else:
            add("assignment required", "drift", f"{str(required).lower()}, config wants "
                f"{str(env.config.access.assignment_required).lower()}")
        assigned = [item for page in graph.iter_pages(
            f"/servicePrincipals/{outputs['service_principal_object_id']}/appRoleAssignedTo", {"$top": 999})
            for item in page]
        missing = _missing_assignments(graph, env, assigned)
        credentials = read_credentials(graph, str(outputs["application_object_id"]))
        if missing:
            add("assignments", "drift", f"{len(assigned)} assigned; not assigned: {', '.join(missing)}")
        else:
            add("assignments", "ok", f"{len(assigned)} group(s)/user(s) assigned, as configured")

    state, detail = _client_secret_check(env, outputs, credentials)
    add("client secret", state, detail)
    key_id = reveal(outputs.get("client_secret_key_id"))

    endpoints = workspace.endpoints
    target = SekoiaTarget.from_outputs(env, outputs)
    try:
        discovery = check_tenant_discovery(target.provider_url, target.tenant_id, endpoints=endpoints)
        add("discovery document", "ok", f"issuer {discovery.issuer}")
    except SekoiaSSOError as exc:
        add("discovery document", "problem", str(exc))

    with SekoiaClient.for_environment(env, endpoints) as client:
        plan = plan_sekoia(client, target)
    for domain in plan.domains:
        state = {"verified": "ok", "pending": "waiting"}.get(domain.status, "problem")
        add(f"domain {domain.name}", state, domain.describe())
    if plan.missing_routes:
        add("sekoia oidc", "problem", "the API does not offer the assumed route: check it in the UI")
    elif not plan.sso_configured and plan.domains_not_verified:
        add("sekoia oidc", "waiting", "SSO will be configured once the domains are verified: re-run apply then")
    elif not plan.sso_configured:
        add("sekoia oidc", "drift", f"SSO is not configured: run `sekoia-sso apply {env.name}`")
    elif plan.sso_changes:
        add("sekoia oidc", "drift", "differs: " + ", ".join(f"{c.name} is {c.current!r}, wants {c.wanted!r}"
                                                             for c in plan.sso_changes))
    elif not plan.secret_current:
        add("sekoia oidc", "drift", plan.secret_reason)
    else:
        add("sekoia oidc", "ok", f"matches the outputs; holds secret {key_id}; login URL {plan.login_url}")
    return _status_code(checks), checks


def _client_secret_check(env: Environment, outputs: dict[str, Any], credentials: list | None) -> tuple[str, str]:
    """The secret Sekoia.io holds, as Entra ID sees it: deleted, expired, inside its window, or fine."""
    from orchestrator.rotation import Ledger

    ledger = Ledger.read(outputs, credentials)
    held, window, name = ledger.held, env.config.secret.rotate_before_days, env.name
    if ledger.pushing or ledger.retiring:
        return "warning", f"a hand-over of the client secret was interrupted: `sekoia-sso apply {name}` finishes it"
    if held is None and ledger.pushed:
        return "problem", (f"the secret Sekoia.io holds (key ID {ledger.pushed}) is not in the state any more: "
                           f"`sekoia-sso apply {name}` gives Sekoia.io a working one")
    if held is None:  # nothing pushed yet (domains pending, say): the sekoia oidc part tells why
        held = ledger.to_push()
        if held is None:
            return "problem", f"no usable secret in either slot: `sekoia-sso apply {name}` makes one"
    if not held.in_entra:
        return "problem", (f"key ID {held.key_id} (slot {held.name}, the one Sekoia.io holds) was deleted outside "
                           f"Terraform: SSO logins fail; `sekoia-sso apply {name}` recreates it and pushes it")
    left = held.days_left
    if left is None:
        return "problem", f"key ID {held.key_id}: no end date in Entra ID or the outputs"
    if left <= 0:
        return "problem", (f"key ID {held.key_id} EXPIRED {-left:.0f} days ago: SSO logins fail; "
                           f"`sekoia-sso apply {name}` rotates it")
    if left <= window:
        return "warning", (f"key ID {held.key_id}: {left:.0f} days left, inside the rotation window ({window}): "
                           f"`sekoia-sso apply {name}` rotates it")
    return "ok", f"key ID {held.key_id} (slot {held.name}): {left:.0f} days left"


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


def _status_code(checks: list[Check]) -> int:
    states = {c.state for c in checks}
    if states & {"drift", "problem"}:
        return EXIT_FAILED
    if "waiting" in states:
        return EXIT_WAITING
    return EXIT_OK
