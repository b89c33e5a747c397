"""The Sekoia.io half of the procedure: preconditions, domains, the verification wait, OIDC.

    target = SekoiaTarget.from_outputs(env, runner.outputs())
    plan = plan_sekoia(client, target)                  # read-only: what connect would change
    print(plan.render_text())
    result = connect(client, target, check_discovery=..., handover=..., reporter=Reporter())

Order, so that nothing is half-done: every read and check first (the key, the community, the
default role, the tenant's discovery document, the domains, the current OIDC settings), then the
writes: domains not registered yet (never twice), the bounded wait for Sekoia.io's team to verify
them, and the OIDC settings only once every domain is verified.

Which client secret does Sekoia.io hold? It never answers the secret. The tool records the KEY
ID (not the secret) of the secret it last pushed in the environment's own Terraform state (see
rotation.py); a push is needed when the record differs from the target's `client_secret_key_id`,
when a hand-over was interrupted, or when the OIDC settings differ. Around a write that gives
Sekoia.io another secret, connect calls `handover.before_push(target)` (Entra ID accepts it, the
hand-over is recorded) and `handover.after_push(target)` (the push is recorded): the records are
behind that object so that this module runs without Terraform.

When an assumed route (domains, SSO) answers 404/405 as a missing path, the step stops and the
exact UI steps are printed with every value to paste, then WaitingError (exit 3): no other route
is guessed. The client secret is printed only when asked (`show_secret`) and only to a terminal.
"""

from __future__ import annotations

import difflib
import json
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol, TextIO

from orchestrator.errors import ConfigError, SekoiaError, SekoiaSSOError, UsageError, WaitingError
from orchestrator.secret import reveal
from orchestrator.sekoia.client import (
    SekoiaClient,
    SekoiaNotFoundError,
    SekoiaPermissionError,
    SekoiaRouteMissingError,
    SsoSettings,
)
from orchestrator.sekoia.ownership import ForeignSSOError, foreign_sso_message
from orchestrator.sekoia.routes import PERMISSION_WRITE
from orchestrator.terminal import Reporter, begin_step, format_duration

__all__ = [
    "ConnectResult",
    "DomainRejectedError",
    "DomainState",
    "DomainsPendingError",
    "FieldChange",
    "KNOWN_AFTER_APPLY",
    "ManualStepsRequired",
    "PollPolicy",
    "Preconditions",
    "RecordFailedError",
    "SekoiaPlan",
    "SekoiaTarget",
    "TerraformNotAppliedError",
    "check_preconditions",
    "connect",
    "connect_environment",
    "manual_steps",
    "plan_sekoia",
]

REQUIRED_OUTPUTS = ("client_id", "tenant_id", "tenant_endpoint", "client_secret", "client_secret_key_id")
DEFAULT_TIMEOUT = 15 * 60.0
KNOWN_AFTER_APPLY = "(known after apply)"


# --------------------------------------------------------------------------------------------
# Errors


class TerraformNotAppliedError(UsageError):
    """connect needs the Terraform outputs; the Terraform half has not been applied."""


class DomainRejectedError(SekoiaError):
    """Sekoia.io's team refused a domain."""


class RecordFailedError(SekoiaSSOError):
    """Sekoia.io holds the new secret but its key ID could not be recorded; the next run pushes again."""


class DomainsPendingError(WaitingError):
    """Domains still wait for Sekoia.io's verification (exit 3); a re-run continues."""

    def __init__(self, message: str, *, pending: tuple[str, ...], report: dict[str, Any] | None = None):
        super().__init__(message)
        self.pending = pending
        self.report = report or {}


class ManualStepsRequired(WaitingError):
    """An assumed route is missing: the steps were printed for the UI (exit 3)."""

    def __init__(self, message: str, *, steps: list[str], operation: str, report: dict[str, Any] | None = None):
        super().__init__(message)
        self.steps = steps
        self.operation = operation
        self.report = report or {}


# --------------------------------------------------------------------------------------------
# What is wanted


@dataclass(frozen=True)
class SekoiaTarget:
    """What the community should hold: the environment's config plus the Terraform outputs."""

    environment: str  # name, for the commands the messages suggest
    source: str  # the YAML file, for messages about its fields
    community_uuid: str
    domains: tuple[str, ...]
    tenant_id: str
    provider_url: str  # the tenant endpoint: Sekoia.io's "URL of your authentication provider"
    client_id: str
    client_secret: Any = field(repr=False)  # str or the runner's Secret; never printed
    client_secret_key_id: str = ""
    pushed_secret_key_id: str | None = None  # which secret Sekoia.io holds, as last recorded
    pushing_secret_key_id: str | None = None  # a hand-over under way: Sekoia.io may hold this one instead
    jit_provisioning: bool = False
    default_role: str | None = None
    app_url: str = "https://app.sekoia.io"
    enabled: bool = True
    secret_hint: str = ""  # how a user reads the secret themselves: `sekoia-sso output ENV client_secret`
    previous_client_ids: tuple[str, ...] = ()  # also this environment's: its application before a re-creation
    take_over: bool = False  # --take-over: replace SSO that points at another application

    @property
    def applied(self) -> bool:
        """False for a target planned before the Terraform half exists (see from_outputs)."""
        return self.client_secret is not None and self.client_id != KNOWN_AFTER_APPLY

    @classmethod
    def from_outputs(cls, env: Any, outputs: Mapping[str, Any], *, secret_hint: str = "",
                     allow_unapplied: bool = False, take_over: bool = False,
                     previous_client_ids: tuple[str, ...] = ()) -> SekoiaTarget:
        """From a loaded Environment and TerraformRunner.outputs(); TerraformNotAppliedError when empty.

        `allow_unapplied=True` is for a plan made before the first Terraform apply: the client ID
        and key ID read "(known after apply)", the provider URL comes from the config, and
        `connect` refuses such a target.
        """
        missing = [name for name in REQUIRED_OUTPUTS if reveal(outputs.get(name)) in (None, "")]
        if missing and allow_unapplied:
            sekoia = env.config.sekoia
            return cls(
                environment=env.name, source=str(env.path), community_uuid=sekoia.community_uuid,
                domains=tuple(sekoia.domains), tenant_id=env.config.tenant_id, provider_url=env.tenant_endpoint,
                client_id=KNOWN_AFTER_APPLY, client_secret=None, client_secret_key_id=KNOWN_AFTER_APPLY,
                pushed_secret_key_id=None, jit_provisioning=sekoia.jit_provisioning,
                default_role=sekoia.default_role, app_url=sekoia.region_info.app_url, secret_hint=secret_hint,
                take_over=take_over, previous_client_ids=previous_client_ids,
            )
        if missing:
            raise TerraformNotAppliedError(
                f"The Terraform half of environment {env.name} has not been applied: the outputs "
                f"{', '.join(missing)} are missing from terraform/envs/{env.name}'s state. Apply it first "
                f"(`sekoia-sso apply {env.name}`), then run `sekoia-sso connect {env.name}`.")
        sekoia = env.config.sekoia
        return cls(
            environment=env.name,
            source=str(env.path),
            community_uuid=sekoia.community_uuid,
            domains=tuple(sekoia.domains),
            tenant_id=str(outputs["tenant_id"]),
            provider_url=str(outputs["tenant_endpoint"]),
            client_id=str(outputs["client_id"]),
            client_secret=outputs["client_secret"],
            client_secret_key_id=str(outputs["client_secret_key_id"]),
            pushed_secret_key_id=reveal(outputs.get("sekoia_pushed_secret_key_id")) or None,
            pushing_secret_key_id=(reveal(outputs.get("sekoia_secret_handover")) or {}).get("pushing") or None,
            jit_provisioning=sekoia.jit_provisioning,
            default_role=sekoia.default_role,
            app_url=sekoia.region_info.app_url,
            secret_hint=secret_hint,
            take_over=take_over,
            previous_client_ids=previous_client_ids,
        )




# --------------------------------------------------------------------------------------------
# Output


# --------------------------------------------------------------------------------------------
# Preconditions


@dataclass(frozen=True)
class Preconditions:
    user_email: str
    community_uuid: str
    community_name: str
    roles: dict[str, str]  # name -> uuid
    default_role_uuid: str | None


def check_preconditions(client: SekoiaClient, target: SekoiaTarget, *, read_key_owner: bool = True) -> Preconditions:
    """The key works, the community is reachable, the default role exists. Reads only.

    `read_key_owner=False` skips GET /v1/me (who owns the key): a refused key fails the community
    read just as clearly. For a plan that writes nothing, where each read costs a rate-limited turn.
    """
    me = client.me() if read_key_owner else {}
    try:
        community = client.community(target.community_uuid)
    except (SekoiaNotFoundError, SekoiaPermissionError) as exc:
        reachable = _reachable_communities(client)
        raise ConfigError(
            f"{target.source}: sekoia.community_uuid {target.community_uuid}: Sekoia.io knows no such community, "
            f"or the API key in {client.key_source} cannot reach it ({exc.status}). "
            + (f"Communities this key reaches: {reachable}." if reachable else "")) from None
    if community.get("disabled"):
        raise SekoiaError(f"Sekoia.io community {community.get('name')} ({target.community_uuid}) is disabled")
    roles_list = client.roles(target.community_uuid)
    roles = {str(r.get("name")): str(r.get("uuid")) for r in roles_list if r.get("name") and r.get("uuid")}
    role_uuid = None
    if target.default_role:
        role_uuid = roles.get(target.default_role)
        if role_uuid is None:
            raise ConfigError(_unknown_role_message(target, str(community.get("name")), roles))
    return Preconditions(
        user_email=str(me.get("email") or ""), community_uuid=target.community_uuid,
        community_name=str(community.get("name") or target.community_uuid), roles=roles,
        default_role_uuid=role_uuid,
    )


def _unknown_role_message(target: SekoiaTarget, community: str, roles: dict[str, str]) -> str:
    wanted = target.default_role or ""
    names = sorted(roles)
    by_lower = {name.lower(): name for name in names}
    close = [by_lower[n] for n in difflib.get_close_matches(wanted.lower(), list(by_lower), n=3, cutoff=0.6)]
    hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return (f"{target.source}: sekoia.default_role {wanted!r} is not a role of community {community}.{hint} "
            f"Its roles: {', '.join(repr(n) for n in names) or '(none)'}")


def _reachable_communities(client: SekoiaClient) -> str:
    try:
        items = client.my_communities()
    except SekoiaError:
        return ""
    return ", ".join(f"{c.get('name')} ({c.get('uuid')})" for c in items[:10])


# --------------------------------------------------------------------------------------------
# The plan


@dataclass(frozen=True)
class DomainState:
    name: str
    status: str  # missing, pending, verified, rejected (Sekoia's statuses), or unknown (route missing)
    uuid: str | None = None
    rejection_reason: str | None = None
    created_at: str | None = None

    def describe(self) -> str:
        return {
            "missing": "not registered: will be sent for verification",
            "pending": "waiting for verification by Sekoia.io"
                       + (f" (sent {self.created_at})" if self.created_at else ""),
            "verified": "verified",
            "rejected": f"REJECTED by Sekoia.io: {self.rejection_reason or 'no reason given'}",
            "unknown": "unknown (the API offers no domain route: see the manual steps)",
        }.get(self.status, self.status)


@dataclass(frozen=True)
class FieldChange:
    name: str
    current: Any
    wanted: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.name, "current": self.current, "wanted": self.wanted}


@dataclass(frozen=True)
class SekoiaPlan:
    """What connect would change in the community. Never holds the secret, only key IDs."""

    environment: str
    community_uuid: str
    community_name: str
    domains: tuple[DomainState, ...]
    wanted: SsoSettings
    default_role_name: str | None
    sso_configured: bool | None  # None: unknown (route missing)
    sso_changes: tuple[FieldChange, ...]
    secret_current: bool  # Sekoia.io holds the current secret, as recorded
    secret_reason: str
    client_secret_key_id: str
    login_url: str | None
    missing_routes: tuple[str, ...] = ()  # operations the API answered as missing: "domains", "sso"
    foreign_client_id: str | None = None  # SSO is configured for another application: its client ID
    take_over: bool = False  # and --take-over replaces it

    @property
    def refused(self) -> bool:
        """The SSO settings belong to another application and --take-over was not given: nothing is written."""
        return self.foreign_client_id is not None and not self.take_over

    @property
    def domains_to_add(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.domains if d.status == "missing")

    @property
    def domains_not_verified(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.domains if d.status != "verified")

    @property
    def rejected(self) -> tuple[DomainState, ...]:
        return tuple(d for d in self.domains if d.status == "rejected")

    @property
    def write_sso(self) -> bool:
        """The OIDC settings will be written (and with them the current secret)."""
        if "sso" in self.missing_routes:
            return False
        return not self.sso_configured or bool(self.sso_changes) or not self.secret_current

    @property
    def push_secret(self) -> bool:
        return self.write_sso  # Sekoia.io's write takes every field, the secret included

    @property
    def has_changes(self) -> bool:
        return bool(self.domains_to_add) or self.write_sso or bool(self.missing_routes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "community": {"uuid": self.community_uuid, "name": self.community_name},
            "domains": [{"name": d.name, "status": d.status, "rejection_reason": d.rejection_reason,
                         "action": "add" if d.status == "missing" else None} for d in self.domains],
            "domains_to_add": list(self.domains_to_add),
            "sso": {
                "configured": self.sso_configured,
                "write": self.write_sso,
                "changes": [c.to_dict() for c in self.sso_changes],
                "wanted": {**self.wanted.to_dict(), "default_role": self.default_role_name},
                "waits_for_domains": list(self.domains_not_verified) if self.write_sso else [],
                "foreign_client_id": self.foreign_client_id,
                "take_over": self.take_over and self.foreign_client_id is not None,
            },
            "secret": {
                "push": self.push_secret,
                "current_key_id": self.client_secret_key_id,
                "held_is_current": self.secret_current,
                "reason": self.secret_reason,
            },
            "login_url": self.login_url,
            "manual": list(self.missing_routes),
            "has_changes": self.has_changes,
        }

    def render_text(self) -> str:
        lines = [f"Sekoia.io community {self.community_name} ({self.community_uuid}):"]
        for domain in self.domains:
            lines.append(f"  domain {domain.name}: {domain.describe()}")
        if "sso" in self.missing_routes:
            lines.append("  OIDC: the API offers no SSO route: see the manual steps")
        elif self.refused:
            lines.append(f"  OIDC: configured for ANOTHER application (client ID {self.foreign_client_id}): "
                         "refused without --take-over")
        elif not self.write_sso:
            lines.append("  OIDC: up to date (Sekoia.io holds the current client secret)")
        else:
            verb = "will be updated" if self.sso_configured else "will be configured"
            if self.foreign_client_id is not None:
                verb = (f"TAKEN OVER (--take-over) from the application with client ID {self.foreign_client_id}, "
                        "whose users lose SSO, and updated")
            waits = self.domains_not_verified
            lines.append(f"  OIDC: {verb}" + (f" once {', '.join(waits)} {'is' if len(waits) == 1 else 'are'} "
                                               "verified" if waits else "") + ":")
            for change in self.sso_changes:
                lines.append(f"    {change.name}: {_show(change.current)} -> {_show(change.wanted)}")
            lines.append(f"    client secret: will be pushed (key ID {self.client_secret_key_id}; "
                         f"{self.secret_reason})")
        return "\n".join(lines)


def _show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _same_url(a: str, b: str) -> bool:
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def _sso_changes(current: SsoSettings | None, wanted: SsoSettings, roles: dict[str, str]) -> tuple[FieldChange, ...]:
    names = {uuid: name for name, uuid in roles.items()}

    def role(uuid: str | None) -> str | None:
        return None if uuid is None else f"{names.get(uuid, 'unknown role')} ({uuid})"

    if current is None:
        base = SsoSettings(False, "", "", False, None)
        changes = []
        for name in ("enabled", "provider_url", "client_id", "jit_provisioning", "default_role_uuid"):
            value = getattr(wanted, name)
            if name == "default_role_uuid":
                changes.append(FieldChange("default_role", None, role(value)))
            else:
                changes.append(FieldChange(name, getattr(base, name) if name in ("enabled", "jit_provisioning")
                                           else None, value))
        return tuple(changes)
    changes = []
    if current.enabled != wanted.enabled:
        changes.append(FieldChange("enabled", current.enabled, wanted.enabled))
    if not _same_url(current.provider_url, wanted.provider_url):
        changes.append(FieldChange("provider_url", current.provider_url or None, wanted.provider_url))
    if current.client_id.lower() != wanted.client_id.lower():
        changes.append(FieldChange("client_id", current.client_id or None, wanted.client_id))
    if current.jit_provisioning != wanted.jit_provisioning:
        changes.append(FieldChange("jit_provisioning", current.jit_provisioning, wanted.jit_provisioning))
    if (current.default_role_uuid or None) != (wanted.default_role_uuid or None):
        changes.append(FieldChange("default_role", role(current.default_role_uuid), role(wanted.default_role_uuid)))
    return tuple(changes)


def _secret_status(target: SekoiaTarget, sso_configured: bool | None) -> tuple[bool, str]:
    held = target.pushed_secret_key_id
    if not sso_configured:
        return False, "SSO is not configured in Sekoia.io yet"
    if target.pushing_secret_key_id:
        return False, f"a hand-over to key ID {target.pushing_secret_key_id} was interrupted: it is pushed again"
    if not held:
        return False, "no record of which secret Sekoia.io holds"
    if held.lower() != target.client_secret_key_id.lower():
        return False, f"Sekoia.io holds key ID {held}, an older secret"
    return True, f"Sekoia.io holds key ID {held}"


def _domain_states(target: SekoiaTarget, items: list[dict[str, Any]]) -> tuple[DomainState, ...]:
    by_name = {str(item.get("name", "")).lower(): item for item in items}
    states = []
    for name in target.domains:
        item = by_name.get(name.lower())
        if item is None:
            states.append(DomainState(name, "missing"))
        else:
            states.append(DomainState(name, str(item.get("status") or "pending"), item.get("uuid"),
                                      item.get("rejection_reason") or None, item.get("created_at")))
    return tuple(states)


def _wanted(target: SekoiaTarget, pre: Preconditions) -> SsoSettings:
    return SsoSettings(enabled=target.enabled, provider_url=target.provider_url, client_id=target.client_id,
                       jit_provisioning=target.jit_provisioning, default_role_uuid=pre.default_role_uuid)


def plan_sekoia(client: SekoiaClient, target: SekoiaTarget, *, preconditions: Preconditions | None = None
                ) -> SekoiaPlan:
    """What connect would do, from reads only (no write, no wait): for the workflow's combined plan."""
    pre = preconditions or check_preconditions(client, target)
    missing: list[str] = []
    try:
        domains = _domain_states(target, client.domains(target.community_uuid))
    except SekoiaRouteMissingError:
        missing.append("domains")
        domains = tuple(DomainState(name, "unknown") for name in target.domains)
    wanted = _wanted(target, pre)
    try:
        current_answer = client.read_sso(target.community_uuid)
    except SekoiaRouteMissingError:
        missing.append("sso")
        current_answer = None
        configured: bool | None = None
    else:
        configured = current_answer is not None
    current = SsoSettings.from_answer(current_answer) if current_answer else None
    changes = _sso_changes(current, wanted, pre.roles) if configured is not None else ()
    ours = {target.client_id.lower(), *(c.lower() for c in target.previous_client_ids)}
    foreign = current.client_id if current and current.client_id and current.client_id.lower() not in ours else None
    secret_current, reason = _secret_status(target, configured)
    return SekoiaPlan(
        environment=target.environment, community_uuid=target.community_uuid, community_name=pre.community_name,
        domains=domains, wanted=wanted, default_role_name=target.default_role, sso_configured=configured,
        sso_changes=changes, secret_current=secret_current, secret_reason=reason,
        client_secret_key_id=target.client_secret_key_id,
        login_url=(current_answer or {}).get("login_url"), missing_routes=tuple(missing),
        foreign_client_id=foreign, take_over=target.take_over,
    )


# --------------------------------------------------------------------------------------------
# The manual fallback


def manual_steps(target: SekoiaTarget, plan: SekoiaPlan, *, domains: bool, sso: bool, show_secret: bool,
                 to_terminal: bool) -> list[str]:
    """The UI steps, numbered, with every value to paste. The secret only if shown AND to a terminal."""
    steps: list[str] = []
    where = (f"In Sekoia.io ({target.app_url}), open \"Managed communities\" (your profile, top right > "
             f"\"Community settings\"), community {plan.community_name}, then \"Security\".")
    steps.append(where)
    if domains:
        names = plan.domains_not_verified or tuple(target.domains)
        steps.append("\"Verify your domains\" > \"+ Domain\": for each of these domains not listed yet, type it "
                     "and click \"Send for verification\": " + ", ".join(names) + ".")
        steps.append("Wait until each shows \"Verified\" (Sekoia.io's team checks it: hours to days).")
    if sso:
        if show_secret and to_terminal:
            secret_line = f"    Your client secret: {reveal(target.client_secret)}"
        else:
            why = ("" if not show_secret else
                   " (--show-secret prints it to a terminal only, and this output is not one)")
            how = target.secret_hint or output_command(target.environment, "client_secret")
            secret_line = (f"    Your client secret: not shown{why}; read it yourself with: {how} "
                           f"(in a terminal; key ID {target.client_secret_key_id}), or re-run with --show-secret "
                           "in a terminal")
        role = target.default_role or "(leave as is)"
        steps.append("\n".join([
            "\"Configure single Sign-on (SSO)\" > \"Configure\", and fill in:",
            f"    URL of your authentication provider: {target.provider_url}",
            f"    Your client ID: {target.client_id}",
            secret_line,
            "    Create an account for users accessing the platform for the first time using SSO: "
            + ("checked" if target.jit_provisioning else "unchecked"),
            f"    Role by default: {role if target.jit_provisioning or target.default_role else '(none)'}",
        ]))
        steps.append("Click \"Enable SSO\", then share the Single Sign-on URL shown on that page with your users.")
    return [f"{number}. {text}" for number, text in enumerate(steps, start=1)]


def output_command(env_name: str, name: str) -> str:
    """The command that prints one Terraform output of an environment, as the user can type it anywhere."""
    return f"sekoia-sso output {env_name} {name}"


def _manual(target: SekoiaTarget, plan: SekoiaPlan, reporter: Reporter, error: SekoiaRouteMissingError | None,
            *, operation: str, domains: bool, sso: bool, show_secret: bool, report: dict[str, Any]
            ) -> ManualStepsRequired:
    steps = manual_steps(target, plan, domains=domains, sso=sso, show_secret=show_secret,
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
    safe_steps = manual_steps(target, plan, domains=domains, sso=sso, show_secret=False, to_terminal=False)
    report = {**report, "status": "manual", "manual_steps": safe_steps}
    return ManualStepsRequired(
        f"Sekoia.io's API has no {what} route ({cause}): finish the {what} step in Sekoia.io's UI (steps "
        "printed above), then re-run. This tool never guesses another route.",
        steps=safe_steps, operation=operation, report=report)


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
        states = _domain_states(target, client.domains(target.community_uuid))
        for domain in states:
            if previous.get(domain.name) != domain.status:
                reporter.note(f"  domain {domain.name}: {domain.describe()}")
                logged = None  # something changed: say where the wait stands
        _raise_if_rejected(states)


def _pending_error(target: SekoiaTarget, states: tuple[DomainState, ...], *, waited: float | None,
                   report: dict[str, Any]) -> DomainsPendingError:
    pending = tuple(d.name for d in states if d.status == "pending")
    since = "; ".join(f"{d.name} sent {d.created_at}" for d in states if d.status == "pending" and d.created_at)
    waited_text = f"Gave up waiting after {format_duration(waited)}" if waited is not None else "Not waiting (--no-wait)"
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
    reporter = reporter or Reporter()
    if not target.applied:
        raise TerraformNotAppliedError(
            f"The Terraform half of environment {target.environment} has not been applied: there is no client "
            f"ID or secret to give Sekoia.io yet. Apply it first (`sekoia-sso apply {target.environment}`).")
    begin_step("checking the Sekoia.io API key, community and default role")
    pre = check_preconditions(client, target)
    reporter.note(f"Sekoia.io: API key of {pre.user_email or 'an API user'} reaches community "
                  f"{pre.community_name}" + (f"; default role {target.default_role}" if target.default_role else ""))
    # Before anything is written: Sekoia.io must not be pointed at a tenant that cannot log anyone in.
    begin_step("checking the tenant's discovery document")
    discovery = check_discovery()
    issuer = getattr(discovery, "issuer", None)
    if issuer:
        keys = len(getattr(discovery, "key_ids", ()))
        reporter.note(f"Tenant discovery document checked: issuer {issuer}, {keys} signing key(s)")
    begin_step("reading the community's domains and SSO settings")
    plan = plan_sekoia(client, target, preconditions=pre)
    if show_plan:
        reporter.line(plan.render_text())
    report: dict[str, Any] = {"plan": plan.to_dict()}
    if plan.refused:
        raise refuse_foreign(target, plan, owner_of)

    if "domains" in plan.missing_routes:
        raise _manual(target, plan, reporter, None, operation="list_domains", domains=True, sso=True,
                      show_secret=show_secret, report=report)
    _raise_if_rejected(plan.domains)

    states = plan.domains
    added: list[str] = []
    if plan.domains_to_add:
        begin_step("registering domains in Sekoia.io")
    for name in plan.domains_to_add:
        try:
            client.add_domain(target.community_uuid, name)
        except SekoiaRouteMissingError as exc:
            raise _manual(target, plan, reporter, exc, operation="add_domain", domains=True, sso=True,
                          show_secret=show_secret, report=report) from None
        except SekoiaPermissionError as exc:
            raise _permission_error(exc, "register the domain " + name, written=added) from None
        except SekoiaError as exc:
            if exc.status != 409:  # 409: it is there already (another run, or the UI): never twice
                raise
        added.append(name)
        reporter.note(f"  domain {name}: sent for verification")
    if added:
        states = _domain_states(target, client.domains(target.community_uuid))
        for domain in states:
            if domain.name in added and domain.status != "pending":
                reporter.note(f"  domain {domain.name}: {domain.describe()}")
        _raise_if_rejected(states)
        unlisted = [d.name for d in states if d.status == "missing"]
        if unlisted:
            raise SekoiaError(f"Sekoia.io accepted {', '.join(unlisted)} (or answered that it exists) but does "
                              "not list it in the community's domains; check them in the UI before re-running")

    if any(d.status == "pending" for d in states):
        if not wait:
            raise _pending_error(target, states, waited=None, report=report)
        begin_step("waiting for Sekoia.io to verify the domains")
        states = _wait_for_domains(client, target, states, timeout=timeout, poll=poll, reporter=reporter,
                                   clock=clock, sleep=sleep, report=report)
        # The wait may have lasted long: read the OIDC settings again before deciding to write.
        plan = replace(plan_sekoia(client, target, preconditions=pre), domains=states)
    unverified = [d.name for d in states if d.status != "verified"]
    if unverified:
        raise SekoiaError(f"Sekoia.io answers an unexpected status for {', '.join(unverified)}: "
                          f"{', '.join(sorted({d.status for d in states if d.status != 'verified'}))}")

    if "sso" in plan.missing_routes:
        raise _manual(target, plan, reporter, None, operation="read_sso", domains=False, sso=True,
                      show_secret=show_secret, report=report)
    login_url = plan.login_url
    pushed: str | None = None
    if plan.write_sso:
        if plan.refused:  # read again after the wait: another environment took the community meanwhile
            raise refuse_foreign(target, plan, owner_of)
        begin_step("writing the OIDC settings to Sekoia.io")
        # Another secret than the one Sekoia.io holds: Entra ID must accept it first, and the hand-over
        # is recorded before the write, as from then on Sekoia.io may hold either (rotation.py).
        new_secret = not plan.secret_current
        if new_secret:
            handover.before_push(target)
        try:
            answer = client.write_sso(target.community_uuid, plan.wanted, client_secret=target.client_secret)
        except SekoiaRouteMissingError as exc:
            raise _manual(target, plan, reporter, exc, operation="write_sso", domains=False, sso=True,
                          show_secret=show_secret, report=report) from None
        except SekoiaPermissionError as exc:
            raise _permission_error(exc, "write the OIDC settings", written=added) from None
        stored = SsoSettings.from_answer(answer or {})
        left = _sso_changes(stored, plan.wanted, pre.roles)
        if left:
            raise SekoiaError("Sekoia.io accepted the OIDC settings but answers different ones: "
                              + "; ".join(f"{c.name} is {_show(c.current)}, not {_show(c.wanted)}" for c in left))
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
        login_url = (answer or {}).get("login_url") or login_url
    else:
        reporter.note("OIDC settings up to date; nothing written")
    if login_url:
        reporter.line(f"Users log in through SSO at: {login_url}")
    return ConnectResult(plan=plan, domains=states, domains_added=tuple(added), sso_written=plan.write_sso,
                         secret_pushed_key_id=pushed, login_url=login_url, discovery=discovery)


def refuse_foreign(target: SekoiaTarget, plan: SekoiaPlan, owner_of: Callable[[str], str] | None
                   ) -> ForeignSSOError:
    """The error for SSO that points at another application (see orchestrator/ownership.py)."""
    held = str(plan.foreign_client_id)
    owner = "could not tell which environment has it"
    if owner_of is not None:
        try:
            owner = owner_of(held)
        except Exception:  # noqa: BLE001 - the refusal matters, not why its detail could not be read
            pass
    return ForeignSSOError(foreign_sso_message(f"{plan.community_name} ({plan.community_uuid})", held, owner,
                                               env_name=target.environment))


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
    from orchestrator.rotation import push_to_sekoia
    from orchestrator.sekoia.ownership import owner_of
    from orchestrator.workspace import Workspace

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
                                secret_hint=output_command(env.name, "client_secret"), take_over=take_over,
                                owner_of=lambda client_id: owner_of(project_dir, client_id, exclude=env.name))
    if as_json:
        _print_json(out, {"environment": env.name, **result.to_dict()})
    return result


def _print_json(out: TextIO, document: Mapping[str, Any]) -> None:
    out.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
    out.flush()
