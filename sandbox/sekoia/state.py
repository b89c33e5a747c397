"""The Sekoia.io emulator's data: communities, roles, API keys, email domains and SSO configurations.

`SekoiaState` holds them and the operations on them, with no lock and no HTTP: the emulator takes
its lock around every call. Its random draws (uuids, keys) come from the emulator's one
`random.Random(seed)`, shared with the fault draws, so that a seed replays a whole run.
"""

from __future__ import annotations

import random
import time
import uuid as uuidlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from orchestrator.sekoia.routes import PERMISSION_READ, PERMISSION_WRITE

DEMO_COMMUNITY_UUID = "3b1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21"
DEMO_COMMUNITY_NAME = "Contoso SOC"
DEMO_ROLE_NAMES = ("Admin", "Analyst", "Read only")
FOREIGN_COMMUNITY_UUID = "9e4f2d18-5a3b-4c6e-8f1a-2b7d9c0e4a63"  # seeded, but the demo key cannot reach it
FOREIGN_COMMUNITY_NAME = "Fabrikam CERT"

DEMO_NAMESPACE = uuidlib.UUID(DEMO_COMMUNITY_UUID)
DEMO_ROLE_PERMISSIONS = {
    "Admin": [PERMISSION_READ, PERMISSION_WRITE, "COMMUNITY_ADD_MEMBER", "COMMUNITY_ASSIGN_ROLE",
              "COMMUNITY_EDIT_COMMUNITY", "COMMUNITY_LIST_MEMBER", "SIC_READ_ALERTS", "SIC_WRITE_ALERTS"],
    "Analyst": ["SIC_READ_ALERTS", "SIC_WRITE_ALERTS", "SIC_READ_INCIDENTS", "SIC_WRITE_INCIDENTS"],
    "Read only": ["SIC_READ_ALERTS", "SIC_READ_INCIDENTS", "DASHBOARD_READ_DASHBOARDS"],
}
DEMO_USER = {"email": "soc.admin@contoso.com", "firstname": "Alex", "lastname": "Martin"}
SSO_EDITABLE = frozenset({"enabled", "provider_url", "client_id", "jit_provisioning", "default_role_uuid"})


@dataclass
class Community:
    uuid: str
    name: str
    parent_uuid: str | None = None
    disabled: bool = False


@dataclass
class Role:
    uuid: str
    name: str
    community_uuid: str
    permissions: list[str]


@dataclass
class ApiKey:
    permissions: frozenset[str]
    community_uuid: str
    user: dict[str, str]
    expired: bool = False


@dataclass
class Domain:
    uuid: str
    community_uuid: str
    name: str
    status: str
    created_at: str
    created_monotonic: float
    rejection_reason: str | None = None


@dataclass
class Sso:
    uuid: str
    enabled: bool
    provider_url: str
    client_id: str
    jit_provisioning: bool
    default_role_uuid: str | None


class SekoiaState:
    def __init__(self, rng: random.Random):
        self._rng = rng
        self.communities: dict[str, Community] = {}
        self.roles: dict[str, Role] = {}
        self.keys: dict[str, ApiKey] = {}
        self.domains: dict[str, Domain] = {}
        self.sso: dict[str, Sso] = {}
        self.secrets: dict[str, str] = {}
        self.secret_history: dict[str, list[str]] = {}

    def new_uuid(self) -> str:
        return str(uuidlib.UUID(int=self._rng.getrandbits(128), version=4))

    # ---- communities, roles, keys -----------------------------------------------------------

    def add_community(self, name: str, *, uuid: str | None, parent_uuid: str | None,
                      roles: dict[str, Iterable[str]] | None) -> str:
        uuid = uuid or self.new_uuid()
        if uuid in self.communities:
            raise ValueError(f"community {uuid} already exists")
        if parent_uuid is not None and parent_uuid not in self.communities:
            raise ValueError(f"no parent community {parent_uuid}")
        self.communities[uuid] = Community(uuid, name, parent_uuid)
        if roles is None:
            roles = {name: DEMO_ROLE_PERMISSIONS[name] for name in DEMO_ROLE_NAMES}
        for role_name, permissions in roles.items():
            self.add_role(uuid, role_name, permissions, uuid=None)
        return uuid

    def add_role(self, community_uuid: str, name: str, permissions: Iterable[str], *, uuid: str | None) -> str:
        self.community_or_raise(community_uuid)
        uuid = uuid or self.new_uuid()
        self.roles[uuid] = Role(uuid, name, community_uuid, sorted(permissions))
        return uuid

    def roles_of(self, community_uuid: str) -> dict[str, str]:
        """name → uuid of the community's roles."""
        return {r.name: r.uuid for r in self.roles.values() if r.community_uuid == community_uuid}

    def add_api_key(self, permissions: Iterable[str], *, community_uuid: str, expired: bool,
                    user: dict[str, str] | None) -> str:
        self.community_or_raise(community_uuid)
        key = f"{self._rng.getrandbits(256):064x}"
        if user is None:
            user = {"uuid": self.new_uuid(), "email": "api.user@contoso.com",
                    "firstname": "Api", "lastname": "User"}
        self.keys[key] = ApiKey(frozenset(permissions), community_uuid, dict(user), expired)
        return key

    def community_or_raise(self, community_uuid: str) -> Community:
        try:
            return self.communities[community_uuid]
        except KeyError:
            raise ValueError(f"no community {community_uuid}") from None

    def reachable(self, key: ApiKey) -> list[str]:
        """The key's community, then its sub-communities, level by level."""
        found = [key.community_uuid]
        for uuid in found:  # the list grows while it is walked: breadth first
            found.extend(c.uuid for c in self.communities.values() if c.parent_uuid == uuid)
        return found

    # ---- domains ----------------------------------------------------------------------------

    def create_domain(self, community_uuid: str, name: str, status: str, rejection_reason: str | None) -> Domain:
        domain = Domain(self.new_uuid(), community_uuid, name, status,
                        datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
                        time.monotonic(), rejection_reason)
        self.domains[domain.uuid] = domain
        return domain

    def set_domain_status(self, name: str, status: str, reason: str | None, community_uuid: str | None) -> None:
        hits = [d for d in self.domains.values()
                if d.name == name.lower() and community_uuid in (None, d.community_uuid)]
        if not hits:
            raise KeyError(f"no domain {name!r}" + (f" in community {community_uuid}" if community_uuid else ""))
        for domain in hits:
            domain.status = status
            domain.rejection_reason = reason

    def domains_of(self, community_uuid: str, verification_delay: float | None) -> list[dict[str, Any]]:
        return [self.domain_view(d, verification_delay) for d in self.domains.values()
                if d.community_uuid == community_uuid]

    # ---- SSO --------------------------------------------------------------------------------

    def push_sso(self, community_uuid: str, payload: dict[str, Any]) -> Sso:
        """A checked write_sso body becomes the community's configuration; its secret is kept apart."""
        previous = self.sso.get(community_uuid)
        sso = Sso(previous.uuid if previous else self.new_uuid(), payload["enabled"], payload["provider_url"],
                  payload["client_id"], payload["jit_provisioning"], payload.get("default_role_uuid"))
        self.sso[community_uuid] = sso
        self.secrets[community_uuid] = payload["client_secret"]
        self.secret_history.setdefault(community_uuid, []).append(payload["client_secret"])
        return sso

    # ---- views: what the API answers --------------------------------------------------------

    def community_view(self, community: Community) -> dict[str, Any]:
        children = [c.uuid for c in self.communities.values() if c.parent_uuid == community.uuid]
        return {
            "uuid": community.uuid,
            "name": community.name,
            "is_parent": bool(children),
            "parent_community_uuid": community.parent_uuid,
            "subcommunities": children,
            "disabled": community.disabled,
        }

    @staticmethod
    def domain_view(domain: Domain, verification_delay: float | None) -> dict[str, Any]:
        """The domain as answered; a pending one older than `verification_delay` seconds is verified first."""
        if (domain.status == "pending" and verification_delay is not None
                and time.monotonic() - domain.created_monotonic >= verification_delay):
            domain.status = "verified"
        return {
            "uuid": domain.uuid,
            "name": domain.name,
            "status": domain.status,
            "created_at": domain.created_at,
            "rejection_reason": domain.rejection_reason,
        }

    @staticmethod
    def sso_view(sso: Sso, app_url: str) -> dict[str, Any]:
        return {
            "enabled": sso.enabled,
            "provider_url": sso.provider_url,
            "client_id": sso.client_id,
            "jit_provisioning": sso.jit_provisioning,
            "default_role_uuid": sso.default_role_uuid,
            "login_url": f"{app_url}/user/oidc/{sso.uuid}",
        }
