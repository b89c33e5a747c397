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

import datetime as dt
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
from orchestrator.config import Environment, load_environment
from orchestrator.errors import EXIT_FAILED, EXIT_OK, EXIT_WAITING, ConfigError, SekoiaSSOError, UsageError
from orchestrator.planview import PlanSummary
from orchestrator.terminal import Console
from orchestrator.workspace import EarlyPlan, EnvironmentLock, Workspace, apply_plan_step

PASSWORD_ADDRESS = 'module.sekoia_sso.azuread_application_password.this["{slot}"]'
APPLICATION_ADDRESS = "module.sekoia_sso.azuread_application.this"
SLOT_NAMES = ("blue", "green")
READABLE_TIMEOUT = 120.0


class RotationUnsafeError(SekoiaSSOError):
    exit_code = EXIT_FAILED


@contextmanager
def environment_lock(workspace: Workspace, held: EnvironmentLock | None = None) -> Iterator[None]:
    """One run per environment at a time (EnvironmentBusyError for the second); `held`: already taken."""
    lock = held or workspace.site.lock().acquire()
    try:
        yield
    finally:
        lock.release()


def _reveal(value: Any) -> Any:
    reveal = getattr(value, "reveal", None)
    return reveal() if callable(reveal) else value


def poll_policy(env: Environment, given: Any = None):
    """How often to poll pending domains: a human verifies them in Sekoia.io; the sandbox's emulator in seconds."""
    from orchestrator.sekoia_setup import PollPolicy

    if given is not None:
        return given
    return PollPolicy(first=0.2, factor=1.5, maximum=1.0, tick=0.5) if env.config.sandbox else PollPolicy()


def days_left(end_date: str | None, *, now: dt.datetime | None = None) -> float | None:
    if not end_date:
        return None
    end = dt.datetime.fromisoformat(str(end_date).replace("Z", "+00:00"))
    return (end - (now or dt.datetime.now(dt.UTC))).total_seconds() / 86400


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
    take_over: bool = False  # replace SSO that points at another application (orchestrator/ownership.py)


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


def _secret_will_change(summary, env: Environment) -> bool:
    active = PASSWORD_ADDRESS.format(slot=env.config.secret.active)
    return any(c.address == active and c.action in ("create", "replace") for c in summary.resource_changes)


def _application_will_change(summary) -> bool:
    return any(c.address == APPLICATION_ADDRESS and c.action in ("create", "replace") for c in summary.resource_changes)


def _read_sekoia(client, env: Environment, outputs_future, take_over: bool = False):
    """Sekoia.io's reads for the combined plan; the checks that need no Terraform output go first.

    Not the key's owner (GET /v1/me): `connect` checks every precondition again before it writes,
    and a no-op re-apply needs only the four reads left, which the client sends at once (RequestWindow)."""
    from orchestrator.sekoia_setup import SekoiaTarget, check_preconditions, plan_sekoia

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

    secrets = _reveal(outputs.get("secrets")) or {}
    recorded = [item.get("key_id") for item in secrets.values() if isinstance(item, dict)]
    with open_graph(env, project_dir) as graph:
        remove_unrecorded_passwords(graph, str(outputs["application_object_id"]), recorded, console.note)


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
            from orchestrator.discovery import check_tenant_discovery
            from orchestrator.ownership import owner_of
            from orchestrator.sekoia import SekoiaClient
            from orchestrator.sekoia_setup import (
                SekoiaTarget,
                connect,
                output_command,
                plan_sekoia,
                refuse_foreign,
                terraform_recorder,
            )

            preflight_future = pool.submit(_preflight_report, env, project_dir, options)
            outputs_future = pool.submit(workspace.runner().outputs)  # its own runner: no state shared
            futures += [preflight_future, outputs_future]
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
                preflight = _show_preflight(preflight_report, options, console)
            except BaseException:
                workspace.plan_path.unlink(missing_ok=True)
                raise
            secret_push = sekoia_plan.push_secret or _secret_will_change(tf_summary, env)
            client_id_changes = _application_will_change(tf_summary)

            console.result("Terraform:")
            console.result("  " + tf_summary.render_text().rstrip().replace("\n", "\n  "))
            console.result("Sekoia.io:")
            console.result("  " + sekoia_plan.render_text().rstrip().replace("\n", "\n  "))
            if secret_push and not sekoia_plan.push_secret:
                console.result("  The new client secret will be pushed to Sekoia.io after the Terraform apply.")
            if client_id_changes and target.applied:
                console.result("  The application is (re)created: Sekoia.io will get its new client ID.")

            def owner(client_id: str) -> str:
                return owner_of(project_dir, client_id, exclude=env.name)

            if sekoia_plan.refused:  # before anything is written, in Entra ID as in Sekoia.io
                workspace.plan_path.unlink(missing_ok=True)
                raise refuse_foreign(target, sekoia_plan, owner)
            # A domain Sekoia.io has not verified yet is not done, even with nothing to write: connect waits.
            pending = [d.name for d in sekoia_plan.domains if d.status == "pending"]
            changes = plan.has_changes or sekoia_plan.has_changes or secret_push
            anything = changes or bool(pending)
            if not anything:
                console.step("Nothing to do: the Terraform plan is empty and Sekoia.io already matches")
                workspace.plan_path.unlink(missing_ok=True)
            elif not changes:
                console.step(f"Nothing to change; {', '.join(pending)} still "
                             f"{'waits' if len(pending) == 1 else 'wait'} for Sekoia.io's verification")
            else:
                _confirm(options, f"Apply these changes to environment {env.name}?")

            if plan.has_changes:
                console.step("Applying the saved Terraform plan")
                runner.apply(plan.plan_path)
            workspace.plan_path.unlink(missing_ok=True)
            # With nothing applied, the outputs read beside the plan are still those of the state.
            outputs = runner.outputs() if plan.has_changes or adopted else outputs_future.result()
            if plan.has_changes:
                console.step("Waiting until Entra ID serves the new objects")
                _wait_until_readable(env, project_dir, outputs, console)

            result = None
            if anything:
                console.step("Configuring Sekoia.io")
                ours = (target.client_id,) if target.applied else ()  # before a re-creation of the application
                target = SekoiaTarget.from_outputs(env, outputs, secret_hint=output_command(env.name, "client_secret"),
                                                   take_over=options.take_over, previous_client_ids=ours)
                result = connect(
                    client, target,
                    check_discovery=lambda: check_tenant_discovery(target.provider_url, target.tenant_id,
                                                                   endpoints=endpoints),
                    record_pushed_key_id=terraform_recorder(runner, workspace.data_dir / "record.tfplan"),
                    reporter=console.reporter, wait=options.wait, timeout=options.timeout,
                    show_secret=options.show_secret, poll=poll_policy(env, options.poll),
                    show_plan=False, owner_of=owner,  # the combined plan above showed it
                )
                outputs = runner.outputs()
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

        rotated = False
        left = days_left(_reveal(outputs.get("client_secret_end_date")))
        if (options.rotate_when_due and left is not None and left <= env.config.secret.rotate_before_days
                and len(env.config.secret.slots) == 1):
            console.step(f"The client secret expires in {left:.0f} days (window: "
                         f"{env.config.secret.rotate_before_days}): rotating it")
            rotated = True
    if rotated:
        rotate_environment(project_dir, env, RotateOptions(yes=True, wait=options.wait, timeout=options.timeout,
                                                           sekoia_client_options=options.sekoia_client_options),
                           console)
        env = load_environment(project_dir, env.name)
        outputs = Workspace(env, project_dir).initialised_runner().outputs()
        left = days_left(_reveal(outputs.get("client_secret_end_date")))

    summary = ApplySummary(
        environment=env.name,
        terraform_applied=plan.has_changes,
        terraform_changes=tf_summary.counts(),
        sekoia=result.to_dict() if result else {"status": "unchanged", "plan": sekoia_plan.to_dict()},
        login_url=login_url,
        client_id=_reveal(outputs.get("client_id")),
        client_secret_key_id=_reveal(outputs.get("client_secret_key_id")),
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


def _render(project_dir: Path, env_name: str) -> Environment:
    from orchestrator.render import render_environment, write_rendered

    env = load_environment(project_dir, env_name)
    write_rendered(render_environment(env, project_dir), project_dir)
    return env


def _apply_terraform(workspace: Workspace, console: Console, *, forbid_destroying: set[str] = frozenset()):
    runner = workspace.initialised_runner(on_line=console.terraform_line)
    plan = runner.plan(workspace.plan_path)
    if plan.has_changes:
        summary = runner.show_plan(plan.plan_path)
        doomed = [c.address for c in summary.resource_changes
                  if c.address in forbid_destroying and c.action in ("delete", "replace")]
        if doomed:
            workspace.plan_path.unlink(missing_ok=True)
            raise RotationUnsafeError(
                f"the plan would delete {', '.join(doomed)}, the secret Sekoia.io still holds; nothing was applied"
            )
        console.result("  " + summary.render_text().rstrip().replace("\n", "\n  "))
        runner.apply(plan.plan_path)
    workspace.plan_path.unlink(missing_ok=True)
    return runner


def verify_secret_accepted(env: Environment, workspace: Workspace, client_id: str, secret: Any) -> None:
    """Ask Entra ID for a token with the new secret: it must work before the old one goes."""
    import httpx

    from orchestrator.endpoints import require_https

    endpoints = workspace.endpoints
    url = require_https(endpoints.resolve(f"{endpoints.login_url}/{env.config.tenant_id}/oauth2/v2.0/token"),
                        what="the Entra ID token endpoint")
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": _reveal(secret),
            "scope": f"{endpoints.graph_url}/.default"}
    deadline = time.monotonic() + READABLE_TIMEOUT
    delay = 0.5
    with httpx.Client(timeout=15.0, follow_redirects=False) as http:
        while True:
            try:
                response = http.post(url, data=form)
                if response.status_code == 200:
                    return
                status = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                status = type(exc).__name__
            if time.monotonic() > deadline:
                raise RotationUnsafeError(
                    f"Entra ID does not accept the new client secret yet ({status}); the old secret is kept. "
                    "Re-run `sekoia-sso rotate` later to finish the rotation."
                )
            time.sleep(delay)  # a new secret takes a few seconds to replicate
            delay = min(delay * 2, 10.0)


def _slots_in_state(workspace: Workspace) -> set[str]:
    """The secret slots whose password the Terraform state holds."""
    prefix, suffix = PASSWORD_ADDRESS.split("{slot}")
    return {address[len(prefix):-len(suffix)] for address in workspace.initialised_runner().state_list()
            if address.startswith(prefix) and address.endswith(suffix)}


def rotate_environment(project_dir: Path, env: Environment, options: RotateOptions, console: Console) -> dict[str, Any]:
    """Zero-downtime rotation; each phase is decided from the config, the state and Sekoia.io, so a re-run resumes."""
    from orchestrator.discovery import check_tenant_discovery
    from orchestrator.sekoia import SekoiaClient
    from orchestrator.sekoia_setup import SekoiaTarget, connect, plan_sekoia, terraform_recorder
    from orchestrator.yamledit import set_secret_slots

    workspace = Workspace(env, project_dir)
    with environment_lock(workspace):
        slots = list(env.config.secret.slots)
        unfinished = sorted(_slots_in_state(workspace) - set(slots)) if len(slots) == 1 else []
        if unfinished:
            # Killed after the config dropped the old slot but before Terraform removed its secret: a new
            # rotation would reuse that slot, and its secret, the old one. Finish this rotation instead.
            old, new = unfinished[0], slots[0]
            console.step(f"Finishing the interrupted rotation from slot {old} to {new}")
            set_secret_slots(project_dir / env.path, [old, new], new)
            env = _render(project_dir, env.name)
        elif len(slots) == 1:
            old = slots[0]
            new = next(name for name in (*SLOT_NAMES, f"{old}-next") if name != old)
            _confirm(options, f"Rotate the client secret of {env.name} (slot {old} → {new})?")
            console.step(f"Adding secret slot {new} beside {old} in {env.path}")
            set_secret_slots(project_dir / env.path, [old, new], new)
            env = _render(project_dir, env.name)
        else:
            new = env.config.secret.active
            old = next(slot for slot in slots if slot != new)
            console.step(f"Resuming the rotation from slot {old} to {new}")
            env = _render(project_dir, env.name)
        workspace = Workspace(env, project_dir)

        console.step(f"Creating the secret of slot {new} (the old one stays)")
        runner = _apply_terraform(workspace, console, forbid_destroying={PASSWORD_ADDRESS.format(slot=old)})
        outputs = runner.outputs()

        console.step("Checking that Entra ID accepts the new secret")
        verify_secret_accepted(env, workspace, str(outputs["client_id"]), outputs["client_secret"])

        endpoints = workspace.endpoints
        with SekoiaClient.for_environment(env, endpoints, **options.sekoia_client_options) as client:
            console.step("Giving Sekoia.io the new secret")
            target = SekoiaTarget.from_outputs(env, outputs)
            connect(
                client, target,
                check_discovery=lambda: check_tenant_discovery(target.provider_url, target.tenant_id,
                                                               endpoints=endpoints),
                record_pushed_key_id=terraform_recorder(runner, workspace.data_dir / "record.tfplan"),
                reporter=console.reporter, wait=options.wait, timeout=options.timeout,
                poll=poll_policy(env, options.poll),
            )
            outputs = runner.outputs()
            check = plan_sekoia(client, SekoiaTarget.from_outputs(env, outputs))
        new_key = outputs["secrets"][new]["key_id"] if isinstance(outputs.get("secrets"), dict) else None
        if check.has_changes or _reveal(outputs.get("sekoia_pushed_secret_key_id")) != new_key:
            raise RotationUnsafeError(
                "Sekoia.io does not hold the new secret as recorded; the old secret is kept. Re-run `sekoia-sso "
                f"rotate {env.name}` to finish"
            )

        console.step(f"Sekoia.io holds the new secret: removing the old slot {old}")
        set_secret_slots(project_dir / env.path, [new], new)
        env = _render(project_dir, env.name)
        workspace = Workspace(env, project_dir)
        runner = _apply_terraform(workspace, console, forbid_destroying={PASSWORD_ADDRESS.format(slot=new)})
        _remove_unrecorded_passwords(env, project_dir, runner.outputs(), console)
    console.result(f"Rotated: Sekoia.io now uses the secret of slot {new} (key ID {new_key}).")
    console.result(f"Commit the change: git add {env.path} terraform/envs/{env.name} && "
                   f"git commit -m 'Rotate the Sekoia.io client secret of {env.name}'")
    return {"environment": env.name, "status": "rotated", "slot": new, "client_secret_key_id": new_key,
            "commit": [str(env.path), f"terraform/envs/{env.name}"]}


# ----------------------------------------------------------------------------------------------
# destroy


@dataclass
class DestroyOptions:
    remove_domains: bool = False
    sekoia_client_options: dict[str, Any] = field(default_factory=dict)


def destroy_environment(project_dir: Path, env: Environment, options: DestroyOptions, console: Console) -> dict:
    """Disable SSO (only when it points at this environment's application), then Terraform destroy."""
    from orchestrator.ownership import owner_of
    from orchestrator.sekoia import SekoiaClient, SekoiaRouteMissingError, SsoSettings

    workspace = Workspace(env, project_dir)
    community = env.config.sekoia.community_uuid
    with environment_lock(workspace):
        runner = workspace.initialised_runner(on_line=console.terraform_line)
        ours = str(_reveal(runner.outputs().get("client_id")) or "")
        with SekoiaClient.for_environment(env, workspace.endpoints, **options.sekoia_client_options) as client:
            console.step("Disabling SSO in Sekoia.io")
            try:
                held = client.read_sso(community)
            except SekoiaRouteMissingError:
                held = None  # no read route: the disable below says whether it has one
                foreign = None
            else:
                held_id = SsoSettings.from_answer(held).client_id if held else ""
                foreign = held_id if held_id and held_id.lower() != ours.lower() else None
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
        if missing:
            add("assignments", "drift", f"{len(assigned)} assigned; not assigned: {', '.join(missing)}")
        else:
            add("assignments", "ok", f"{len(assigned)} group(s)/user(s) assigned, as configured")

    left = days_left(_reveal(outputs.get("client_secret_end_date")))
    key_id = _reveal(outputs.get("client_secret_key_id"))
    if left is None:
        add("client secret", "problem", "no end date in the outputs")
    elif left <= 0:
        add("client secret", "problem", f"key ID {key_id} EXPIRED {-left:.0f} days ago: run `sekoia-sso rotate {env.name}`")
    elif left <= env.config.secret.rotate_before_days:
        add("client secret", "warning", f"key ID {key_id}: {left:.0f} days left, inside the rotation window "
            f"({env.config.secret.rotate_before_days}): run `sekoia-sso rotate {env.name}`")
    else:
        add("client secret", "ok", f"key ID {key_id}: {left:.0f} days left")

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
