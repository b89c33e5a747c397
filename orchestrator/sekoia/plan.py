"""What connect would change in a community, from reads only: the preconditions, the domains, the OIDC diff.

    pre = check_preconditions(client, target)           # the key, the community, the default role
    plan = plan_sekoia(client, target, preconditions=pre)
    print(plan.render_text()); plan.to_dict()           # the combined plan of `apply`, `status`, `connect`

Which client secret does Sekoia.io hold? It never answers the secret. The tool records the KEY
ID (not the secret) of the secret it last pushed in the environment's own Terraform state (see
workflows/client_secret.py); a push is needed when the record differs from the target's `client_secret_key_id`,
when a hand-over was interrupted, or when the OIDC settings differ (settings.py).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from orchestrator.errors import (
    ConfigError,
    SekoiaError,
    SekoiaNotFoundError,
    SekoiaPermissionError,
    SekoiaRouteMissingError,
)
from orchestrator.sekoia.client import SekoiaClient
from orchestrator.sekoia.ownership import foreign_holder
from orchestrator.sekoia.settings import FieldChange, SekoiaTarget, SsoSettings, show_value, sso_changes

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
                lines.append(f"    {change.name}: {show_value(change.current)} -> {show_value(change.wanted)}")
            lines.append(f"    client secret: will be pushed (key ID {self.client_secret_key_id}; "
                         f"{self.secret_reason})")
        return "\n".join(lines)


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


def domain_states(target: SekoiaTarget, items: list[dict[str, Any]]) -> tuple[DomainState, ...]:
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


def plan_sekoia(client: SekoiaClient, target: SekoiaTarget, *, preconditions: Preconditions | None = None,
                read_key_owner: bool = True) -> SekoiaPlan:
    """What connect would do, from reads only (no write, no wait): for the workflow's combined plan.

    Without `preconditions` they are checked first (`read_key_owner`: see check_preconditions)."""
    pre = preconditions or check_preconditions(client, target, read_key_owner=read_key_owner)
    missing: list[str] = []
    try:
        domains = domain_states(target, client.domains(target.community_uuid))
    except SekoiaRouteMissingError:
        missing.append("domains")
        domains = tuple(DomainState(name, "unknown") for name in target.domains)
    wanted = target.wanted_settings(pre.default_role_uuid)
    try:
        current_answer = client.read_sso(target.community_uuid)
    except SekoiaRouteMissingError:
        missing.append("sso")
        current_answer = None
        configured: bool | None = None
    else:
        configured = current_answer is not None
    current = SsoSettings.from_answer(current_answer) if current_answer else None
    changes = sso_changes(current, wanted, pre.roles) if configured is not None else ()
    foreign = foreign_holder(current.client_id if current else None, (target.client_id, *target.previous_client_ids))
    secret_current, reason = _secret_status(target, configured)
    return SekoiaPlan(
        environment=target.environment, community_uuid=target.community_uuid, community_name=pre.community_name,
        domains=domains, wanted=wanted, default_role_name=target.default_role, sso_configured=configured,
        sso_changes=changes, secret_current=secret_current, secret_reason=reason,
        client_secret_key_id=target.client_secret_key_id,
        login_url=(current_answer or {}).get("login_url"), missing_routes=tuple(missing),
        foreign_client_id=foreign, take_over=target.take_over,
    )


