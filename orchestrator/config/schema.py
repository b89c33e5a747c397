"""One environment's settings as a strict schema: every key, its type and what is allowed.

Unknown keys are refused (typos are the commonest config bug). The rules on single values (secret
shapes, characters, URLs) are in values.py; reading the file and reporting every error at once is
loading.py.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from orchestrator.config.regions import CLOUDS, SEKOIA_REGIONS, Cloud, SekoiaRegion
from orchestrator.config.values import (
    CREDENTIAL_VARIABLE_PREFIXES,
    CREDENTIAL_VARIABLES,
    DOMAIN_RE,
    ENV_VAR_RE,
    GUID_PATTERN,
    GUID_RE,
    UPN_RE,
    _https_url,
    bad_characters,
    redirect_uri_problem,
)
from orchestrator.errors import ConfigError, shorten

Guid = Annotated[str, Field(pattern=GUID_PATTERN, description="a GUID like 00000000-0000-0000-0000-000000000000")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=False)


class Application(Strict):
    display_name: str = Field(min_length=1, max_length=120)
    sign_in_audience: Literal["AzureADMyOrg", "AzureADMultipleOrgs"] = "AzureADMyOrg"
    owners: tuple[Guid, ...] = ()
    notes: str | None = Field(default=None, max_length=1024)
    admin_consent: bool = False

    @field_validator("display_name")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        problem = bad_characters(value)
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("notes")
    @classmethod
    def _notes_text(cls, value: str | None) -> str | None:
        problem = None if value is None else bad_characters(value, multiline=True)
        if problem:
            raise ValueError(problem)
        return value


class Secret(Strict):
    validity_days: int = Field(default=180, ge=1, le=730)
    rotate_before_days: int = Field(default=30, ge=1, le=365)

    @field_validator("validity_days", "rotate_before_days", mode="before")
    @classmethod
    def _days_not_bool(cls, value: Any) -> Any:
        # Lax validation reads `true` as 1: `validity_days: yes` would make a secret that expires tomorrow.
        if isinstance(value, bool):
            raise ValueError(f"must be a number of days, not {str(value).lower()}")
        return value

    @model_validator(mode="before")
    @classmethod
    def _no_slot_keys(cls, data: Any) -> Any:
        # Up to version 0.1 `rotate` edited these; the slots now live in the module and the state.
        legacy = [key for key in ("slots", "active_slot") if isinstance(data, dict) and key in data]
        if legacy:
            raise ValueError(
                f"{' and '.join(f'secret.{key}' for key in legacy)}: no longer used. Both secret slots are always "
                "declared, and which one Sekoia.io holds is recorded in the Terraform state, so a rotation changes "
                "no file. Delete the key, run `sekoia-sso render`, commit, then `sekoia-sso apply`: the secret "
                "Sekoia.io holds is kept")
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Secret:
        if self.rotate_before_days >= self.validity_days:
            raise ValueError(
                f"rotate_before_days ({self.rotate_before_days}) must be less than validity_days ({self.validity_days})"
            )
        return self


class References(NamedTuple):
    """The entries of a list of `access`: names as written (group display names, user principal names),
    and object IDs (GUIDs) in lower case, as Graph writes them."""

    names: tuple[str, ...]
    ids: tuple[str, ...]

    @classmethod
    def of(cls, entries: tuple[str, ...]) -> References:
        return cls(tuple(e for e in entries if not GUID_RE.fullmatch(e)),
                   tuple(e.lower() for e in entries if GUID_RE.fullmatch(e)))


class Access(Strict):
    assignment_required: bool = True
    groups: tuple[str, ...] = ()
    users: tuple[str, ...] = ()

    @field_validator("groups", "users")
    @classmethod
    def _no_blank_or_duplicate(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for item in value:
            if not item.strip():
                raise ValueError("entries must not be blank")
            problem = bad_characters(item)
            if problem:
                raise ValueError(f"{shorten(item)} {problem}")
            if item.lower() in seen:
                raise ValueError(f"{shorten(item)} is listed twice")
            seen.add(item.lower())
        return value

    @field_validator("groups")
    @classmethod
    def _group_names_quotable(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        # The azuread provider looks a group up with `displayName eq '<name>'` and does not escape quotes
        # (group_data_source.go, 3.7.0-3.9.0): Graph refuses the filter, so the plan would fail.
        for item in value:
            if "'" in item and not GUID_RE.fullmatch(item):
                raise ValueError(f"{shorten(item)} contains an apostrophe ('): the azuread provider looks groups up "
                                 "by name with a filter it does not escape, which Microsoft Graph refuses. List the "
                                 "group by its object ID (a GUID: Entra admin center > Groups > the group > Object "
                                 "ID) instead")
        return value

    @field_validator("users")
    @classmethod
    def _user_refs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not (GUID_RE.fullmatch(item) or UPN_RE.fullmatch(item)):
                raise ValueError(f"{shorten(item)} is neither a user principal name (name@domain) "
                                 "nor an object ID (GUID)")
        return value

    @model_validator(mode="after")
    def _someone(self) -> Access:
        if self.assignment_required and not (self.groups or self.users):
            raise ValueError("assignment_required is true but no groups or users are listed: nobody could log in")
        return self

    @property
    def group_references(self) -> References:
        """The groups: display names, and object IDs."""
        return References.of(self.groups)

    @property
    def user_references(self) -> References:
        """The users: user principal names, and object IDs."""
        return References.of(self.users)


class Sekoia(Strict):
    region: str = "FRA1"
    community_uuid: Guid
    domains: tuple[str, ...] = Field(min_length=1)
    jit_provisioning: bool = False
    default_role: str | None = None
    api_key_env: str = "SEKOIA_API_KEY"
    api_base: str | None = None
    callback_url: str | None = None
    app_url: str | None = None
    legacy_callback: bool = False

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in SEKOIA_REGIONS:
            raise ValueError(f"unknown region {shorten(value)}; allowed: {', '.join(SEKOIA_REGIONS)}")
        return value

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for domain in value:
            if not DOMAIN_RE.fullmatch(domain):
                raise ValueError(f"{shorten(domain)} is not a lowercase DNS domain like example.com or "
                                 "example.xn--p1ai")
        if len(set(value)) != len(value):
            raise ValueError("a domain is listed twice")
        return value

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not ENV_VAR_RE.fullmatch(value):
            raise ValueError(
                "must be the NAME of an environment variable (UPPER_CASE), not the key itself"
            )
        if value.startswith(CREDENTIAL_VARIABLE_PREFIXES) or value in CREDENTIAL_VARIABLES:
            raise ValueError(
                f"{value} holds a credential of Terraform or the azuread provider: the tool would send it to "
                "Sekoia.io as the API key. Name a variable of your own (e.g. SEKOIA_API_KEY)"
            )
        return value

    @field_validator("api_base", "callback_url", "app_url")
    @classmethod
    def _urls(cls, value: str | None, info: Any) -> str | None:
        sandbox = (info.context or {}).get("sandbox", True)
        if value is None:
            return None
        url = _https_url(value, field=info.field_name, sandbox=sandbox)
        # The redirect URI registered in Entra ID: callback_url itself, or app_url + /user/callback
        redirect = {"callback_url": url, "app_url": f"{url}/user/callback"}.get(info.field_name)
        problem = None if redirect is None else redirect_uri_problem(redirect)
        if problem:
            what = "" if info.field_name == "callback_url" else f" (the redirect URI {shorten(redirect)})"
            raise ValueError(f"{info.field_name}{what} {problem}")
        return url

    @model_validator(mode="after")
    def _jit_needs_role(self) -> Sekoia:
        if self.jit_provisioning and not (self.default_role or "").strip():
            raise ValueError("default_role is required when jit_provisioning is true "
                             "(Sekoia.io needs a role by default); a blank one does not count")
        if self.legacy_callback and SEKOIA_REGIONS[self.region].legacy_callback_url is None:
            raise ValueError(f"legacy_callback: region {self.region} never had a legacy app host (only FRA2 and MCO1)")
        return self

    @property
    def region_info(self) -> SekoiaRegion:
        base = SEKOIA_REGIONS[self.region]
        return SekoiaRegion(
            base.name,
            self.app_url or base.app_url,
            self.api_base or base.api_base,
            base.legacy_app_url,
        )

    @property
    def redirect_uris(self) -> tuple[str, ...]:
        region = self.region_info
        uris = [self.callback_url or region.callback_url]
        if self.legacy_callback and region.legacy_callback_url:
            uris.append(region.legacy_callback_url)
        return tuple(uris)


class LocalBackend(Strict):
    type: Literal["local"]
    path: str | None = None


class AzurermBackend(Strict):
    type: Literal["azurerm"]
    resource_group_name: str = Field(min_length=1)
    storage_account_name: str = Field(pattern=r"^[a-z0-9]{3,24}$")
    container_name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")
    key: str = Field(min_length=1)
    subscription_id: Guid | None = None
    tenant_id: Guid | None = None
    use_azuread_auth: bool = True


class TerraformSettings(Strict):
    backend: Annotated[LocalBackend | AzurermBackend, Field(discriminator="type")] = LocalBackend(type="local")
    # Where rendered roots take the module from (config/module_source.py): omitted, the vendored copy.
    module_source: str | None = None
    module_version: str | None = Field(default=None, validate_default=True)

    @field_validator("module_source")
    @classmethod
    def _module_source(cls, value: str | None) -> str | None:
        from orchestrator.config.module_source import check_module_source

        return None if value is None else check_module_source(value)

    @field_validator("module_version")
    @classmethod
    def _module_version(cls, value: str | None, info: Any) -> str | None:
        from orchestrator.config.module_source import check_module_version

        if "module_source" not in info.data:
            return value  # module_source itself was refused: that error says enough
        return check_module_version(value, info.data["module_source"])


class EnvironmentConfig(Strict):
    tenant_id: Guid
    cloud: Literal["public", "usgovernment", "china"] = "public"
    sandbox: bool = False
    application: Application
    secret: Secret = Secret()
    access: Access
    sekoia: Sekoia
    terraform: TerraformSettings = TerraformSettings()


@dataclass(frozen=True)
class Environment:
    """A loaded, validated environment: its name, where it came from and what it says."""

    name: str
    path: Path
    config: EnvironmentConfig
    warnings: tuple[str, ...] = ()

    @property
    def cloud(self) -> Cloud:
        return CLOUDS[self.config.cloud]

    @property
    def tenant_endpoint(self) -> str:
        """What Sekoia.io calls "URL of your authentication provider"."""
        return f"{self.cloud.login_url}/{self.config.tenant_id}/"

    def api_key(self, environ: Mapping[str, str] | None = None) -> str:
        name = self.config.sekoia.api_key_env
        value = (os.environ if environ is None else environ).get(name, "")
        if not value.strip():
            raise ConfigError(
                f"{self.path}: sekoia.api_key_env names {name}, but {name} is not set. "
                f"Export the Sekoia.io API key (with COMMUNITY_WRITE_ROLE) in {name}."
            )
        return value
