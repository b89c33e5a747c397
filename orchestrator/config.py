"""One environment's input, `envs/<env>.yaml`: strict schema, every error reported at once.

Unknown keys are refused (typos are the commonest config bug), each error names the file,
the field path and what is allowed, and secret-looking values are refused with a pointer to
the environment variable that should hold them instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from orchestrator.errors import ConfigError
from orchestrator.regions import CLOUDS, SEKOIA_REGIONS, SekoiaRegion

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
GUID_RE = re.compile(GUID_PATTERN)
ENV_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
ENV_VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+[a-z]{2,63}$")
UPN_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# An environment file is a few kB; the bound keeps a wrong file (a log, a dump) from being parsed for minutes.
MAX_ENVIRONMENT_BYTES = 1024 * 1024
MAX_YAML_DEPTH = 32

# Keys whose value must never sit in YAML: the tool reads them from the environment.
SECRET_KEY_RE = re.compile(r"(secret|password|api_?key|token|access_key|sas)", re.IGNORECASE)
# Values that look like an Entra client secret (e.g. "abc8Q~...") or a long opaque credential.
SECRET_VALUE_RE = re.compile(r"^[A-Za-z0-9_\-]{3}\dQ~[A-Za-z0-9_.~\-]{30,}$|^[A-Za-z0-9+/_=.~\-]{40,}$")
ALLOWED_SECRETISH_KEYS = {"api_key_env", "secret", "use_azuread_auth"}

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
            if any(ord(char) < 32 or ord(char) == 127 for char in item):
                raise ValueError(f"{item!r} contains a control character (a newline or a tab?)")
            if item.lower() in seen:
                raise ValueError(f"{item!r} is listed twice")
            seen.add(item.lower())
        return value

    @field_validator("users")
    @classmethod
    def _user_refs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not (GUID_RE.fullmatch(item) or UPN_RE.fullmatch(item)):
                raise ValueError(f"{item!r} is neither a user principal name (name@domain) nor an object ID (GUID)")
        return value

    @model_validator(mode="after")
    def _someone(self) -> Access:
        if self.assignment_required and not (self.groups or self.users):
            raise ValueError("assignment_required is true but no groups or users are listed: nobody could log in")
        return self

    @property
    def group_names(self) -> tuple[str, ...]:
        return tuple(g for g in self.groups if not GUID_RE.fullmatch(g))

    @property
    def group_ids(self) -> tuple[str, ...]:
        return tuple(g.lower() for g in self.groups if GUID_RE.fullmatch(g))

    @property
    def user_principal_names(self) -> tuple[str, ...]:
        return tuple(u for u in self.users if not GUID_RE.fullmatch(u))

    @property
    def user_ids(self) -> tuple[str, ...]:
        return tuple(u.lower() for u in self.users if GUID_RE.fullmatch(u))


def _https_url(value: str, *, field: str) -> str:
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{field} must be an https:// URL, got {value!r}")
    return value.rstrip("/")


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
            raise ValueError(f"unknown region {value!r}; allowed: {', '.join(SEKOIA_REGIONS)}")
        return value

    @field_validator("domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for domain in value:
            if not DOMAIN_RE.fullmatch(domain):
                raise ValueError(f"{domain!r} is not a lowercase DNS domain like example.com")
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
        return value

    @field_validator("api_base", "callback_url", "app_url")
    @classmethod
    def _urls(cls, value: str | None, info: Any) -> str | None:
        return None if value is None else _https_url(value, field=info.field_name)

    @model_validator(mode="after")
    def _jit_needs_role(self) -> Sekoia:
        if self.jit_provisioning and not self.default_role:
            raise ValueError("default_role is required when jit_provisioning is true (Sekoia.io needs a role by default)")
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
    def cloud(self):
        return CLOUDS[self.config.cloud]

    @property
    def tenant_endpoint(self) -> str:
        """What Sekoia.io calls "URL of your authentication provider"."""
        return f"{self.cloud.login_url}/{self.config.tenant_id}/"

    def api_key(self, environ: dict[str, str] | None = None) -> str:
        environ = os.environ if environ is None else environ
        name = self.config.sekoia.api_key_env
        value = environ.get(name, "")
        if not value.strip():
            raise ConfigError(
                f"{self.path}: sekoia.api_key_env names {name}, but {name} is not set. "
                f"Export the Sekoia.io API key (with COMMUNITY_WRITE_ROLE) in {name}."
            )
        return value


def _field_path(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in ("local", "azurerm") and out.endswith("backend"):
            continue  # the discriminator's branch name is noise to the user
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the config reference in README.md)"
    if kind == "missing":
        return "required, missing"
    if kind == "literal_error":
        return f"got {error.get('input')!r}; allowed: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"got {error.get('input')!r}; must match {ctx.get('pattern')}"
    if kind == "union_tag_invalid":
        return f"got {ctx.get('tag')!r}; allowed: {ctx.get('expected_tags')}"
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    if kind in {"int_parsing", "bool_parsing", "string_type", "int_type", "bool_type", "tuple_type", "model_type",
                "dict_type", "int_from_float"}:
        message += f" (got {error.get('input')!r})"
    return message


def _find_secret_values(node: Any, path: str = "") -> list[str]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            child = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and str(key) not in ALLOWED_SECRETISH_KEYS and (
                SECRET_KEY_RE.search(str(key)) or SECRET_VALUE_RE.match(value)
            ):
                found.append(child)
            else:
                found.extend(_find_secret_values(value, child))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_find_secret_values(value, f"{path}[{index}]"))
    return found


class _NotAccepted(yaml.MarkedYAMLError):
    """Valid YAML that an environment file must not use."""


class _EnvironmentLoader(yaml.SafeLoader):
    """safe_load, minus what makes a config ambiguous or dangerous to read.

    Aliases (`*name`) are refused: nested ones expand exponentially (the "billion laughs"), and an
    environment file is short enough to write each value out. Duplicate keys are refused: PyYAML
    keeps the last one silently, so a reviewer could read one tenant_id and the tool use another.
    Nesting is bounded, so a pathological file fails with a message instead of a RecursionError.
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _NotAccepted(None, None, f"YAML aliases (*{event.anchor}) are not accepted in an environment "
                               "file: write the value out", event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise _NotAccepted(None, None, f"nested more than {MAX_YAML_DEPTH} levels deep",
                                   self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[tuple[str, str], int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = (key_node.tag, key_node.value)
                if key in first_line:
                    raise _NotAccepted(None, None, f"duplicate key {key_node.value!r} (first at line "
                                       f"{first_line[key]}): YAML keeps only the last one; remove one of them",
                                       key_node.start_mark)
                first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def _load_yaml(path: Path, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_EnvironmentLoader)  # noqa: S506 - a SafeLoader subclass
    except _NotAccepted as exc:
        mark = exc.problem_mark
        raise ConfigError(f"{path}: line {mark.line + 1}, column {mark.column + 1}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context = getattr(exc, "context", None)  # e.g. "expected a single document in the stream"
        raise ConfigError(f"{path}:{where}: not valid YAML: {f'{context}, ' if context else ''}{problem}") from None


def parse_environment(name: str, path: Path, text: str) -> Environment:
    if not ENV_NAME_RE.fullmatch(name):
        raise ConfigError(f"{path}: environment name {name!r} must be lowercase letters, digits, '-' or '_'")
    data = _load_yaml(path, text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a YAML mapping of settings (tenant_id, application, ...), got {type(data).__name__}")

    problems: list[str] = []
    for field in _find_secret_values(data):
        problems.append(
            f"  {field}: looks like a secret; secrets never go in YAML. Put the Sekoia.io API key in an "
            f"environment variable and name it in sekoia.api_key_env; the client secret is created by Terraform"
        )
    try:
        config = EnvironmentConfig.model_validate(data)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append(f"  {_field_path(error['loc'])}: {_describe(error)}")
        config = None
    if problems:
        count = len(problems)
        raise ConfigError(f"{path}: {count} problem{'s' if count > 1 else ''}:\n" + "\n".join(problems))

    warnings = []
    if not config.sandbox and isinstance(config.terraform.backend, LocalBackend):
        warnings.append(
            f"WARNING {path}: terraform.backend.type is 'local': the client secret will sit in a plain "
            "terraform.tfstate file on this machine. Use the azurerm backend for a real tenant."
        )
    return Environment(name=name, path=path, config=config, warnings=tuple(warnings))


def environment_names(project_dir: Path) -> list[str]:
    return sorted(p.stem for p in (project_dir / "envs").glob("*.yaml"))


def _read_text(path: Path, shown: Path) -> str:
    """The file as UTF-8 text; ConfigError for a file too big, binary or in another encoding."""
    with path.open("rb") as handle:
        raw = handle.read(MAX_ENVIRONMENT_BYTES + 1)
    if len(raw) > MAX_ENVIRONMENT_BYTES:
        raise ConfigError(f"{shown}: larger than {MAX_ENVIRONMENT_BYTES // 1024} kB; an environment file is a few "
                          "kB of settings: is it the right file?")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{shown}: is UTF-16 text; save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}): "
                          "is it a binary file? Save it as UTF-8") from None


def load_environment(project_dir: Path, name: str) -> Environment:
    if not ENV_NAME_RE.fullmatch(name):
        # Checked before the name becomes a path: "../x" or "/etc/x" must not reach the filesystem.
        raise ConfigError(f"environment name {name!r} must be lowercase letters, digits, '-' or '_' (it names "
                          "envs/<name>.yaml)")
    path = project_dir / "envs" / f"{name}.yaml"
    if not path.is_file():
        known = environment_names(project_dir)
        import difflib

        close = difflib.get_close_matches(name, known, n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise ConfigError(
            f"no environment {name!r}: {path.relative_to(project_dir)} does not exist. "
            f"Known environments: {', '.join(known) or '(none)'}.{hint}"
        )
    shown = path.relative_to(project_dir)
    return parse_environment(name, shown, _read_text(path, shown))
