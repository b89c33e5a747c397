"""Reading `envs/<env>.yaml`: a strict YAML loader, the schema applied, every error reported at once.

Each error names the file, the field path and what is allowed; secret-looking values are refused
with a pointer to the environment variable that should hold them, and never echoed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from orchestrator.config.envfile import ENV_NAME_RE, read_environment_file
from orchestrator.config.schema import Environment, EnvironmentConfig, LocalBackend
from orchestrator.config.values import (
    ALLOWED_SECRETISH_KEYS,
    MAX_YAML_DEPTH,
    SECRET_KEY_RE,
    bad_characters,
    looks_like_secret,
)
from orchestrator.errors import ConfigError, shorten


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


def _describe(error: ErrorDetails) -> str:
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
                    key_shown = f"{shown}.{shorten(key_text)}" if shown else shorten(key_text)
                    found.character_paths.append((child_path, key_shown, f"(a key) {problem}"))
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
    return any(error_path == path or path.startswith(error_path + "[")
               or error_path.startswith((path + ".", path + "[")) for path in flagged)


def _scrubbed(message: str, secrets: set[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 8:
            message = message.replace(secret, "<secret>").replace(secret[:60], "<secret>")
    return message


class _NotAccepted(yaml.MarkedYAMLError):
    """Valid YAML that an environment file must not use."""


class _NoDuplicateKeys:
    """Duplicate keys are refused: PyYAML keeps the last one silently, so a reviewer could read one
    tenant_id and the tool use another."""

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
        return super().construct_mapping(node, deep=deep)  # type: ignore[misc]


class _EnvironmentLoader(_NoDuplicateKeys, yaml.SafeLoader):
    """safe_load, minus what makes a config ambiguous or dangerous to read.

    Aliases (`*name`) are refused: nested ones expand exponentially (the "billion laughs"), and an
    environment file is short enough to write each value out. Duplicate keys are refused
    (_NoDuplicateKeys). Nesting is bounded, so a pathological file fails with a message instead of a RecursionError.
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


# libyaml's parser (C), when PyYAML has it: `render --all` of 200 files spends most of its time in the
# pure-Python one. The C composer cannot refuse aliases or bound nesting itself, so its events are checked
# first (an iterative parser: no recursion on deep nesting), and any refusal or error is read again by
# _EnvironmentLoader, whose messages (and their line and column) are the ones users see.
_CSafeLoader = getattr(yaml, "CSafeLoader", None)
if _CSafeLoader is not None:
    class _FastEnvironmentLoader(_NoDuplicateKeys, _CSafeLoader):  # type: ignore[misc, valid-type]
        pass


def _refuse_aliases_and_depth(text: str) -> None:
    """What _EnvironmentLoader.compose_node refuses, from the C parser's events: a YAMLError when it refuses."""
    open_collections = 0
    for event in yaml.parse(text, Loader=yaml.CSafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.YAMLError("an alias")
        if isinstance(event, yaml.CollectionStartEvent):
            open_collections += 1
            if open_collections > MAX_YAML_DEPTH:
                raise yaml.YAMLError("nested too deep")
        elif isinstance(event, yaml.CollectionEndEvent):
            open_collections -= 1
        elif isinstance(event, yaml.ScalarEvent) and open_collections + 1 > MAX_YAML_DEPTH:
            raise yaml.YAMLError("nested too deep")


def _parse_yaml(text: str) -> Any:
    if _CSafeLoader is None:
        return yaml.load(text, Loader=_EnvironmentLoader)  # noqa: S506 - a SafeLoader subclass
    try:
        _refuse_aliases_and_depth(text)
        return yaml.load(text, Loader=_FastEnvironmentLoader)  # noqa: S506 - a CSafeLoader subclass
    except yaml.YAMLError:
        return yaml.load(text, Loader=_EnvironmentLoader)  # noqa: S506 - the words (and marks) users see


def _load_yaml(path: Path, text: str) -> Any:
    try:
        return _parse_yaml(text)
    except _NotAccepted as exc:
        mark = exc.problem_mark
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        raise ConfigError(f"{path}:{where} {exc.problem}") from None
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
        raise ConfigError(f"{path}: must be a YAML mapping of settings (tenant_id, application, ...), "
                          f"got {type(data).__name__}")

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
    if problems or config is None:
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
    """envs/<name>.yaml read (a regular file, at most 1 MB: envfile.py), parsed and validated."""
    shown, raw = read_environment_file(project_dir, name)
    return parse_environment(name, shown, _decode(raw, shown))
