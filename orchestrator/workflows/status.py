"""`sekoia-sso status`: what each part of an environment is, read from its source of truth.

A report, not a script: each part is a small check of its own, run beside the others, and a
check that fails (Terraform, Graph or Sekoia.io unreachable, an output missing) is that part's
problem; the others still report. The sources are read once each, beside each other: ONE Terraform
plan (its `resource_drift` and `resource_changes` carry both the drift and the pending changes),
the outputs, Microsoft Graph, Sekoia.io and the tenant's discovery document; `login readiness` asks
Entra ID's token and authorize endpoints (and, in the sandbox, logs a user in through Sekoia.io).

The checks, in the order the report shows them, are STATUS_CHECKS at the end of this file.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.config.schema import Environment
from orchestrator.console import Console
from orchestrator.errors import EXIT_FAILED, EXIT_OK, EXIT_WAITING, SekoiaSSOError
from orchestrator.secret import reveal

if TYPE_CHECKING:  # each is imported by the read that needs it
    from orchestrator.entra.graph import GraphClient
    from orchestrator.sekoia.plan import SekoiaPlan
    from orchestrator.sekoia.settings import SekoiaTarget
from orchestrator.terraform.planview import PlanSummary
from orchestrator.terraform.workspace import Workspace


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

    def _open_graph(self) -> GraphClient:
        from orchestrator.entra.graph import open_graph

        return open_graph(self.env, self.project_dir)

    def target(self) -> SekoiaTarget:
        from orchestrator.sekoia.settings import SekoiaTarget

        return SekoiaTarget.from_outputs(self.env, self.outputs_or_none() or {}, allow_unapplied=True)

    def _sekoia_plan(self) -> SekoiaPlan:
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
    from orchestrator.workflows.client_secret import Ledger, Slot

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
    from orchestrator.workflows.client_secret import read_credentials

    try:
        return read_credentials(reads.graph.result(), reads.object_id("application_object_id"))
    except SekoiaSSOError:
        return None


def _check_discovery(reads: _StatusReads) -> Check:
    from orchestrator.entra.discovery import check_tenant_discovery

    target = reads.target()
    discovery = check_tenant_discovery(target.provider_url, target.tenant_id, endpoints=reads.workspace.endpoints)
    return Check("discovery document", "ok", f"issuer {discovery.issuer}",
                 {"tenant_id": target.tenant_id, "issuer": discovery.issuer})


def _check_login_readiness(reads: _StatusReads) -> Check:
    """Entra ID takes the secret Sekoia.io holds and the client ID with the redirect URI (orchestrator/entra/login.py);
    in the sandbox, a real SSO login too."""
    from orchestrator.entra.login import check_login_readiness
    from orchestrator.sekoia.settings import SekoiaTarget

    env = reads.env
    target = SekoiaTarget.from_outputs(env, reads.outputs.result())
    login_url, user = login_attempt(env, reads.sekoia.result().login_url)
    ready = check_login_readiness(target, env.config.sekoia.redirect_uris[0], endpoints=reads.workspace.endpoints,
                                  env_name=env.name, sandbox_user=user, login_url=login_url)
    return Check("login readiness", "ok", ready.describe(), ready.to_dict())


def login_attempt(env: Environment, login_url: str | None) -> tuple[str | None, str | None]:
    """(login URL, user) of the sandbox's real SSO login: the first UPN of access.users; (None, None) elsewhere."""
    users = env.config.access.user_references.names
    if not env.config.sandbox or not login_url or not users:
        return None, None
    return login_url, users[0]


def _check_sekoia_domains(reads: _StatusReads) -> list[Check]:
    states = {"verified": "ok", "pending": "waiting", "missing": "drift"}  # missing: apply registers it
    apply = f"not registered in Sekoia.io: `sekoia-sso apply {reads.env.name}` sends it for verification"
    return [Check(f"domain {d.name}", states.get(d.status, "problem"), apply if d.status == "missing" else d.describe(),
                  {"domain": d.name, "status": d.status, "rejection_reason": d.rejection_reason})
            for d in reads.sekoia.result().domains]


def _check_sekoia_oidc(reads: _StatusReads) -> Check:
    plan, outputs, name = reads.sekoia.result(), reads.outputs_or_none(), reads.env.name
    facts: dict[str, Any] = {"configured": plan.sso_configured, "login_url": plan.login_url,
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
    ("login readiness", _check_login_readiness),
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
            started: list[Future[Any]] = [reads.runner, reads.plan, reads.outputs, reads.graph, reads.sekoia]
            wait(started)
            reads.close()
    for check in checks:
        console.result(check.line())
    return _status_code(checks, strict=options.strict), checks


def _missing_assignments(graph: GraphClient, env: Environment, assigned: list[dict[str, Any]]) -> list[str]:
    """The configured groups and users that hold no assignment on the service principal."""
    from orchestrator.entra.graph import path_segment

    ids = {str(a.get("principalId", "")).lower() for a in assigned}
    group_names = {str(a.get("principalDisplayName")) for a in assigned if a.get("principalType") == "Group"}
    groups, users = env.config.access.group_references, env.config.access.user_references
    missing = [name for name in groups.names if name not in group_names]
    missing += [object_id for object_id in (*groups.ids, *users.ids) if object_id not in ids]
    for upn in users.names:
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


def status_document(env: Environment, code: int, checks: list[Check], *, strict: bool) -> dict[str, Any]:
    """What `status --json` prints (and `status --all --json`'s row `result`)."""
    states = [c.state for c in checks]
    return {"environment": env.name, "exit_code": code, "strict": strict,
            "counts": {state: states.count(state) for state in sorted(set(states))},
            "checks": [c.to_dict() for c in checks]}


def status_headline(checks: list[Check]) -> str:
    """One line for a fleet's table: `10 ok`, or each part that is not ok by state (`drift: terraform drift`)."""
    by_state: dict[str, list[str]] = {}
    for check in checks:
        by_state.setdefault(check.state, []).append(check.part)
    ok = len(by_state.pop("ok", []))
    parts = [f"{state}: {', '.join(dict.fromkeys(names))}" for state, names in by_state.items()]
    return "; ".join([f"{ok} ok", *parts]) if parts else f"all {ok} parts ok"
