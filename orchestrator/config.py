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

from orchestrator.envfile import (  # noqa: F401 - environment_names is this module's API too
    ENV_NAME_RE,
    MAX_ENVIRONMENT_BYTES,
    environment_names,
    read_environment_file,
)
from orchestrator.errors import ConfigError, shorten
from orchestrator.regions import CLOUDS, SEKOIA_REGIONS, SekoiaRegion

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
GUID_RE = re.compile(GUID_PATTERN)
ENV_VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# The top-level domain is letters, or an internationalised one in punycode (`contoso.xn--p1ai`).
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59}(?<!-))$")
UPN_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_YAML_DEPTH = 32

# Keys whose value must never sit in YAML: the tool reads them from the environment.
SECRET_KEY_RE = re.compile(r"(secret|password|api_?key|token|access_key|sas)", re.IGNORECASE)
# An Entra client secret: 3 characters, a digit, "Q~", then 34 more (40 in all; older ones vary a little).
ENTRA_SECRET_RE = re.compile(r"[A-Za-z0-9_.~-]{3}\dQ~[A-Za-z0-9_.~-]{30,40}")
# Credentials with a known prefix or shape: JWTs, provider tokens, SAS signatures, connection strings, PEM keys.
KNOWN_SECRET_RE = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{8,}|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b|[?&]sig=[A-Za-z0-9%+/=]{16,}"
    r"|AccountKey=|SharedAccessKey=|SharedAccessSignature|-----BEGIN [A-Z ]*PRIVATE KEY"
)
# A long opaque token (an API key, a storage key): base64/base64url/hex characters only, no spaces.
OPAQUE_TOKEN_RE = re.compile(r"[A-Za-z0-9+/=_.~:-]{20,}")
# Names are words between separators (`rg-security-operations-sso-prod-westeurope`, `resourceGroups`,
# `SOCAnalysts2024`): read as words, a run of a name gives words of 4 or more characters on average,
# a random token (base64, base62) words of about 2.
NAME_SEPARATORS_RE = re.compile(r"[-_./:@+=~]+")
WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
HEX_RE = re.compile(r"[0-9a-fA-F]+")
ALLOWED_SECRETISH_KEYS = {"api_key_env", "secret", "use_azuread_auth"}
# Variables that hold the credentials of Terraform, the azuread provider or this tool: naming one in
# sekoia.api_key_env would send that credential to Sekoia.io as the API key.
CREDENTIAL_VARIABLE_PREFIXES = ("ARM_", "AZURE_", "TF_", "MSI_", "IDENTITY_", "ACTIONS_ID_TOKEN_")
CREDENTIAL_VARIABLES = {"SYSTEM_ACCESSTOKEN", "GITHUB_TOKEN", "TERRAFORM_BIN"}
# Bidirectional overrides and isolates: they make a name read differently from what it is (CVE-2021-42574).
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def bad_characters(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be written as it is (a NUL byte, a control character, ...); None when it can."""
    import unicodedata

    for char in value:
        if char == "\0":
            return "contains a NUL byte; allowed: printable text"
        if multiline and char in "\n\t":
            continue
        if char in BIDI_CONTROLS:
            return f"contains the bidirectional control U+{ord(char):04X}: it would display differently from what it is"
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Cs"):
            name = {"\n": "a newline", "\t": "a tab", "\r": "a carriage return"}.get(char, f"U+{ord(char):04X}")
            return f"contains a control character ({name}); write it on one line, in printable characters"
    return None


def looks_like_secret(value: str) -> bool:
    """True for a value shaped like a credential (Entra client secret, API key, token), not like a name.

    Azure names, state keys, paths and URLs are runs of words between '-', '_', '.', '/' or ':'
    (`rg-security-operations-sekoia-sso-prod-westeurope`, `platform/security/sso/prod.tfstate`);
    a secret is a long run of mixed case and digits (`Abc8Q~…`, base64 API keys) or a known shape.
    """
    if ENTRA_SECRET_RE.search(value) or KNOWN_SECRET_RE.search(value):
        return True
    for token in OPAQUE_TOKEN_RE.findall(value):
        letters = words = 0
        for run in NAME_SEPARATORS_RE.split(token):
            if HEX_RE.fullmatch(run) and len(run) <= 12:
                continue  # a part of a GUID, a short number
            if HEX_RE.fullmatch(run) and len(run) >= 32 and not run.isdigit() and not run.isalpha():
                return True  # a hex key (a GUID is written with dashes)
            count = len(WORD_RE.findall(run))
            if run.lower() == run and len(run) < 32:
                continue  # `m5xqkc3xnqgz4`, Azure's uniqueString(): a name's random part, not a key
            if len(run) >= 16 and count and len(run) / count < 3.2:
                return True
            letters, words = letters + len(run), words + count
        if letters >= 24 and words and letters / words < 2.6:
            return True
    return False


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

    @field_validator("users")
    @classmethod
    def _user_refs(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            if not (GUID_RE.fullmatch(item) or UPN_RE.fullmatch(item)):
                raise ValueError(f"{shorten(item)} is neither a user principal name (name@domain) nor an object ID (GUID)")
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


def _redacted(value: str) -> str:
    """The URL for a message: user info (a password?) replaced, shortened."""
    scheme, sep, rest = value.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return shorten(scheme + sep + rest)


def _private_host(host: str) -> str | None:
    """What a host is when it is not a public address: loopback, private, link-local, ..."""
    import ipaddress

    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "a local host name"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    for kind in ("loopback", "link_local", "private", "unspecified", "reserved", "multicast"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    return None


def _https_url(value: str, *, field: str, sandbox: bool = True) -> str:
    problem = bad_characters(value) or (" " in value and "contains a space")
    if problem:
        raise ValueError(f"{field} {problem}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"{field} is not a valid URL ({exc}), got {_redacted(value)}") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{field} must be an https:// URL, got {_redacted(value)}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(f"{field} must not hold a user name or password (user info before '@'), got "
                         f"{_redacted(value)}; the API key comes from sekoia.api_key_env")
    if parts.fragment or value.endswith("#"):
        raise ValueError(f"{field} must not have a #fragment (Entra ID refuses it in a redirect URI), got "
                         f"{_redacted(value)}")
    private = _private_host(parts.hostname)
    if private and not sandbox:
        raise ValueError(f"{field} points at {parts.hostname}, {private}: only a sandbox environment "
                         "(sandbox: true) may use one; allowed: a public https:// host")
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
        return None if value is None else _https_url(value, field=info.field_name, sandbox=sandbox)

    @model_validator(mode="after")
    def _jit_needs_role(self) -> Sekoia:
        if self.jit_provisioning and not (self.default_role or "").strip():
            raise ValueError("default_role is required when jit_provisioning is true (Sekoia.io needs a role by default); "
                             "a blank one does not count")
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
            part = str(part) if len(str(part)) <= 60 else shorten(str(part))
            out += f".{part}" if out else part
    return out or "(top level)"


def _describe(error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        return "unknown key (check the spelling; see the config reference in README.md)"
    if kind == "missing":
        return "required, missing"
    if kind == "literal_error":
        return f"got {shorten(error.get('input'))}; allowed: {ctx.get('expected')}"
    if kind == "string_pattern_mismatch":
        return f"got {shorten(error.get('input'))}; must match {ctx.get('pattern')}"
    if kind == "union_tag_invalid":
        return f"got {shorten(ctx.get('tag'))}; allowed: {ctx.get('expected_tags')}"
    message = error["msg"]
    message = message.removeprefix("Value error, ")
    if kind in {"int_parsing", "bool_parsing", "string_type", "int_type", "bool_type", "tuple_type", "model_type",
                "dict_type", "int_from_float"}:
        message += f" (got {shorten(error.get('input'))})"
    return message


SECRET_KEY_SHOWN = "<a key shaped like a secret>"


@dataclass
class _TextProblems:
    """What the walk over the raw YAML found in its strings, before the schema sees them."""

    secret_paths: list[tuple[str, str]]  # (path to match the schema's errors against, path to show)
    character_paths: list[tuple[str, str, str]]  # (path, path to show, problem)
    secrets: set[str]


def _scan_text(node: Any) -> _TextProblems:
    """Every string of the document, keys and list items included: secret-shaped, or with bad characters."""
    found = _TextProblems([], [], set())

    def visit(value: Any, path: str, shown: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                key_text = str(key)
                child_path = f"{path}.{key_text}" if path else key_text
                if looks_like_secret(key_text):
                    found.secrets.add(key_text)
                    child_shown = f"{shown}.{SECRET_KEY_SHOWN}" if shown else SECRET_KEY_SHOWN
                    found.secret_paths.append((child_path, child_shown))
                    if isinstance(child, str):
                        found.secrets.add(child)
                    continue
                child_shown = f"{shown}.{key_text}" if shown else key_text
                problem = bad_characters(key_text)
                if problem:
                    found.character_paths.append((child_path, f"{shown}.{shorten(key_text)}" if shown else shorten(key_text),
                                                  f"(a key) {problem}"))
                    continue
                if isinstance(child, str) and key_text not in ALLOWED_SECRETISH_KEYS and SECRET_KEY_RE.search(key_text):
                    found.secrets.add(child)
                    found.secret_paths.append((child_path, child_shown))
                    continue
                visit(child, child_path, child_shown)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                visit(child, f"{path}[{index}]", f"{shown}[{index}]")
        elif isinstance(value, str):
            if looks_like_secret(value):
                found.secrets.add(value)
                found.secret_paths.append((path, shown))
            else:
                problem = bad_characters(value, multiline=path == "application.notes")
                if problem:
                    found.character_paths.append((path, shown, problem))

    visit(node, "", "")
    return found


def _reported_already(error_path: str, flagged: set[str]) -> bool:
    """An error about a value the walk refused (or about the list holding it) would only repeat, or echo, it."""
    return any(error_path == path or path.startswith(error_path + "[") or error_path.startswith((path + ".", path + "["))
               for path in flagged)


def _scrubbed(message: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 8:
            message = message.replace(secret, "<secret>").replace(secret[:60], "<secret>")
    return message


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
                    raise _NotAccepted(None, None, f"duplicate key {shorten(key_node.value)} (first at line "
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
        raise ConfigError(f"{path}: environment name {shorten(name)} must be lowercase letters, digits, '-' or '_'")
    data = _load_yaml(path, text)
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a YAML mapping of settings (tenant_id, application, ...), got {type(data).__name__}")

    problems: list[str] = []
    scan = _scan_text(data)
    for _, shown in scan.secret_paths:
        problems.append(
            f"  {shown}: looks like a secret; secrets never go in YAML. Put the Sekoia.io API key in an "
            f"environment variable and name it in sekoia.api_key_env; the client secret is created by Terraform"
        )
    for _, shown, problem in scan.character_paths:
        problems.append(f"  {shown}: {problem}")
    try:
        # Outside the sandbox, no URL may point at a loopback or private address (the sandbox's emulators).
        config = EnvironmentConfig.model_validate(data, context={"sandbox": data.get("sandbox") is True})
    except ValidationError as exc:
        secret_paths = {path for path, _ in scan.secret_paths}
        character_paths = {path for path, _, _ in scan.character_paths}
        said = {problem for _, _, problem in scan.character_paths}
        for error in exc.errors():
            where, described = _field_path(error["loc"]), _describe(error)
            if _reported_already(where, secret_paths):
                continue  # it would only echo the secret
            if _reported_already(where, character_paths) and any(problem in described for problem in said):
                continue  # the same words twice
            problems.append(f"  {where}: {described}")
        config = None
    if problems:
        count = len(problems)
        raise ConfigError(_scrubbed(f"{path}: {count} problem{'s' if count > 1 else ''}:\n" + "\n".join(problems),
                                    scan.secrets))

    warnings = []
    if not config.sandbox and isinstance(config.terraform.backend, LocalBackend):
        warnings.append(
            f"WARNING {path}: terraform.backend.type is 'local': the client secret will sit in a plain "
            "terraform.tfstate file on this machine. Use the azurerm backend for a real tenant."
        )
    return Environment(name=name, path=path, config=config, warnings=tuple(warnings))


def _decode(raw: bytes, shown: Path) -> str:
    """The file as UTF-8 text; ConfigError for a file binary or in another encoding."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ConfigError(f"{shown}: is UTF-16 text; save it as UTF-8")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{shown}: is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}): "
                          "is it a binary file? Save it as UTF-8") from None


def load_environment(project_dir: Path, name: str) -> Environment:
    """envs/<name>.yaml read (a regular file, at most 1 MB: orchestrator/envfile.py), parsed and validated."""
    shown, raw = read_environment_file(project_dir, name)
    return parse_environment(name, shown, _decode(raw, shown))
