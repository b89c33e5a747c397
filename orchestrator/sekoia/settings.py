"""The OIDC settings of a community, in one place: their fields, the body sent, the wanted values, the diff.

    SsoSettings.from_answer(client.read_sso(uuid))   # what Sekoia.io holds (it never answers the secret)
    target = SekoiaTarget.from_outputs(env, outputs)   # what the environment wants
    wanted = target.wanted_settings(role_uuid)         # the values connect writes
    sso_changes(current, wanted, roles)                # field by field, for the plan
    wanted.body(client_secret)                         # the JSON body of PUT .../sso

Each field of `SsoSettings` carries how it is compared and what a community without SSO holds
(`sso_field`): the diff, the reading of an answer and the body all walk that one list,
`SSO_FIELDS`, so adding a field is one line. The sandbox's emulator checks a body against the
same list (`SSO_BODY_FIELDS`, `SSO_BODY_REQUIRED`, `sso_body_problems`).

Pure data: no HTTP library, so that the CLI stays fast and the emulator can import it.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from orchestrator.errors import TerraformNotAppliedError
from orchestrator.secret import reveal

REQUIRED_OUTPUTS = ("client_id", "tenant_id", "tenant_endpoint", "client_secret", "client_secret_key_id")
KNOWN_AFTER_APPLY = "(known after apply)"
SECRET_FIELD = "client_secret"  # sent in every write, never answered


# --------------------------------------------------------------------------------------------
# The fields


def same_url(a: str, b: str) -> bool:
    """The same provider URL, whatever its case or trailing slash."""
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def _same_id(a: str, b: str) -> bool:
    return a.lower() == b.lower()  # a GUID: Entra ID and Sekoia.io may answer either case


def _same_or_unset(a: str | None, b: str | None) -> bool:
    return (a or None) == (b or None)


def sso_field(*, same: Callable[[Any, Any], bool], required: bool = True, label: str = "") -> Any:
    """A field of SsoSettings: `same` compares held and wanted values; `required`: in every body (else may be
    null); `label`: its name in a plan's changes when not the field's own."""
    return field(metadata={"same": same, "required": required, "label": label})


@dataclass(frozen=True)
class SsoSettings:
    """The OIDC settings Sekoia.io stores and answers, without the secret (it never answers it)."""

    enabled: bool = sso_field(same=operator.eq)
    provider_url: str = sso_field(same=same_url)
    client_id: str = sso_field(same=_same_id)
    jit_provisioning: bool = sso_field(same=operator.eq)
    default_role_uuid: str | None = sso_field(same=_same_or_unset, required=False, label="default_role")

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> SsoSettings:
        return cls(**{f.name: f.read(data.get(f.name)) for f in SSO_FIELDS})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def body(self, client_secret: str) -> dict[str, Any]:
        """The body of the write: every field, and the secret."""
        return {**self.to_dict(), SECRET_FIELD: client_secret}


@dataclass(frozen=True)
class SsoField:
    name: str
    flag: bool  # true/false; otherwise a string
    required: bool
    same: Callable[[Any, Any], bool]
    label: str

    @property
    def unset(self) -> Any:
        """What a community without SSO holds."""
        return False if self.flag else None

    def read(self, value: Any) -> Any:
        """The field from an answer: a flag is a bool, a required string is never None, an optional one never ""."""
        if self.flag:
            return bool(value)
        return str(value or "") if self.required else value or None


SSO_FIELDS: tuple[SsoField, ...] = tuple(
    SsoField(f.name, f.type == "bool", f.metadata["required"], f.metadata["same"], f.metadata["label"] or f.name)
    for f in dataclasses.fields(SsoSettings)
)
SSO_BODY_FIELDS: tuple[str, ...] = (*(f.name for f in SSO_FIELDS), SECRET_FIELD)  # all a write may carry
SSO_BODY_REQUIRED: tuple[str, ...] = (*(f.name for f in SSO_FIELDS if f.required), SECRET_FIELD)


def sso_body_problems(payload: Mapping[str, Any]) -> list[str]:
    """What is wrong with a write's body as to its fields (for the emulator); never a value (it holds the secret).

    The server's own rules (an https provider URL, a GUID, a role of the community) are the server's."""
    problems = [f"{name} is required" for name in SSO_BODY_REQUIRED if name not in payload]
    for sso in SSO_FIELDS:
        if sso.flag and sso.name in payload and not isinstance(payload[sso.name], bool):
            problems.append(f"{sso.name} must be true or false")
    secret = payload.get(SECRET_FIELD)
    if SECRET_FIELD in payload and not (isinstance(secret, str) and secret.strip()):
        problems.append(f"{SECRET_FIELD} must be a non-empty string")
    return problems


# --------------------------------------------------------------------------------------------
# The diff


@dataclass(frozen=True)
class FieldChange:
    name: str
    current: Any
    wanted: Any

    def to_dict(self) -> dict[str, Any]:
        return {"field": self.name, "current": self.current, "wanted": self.wanted}


def show_value(value: Any) -> str:
    """A field's value in a plan's text."""
    if value is None:
        return "(none)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def sso_changes(current: SsoSettings | None, wanted: SsoSettings, roles: dict[str, str]) -> tuple[FieldChange, ...]:
    """Each field whose held value is not the wanted one (all of them when SSO is not configured, `current` None).

    The default role is shown by name and uuid, from `roles` (name -> uuid)."""
    names = {uuid: name for name, uuid in roles.items()}

    def shown(sso: SsoField, value: Any) -> Any:
        if sso.name == "default_role_uuid":
            return None if value is None else f"{names.get(value, 'unknown role')} ({value})"
        return value

    changes = []
    for sso in SSO_FIELDS:
        new = getattr(wanted, sso.name)
        old = sso.unset if current is None else getattr(current, sso.name)
        if current is not None and sso.same(old, new):
            continue
        held = old if sso.flag else old or None
        changes.append(FieldChange(sso.label, shown(sso, held), shown(sso, new)))
    return tuple(changes)


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

    def wanted_settings(self, default_role_uuid: str | None) -> SsoSettings:
        """The OIDC settings this target asks for; the default role's uuid is read from the community."""
        return SsoSettings(enabled=self.enabled, provider_url=self.provider_url, client_id=self.client_id,
                           jit_provisioning=self.jit_provisioning, default_role_uuid=default_role_uuid)

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
