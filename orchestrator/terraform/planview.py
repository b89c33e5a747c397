"""What a saved Terraform plan will do, read from `terraform show -json`, safe to print.

`PlanSummary.from_plan_json(data)` is a pure function of the JSON: unit-tested on recorded
plans in tests/data/ without running Terraform.

Secrets: the JSON of a plan holds sensitive values in clear (variables, prior state, the
`after` of a sensitive attribute). A summary never keeps them: an attribute or output that
Terraform marks sensitive (`before_sensitive`/`after_sensitive`), or whose name says it is a
credential, is listed by name only, and its values are dropped while parsing, so neither
`to_json()` nor `render_text()` can print them.

Drift: `resource_drift` lists every attribute a refresh found changed, computed ones included
(a service principal's `redirect_uris` follow its application's, so a portal edit of the
application "drifts" the service principal too, and still does after apply repaired the
application). `drift` keeps what matters, as Terraform's own plan does: an attribute Terraform
lists in `relevant_attributes` (it feeds a planned change), an attribute the plan changes back
(apply repairs it), an object deleted or about to be rebuilt. The rest, `ignored_drift`, no
configuration sets or reads: it is never shown as drift.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from orchestrator.secret import strings_in

# The actions a summary speaks of, in the order `render_text` counts them.
ACTIONS = ("create", "update", "replace", "delete", "read", "forget", "no-op")

_SYMBOLS = {
    "create": "+",
    "update": "~",
    "replace": "-/+",
    "delete": "-",
    "read": "<=",
    "forget": ".",
    "no-op": " ",
}

_REASONS = {
    "replace_because_tainted": "tainted by a failed or interrupted run",
    "replace_because_cannot_update": "a changed attribute forces replacement",
    "replace_by_request": "replacement requested",
    "replace_by_triggers": "replace_triggered_by changed",
    "delete_because_no_resource_config": "no longer in the configuration",
    "delete_because_no_module": "its module is no longer in the configuration",
    "delete_because_wrong_repetition": "count/for_each changed",
    "delete_because_count_index": "count index no longer exists",
    "delete_because_each_key": "for_each key no longer exists",
    "delete_because_no_move_target": "moved to an address that does not exist",
    "read_because_config_unknown": "its configuration is known only after apply",
    "read_because_dependency_pending": "a dependency has pending changes",
}

# Defence in depth: a provider that forgets to mark a credential sensitive still does not get
# it printed. Only values are hidden; the attribute name is still listed.
_CREDENTIAL_NAME = re.compile(r"password|secret|token|private_key|api_key|access_key|credential", re.I)

_VALUE_WIDTH = 70
_SHORTEST_SECRET = 4


def _change_values(change: Any) -> dict[str, Any]:
    """before/after of a change for JSON; a sensitive one says so and carries no value at all."""
    if change.sensitive:
        return {"sensitive": True}
    values: dict[str, Any] = {"before": change.before}
    if change.after_unknown:
        values["after_unknown"] = True
    else:
        values["after"] = change.after
    return values


@dataclass(frozen=True)
class AttributeChange:
    """One attribute (dotted path, list indices as numbers) whose value changes.

    `before`/`after` are the JSON values, or None when `sensitive` (then never kept) or
    `after_unknown` (the value is known only after apply).
    """

    path: str
    before: Any = None
    after: Any = None
    sensitive: bool = False
    after_unknown: bool = False
    forces_replacement: bool = False

    @property
    def name(self) -> str:
        """The top-level attribute this path belongs to."""
        return self.path.split(".", 1)[0]

    def to_dict(self) -> dict[str, Any]:
        item: dict[str, Any] = {"path": self.path, **_change_values(self)}
        if self.forces_replacement:
            item["forces_replacement"] = True
        return item

    def render(self) -> str:
        if self.sensitive:
            text = f"{self.path}: (sensitive)"
        else:
            after = "(known after apply)" if self.after_unknown else _short(self.after)
            text = (
                f"{self.path}: {after}"
                if self.before is None
                else (f"{self.path}: {_short(self.before)} -> {after}")
            )
        return text + ("  # forces replacement" if self.forces_replacement else "")


@dataclass(frozen=True)
class ResourceChange:
    address: str
    action: str
    attributes: tuple[AttributeChange, ...] = ()
    reason: str | None = None
    previous_address: str | None = None
    importing: bool = False

    @property
    def attribute_names(self) -> list[str]:
        """The top-level attributes that change, sorted, each once."""
        return sorted({attribute.name for attribute in self.attributes})

    def to_dict(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "action": self.action,
            "reason": self.reason,
            "previous_address": self.previous_address,
            "importing": self.importing,
            "attribute_names": self.attribute_names,
            "attributes": [attribute.to_dict() for attribute in self.attributes],
        }

    def render(self) -> list[str]:
        notes = [self.action if self.action != "no-op" else "no change"]
        if self.reason:
            notes[0] += f": {self.reason}"
        if self.previous_address:
            notes.append(f"moved from {self.previous_address}")
        if self.importing:
            notes.append("imported")
        lines = [f"  {_SYMBOLS.get(self.action, '?')} {self.address} ({'; '.join(notes)})"]
        lines += [f"      {attribute.render()}" for attribute in self.attributes]
        return lines


@dataclass(frozen=True)
class OutputChange:
    name: str
    action: str
    sensitive: bool = False
    before: Any = None
    after: Any = None
    after_unknown: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "action": self.action, **_change_values(self)}

    def render(self) -> str:
        symbol = _SYMBOLS.get(self.action, "?")
        if self.sensitive:
            return f"  {symbol} {self.name}: (sensitive)"
        after = "(known after apply)" if self.after_unknown else _short(self.after)
        if self.action == "delete":
            return f"  {symbol} {self.name}: {_short(self.before)}"
        if self.before is None:
            return f"  {symbol} {self.name}: {after}"
        return f"  {symbol} {self.name}: {_short(self.before)} -> {after}"


@dataclass(frozen=True)
class PlanSummary:
    resource_changes: tuple[ResourceChange, ...] = ()
    output_changes: tuple[OutputChange, ...] = ()
    drift: tuple[ResourceChange, ...] = field(default=())
    errored: bool = False
    ignored_drift: tuple[ResourceChange, ...] = field(default=(), repr=False)
    terraform_version: str = ""

    @classmethod
    def from_plan_json(cls, data: Mapping[str, Any]) -> PlanSummary:
        """Build the summary from the parsed output of `terraform show -json <planfile>`."""
        if not isinstance(data, Mapping) or "format_version" not in data:
            raise ValueError("not the JSON of a Terraform plan (no format_version)")
        secrets = sensitive_strings(data)
        changes = tuple(_resource_changes(data.get("resource_changes") or (), secrets))
        drift, ignored = split_drift(_resource_changes(data.get("resource_drift") or (), secrets, drift=True),
                                     changes, data.get("relevant_attributes") or ())
        return cls(
            resource_changes=changes,
            output_changes=tuple(_output_changes(data.get("output_changes") or {}, secrets)),
            drift=drift,
            ignored_drift=ignored,
            errored=bool(data.get("errored", False)),
            terraform_version=str(data.get("terraform_version", "")),
        )

    @classmethod
    def from_json_text(cls, text: str) -> PlanSummary:
        return cls.from_plan_json(json.loads(text))

    @property
    def has_changes(self) -> bool:
        return bool(self.resource_changes or self.output_changes)

    def counts(self) -> dict[str, int]:
        """How many resources each action touches (every action listed, zeros included)."""
        counts = dict.fromkeys(ACTIONS, 0)
        for change in self.resource_changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "terraform_version": self.terraform_version,
            "has_changes": self.has_changes,
            "errored": self.errored,
            "counts": self.counts(),
            "resource_changes": [change.to_dict() for change in self.resource_changes],
            "output_changes": [change.to_dict() for change in self.output_changes],
            "drift": [change.to_dict() for change in self.drift],
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The summary for CI: stable keys, no sensitive value anywhere."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)

    def render_text(self) -> str:
        """The summary for a human at a terminal."""
        lines: list[str] = []
        if self.drift:
            lines.append("Changed outside Terraform since the last run:")
            for change in self.drift:
                lines += change.render()
            lines.append("")
        if not self.has_changes:
            lines.append("No changes: the infrastructure matches the configuration.")
            return "\n".join(lines) + "\n"
        counts = self.counts()
        shown = [f"{counts[a]} to {a}" for a in ("create", "update", "replace", "delete")]
        shown += [f"{counts[a]} to {a}" for a in ("read", "forget") if counts[a]]
        lines.append("Plan: " + ", ".join(shown) + ".")
        if self.resource_changes:
            lines.append("")
            for change in self.resource_changes:
                lines += change.render()
        if self.output_changes:
            lines.append("")
            lines.append("Output changes:")
            lines += [change.render() for change in self.output_changes]
        return "\n".join(lines) + "\n"


def action_of(actions: Iterable[str]) -> str:
    """Terraform's action list (`["delete", "create"]`, …) as one word."""
    actions = list(actions)
    if sorted(actions) == ["create", "delete"]:
        return "replace"
    if len(actions) == 1 and actions[0] in ACTIONS:
        return actions[0]
    return "+".join(actions) or "no-op"


def split_drift(
    drift: Iterable[ResourceChange],
    changes: Iterable[ResourceChange],
    relevant_attributes: Iterable[Mapping[str, Any]],
) -> tuple[tuple[ResourceChange, ...], tuple[ResourceChange, ...]]:
    """(the drift that matters, the drift no configuration sets or reads): see the module docstring.

    `relevant_attributes` is the plan JSON's list of {"resource": address, "attribute": path}; a
    resource of count/for_each is named without its key, and an empty path means all of it."""
    relevant: dict[str, list[str]] = {}
    for item in relevant_attributes:
        path = ".".join(str(part) for part in item.get("attribute") or ())
        relevant.setdefault(str(item.get("resource", "")), []).append(path)
    pending = {change.address: change for change in changes}
    kept: list[ResourceChange] = []
    ignored: list[ResourceChange] = []
    for change in drift:
        repair = pending.get(change.address)
        if change.action in ("delete", "forget") or (repair and repair.action in ("create", "replace", "delete")):
            kept.append(change)
            continue
        paths = [path for resource, found in relevant.items() if _same_resource(resource, change.address)
                 for path in found]
        paths += [attribute.path for attribute in (repair.attributes if repair else ())]
        matters = tuple(a for a in change.attributes if any(_overlaps(a.path, path) for path in paths))
        rest = tuple(a for a in change.attributes if a not in matters)
        if matters or (repair and not change.attributes):
            kept.append(ResourceChange(change.address, change.action, matters or change.attributes,
                                       change.reason, change.previous_address, change.importing))
        if rest or not (matters or repair):
            ignored.append(ResourceChange(change.address, change.action, rest, change.reason,
                                          change.previous_address, change.importing))
    return tuple(kept), tuple(ignored)


def _same_resource(resource: str, address: str) -> bool:
    return address == resource or address.startswith(resource + "[")


def _overlaps(path: str, other: str) -> bool:
    """One dotted attribute path is the other, or inside it (the empty path: the whole object)."""
    return not other or path == other or path.startswith(other + ".") or other.startswith(path + ".")


def _resource_changes(
    items: Iterable[Mapping[str, Any]],
    secrets: frozenset[str],
    *,
    drift: bool = False,
) -> Iterator[ResourceChange]:
    for item in items:
        change = item.get("change") or {}
        action = action_of(change.get("actions") or ["no-op"])
        previous = item.get("previous_address")
        importing = bool(change.get("importing"))
        if action == "no-op" and not (previous or importing or drift):
            continue
        attributes: tuple[AttributeChange, ...] = ()
        if action not in ("delete", "forget"):
            attributes = tuple(_attribute_changes(change, secrets))
        reason = item.get("action_reason")
        yield ResourceChange(
            address=item["address"],
            action="update" if drift and action == "no-op" else action,
            attributes=attributes,
            reason=_REASONS.get(reason, reason.replace("_", " ")) if reason else None,
            previous_address=previous,
            importing=importing,
        )


def _output_changes(
    items: Mapping[str, Mapping[str, Any]], secrets: frozenset[str]
) -> Iterator[OutputChange]:
    for name in sorted(items):
        change = items[name]
        action = action_of(change.get("actions") or ["no-op"])
        if action == "no-op":
            continue
        unknown = change.get("after_unknown") is True
        sensitive = (
            bool(change.get("before_sensitive") or change.get("after_sensitive"))
            or bool(_CREDENTIAL_NAME.search(name))
            or _reveals(change.get("before"), secrets)
            or (not unknown and _reveals(change.get("after"), secrets))
        )
        yield OutputChange(
            name=name,
            action=action,
            sensitive=sensitive,
            before=None if sensitive else change.get("before"),
            after=None if sensitive or unknown else change.get("after"),
            after_unknown=unknown and not sensitive,
        )


def _attribute_changes(change: Mapping[str, Any], secrets: frozenset[str]) -> Iterator[AttributeChange]:
    before = change.get("before") or {}
    after = change.get("after") or {}
    masks = _Masks(
        unknown=change.get("after_unknown") or {},
        before_sensitive=change.get("before_sensitive") or {},
        after_sensitive=change.get("after_sensitive") or {},
        replace_paths=[tuple(path) for path in change.get("replace_paths") or ()],
        secrets=secrets,
    )
    if not isinstance(before, dict) or not isinstance(after, dict):
        # A whole-object value (possible for a sensitive data source): nothing to itemise safely.
        return
    keys = sorted(set(before) | set(after) | set(_keys(masks.unknown)))
    for key in keys:
        yield from _diff(before.get(key), after.get(key), (key,), masks)


@dataclass(frozen=True)
class _Masks:
    unknown: Any
    before_sensitive: Any
    after_sensitive: Any
    replace_paths: list[tuple[Any, ...]]
    secrets: frozenset[str]

    def is_unknown(self, path: tuple[Any, ...]) -> bool:
        return _mask_at(self.unknown, path) is True

    def has_unknown_below(self, path: tuple[Any, ...]) -> bool:
        return _any_true(_mask_at(self.unknown, path))

    def is_sensitive(self, path: tuple[Any, ...]) -> bool:
        if any(isinstance(part, str) and _CREDENTIAL_NAME.search(part) for part in path):
            return True
        return any(_covered(mask, path) for mask in (self.before_sensitive, self.after_sensitive))

    def wholly_sensitive(self, path: tuple[Any, ...]) -> bool:
        return any(_mask_at(mask, path) is True for mask in (self.before_sensitive, self.after_sensitive))

    def forces_replacement(self, path: tuple[Any, ...]) -> bool:
        return any(
            path[: len(replace)] == replace or replace[: len(path)] == path for replace in self.replace_paths
        )


def _diff(before: Any, after: Any, path: tuple[Any, ...], masks: _Masks) -> Iterator[AttributeChange]:
    if masks.is_unknown(path):
        yield _change(path, before, None, masks, unknown=True)
        return
    if masks.wholly_sensitive(path):
        # Not even the keys of a sensitive object are itemised, as Terraform's own plan does.
        if before != after:
            yield _change(path, None, None, masks, unknown=False)
        return
    if _object_or_null(before) and _object_or_null(after) and (before or after):
        unknown = _mask_at(masks.unknown, path)
        old, new = before or {}, after or {}
        for key in sorted(set(old) | set(new) | set(_keys(unknown))):
            yield from _diff(old.get(key), new.get(key), (*path, key), masks)
        return
    if (
        isinstance(before, list)
        and isinstance(after, list)
        and len(before) == len(after)
        and any(isinstance(item, dict | list) for item in before + after)
    ):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from _diff(old, new, (*path, index), masks)
        return
    if before != after or masks.has_unknown_below(path):
        yield _change(path, before, after, masks, unknown=masks.has_unknown_below(path))


def _change(
    path: tuple[Any, ...], before: Any, after: Any, masks: _Masks, *, unknown: bool
) -> AttributeChange:
    sensitive = (
        masks.is_sensitive(path)
        or _reveals(before, masks.secrets)
        or (not unknown and _reveals(after, masks.secrets))
    )
    return AttributeChange(
        path=".".join(str(part) for part in path),
        before=None if sensitive else before,
        after=None if sensitive or unknown else after,
        sensitive=sensitive,
        after_unknown=unknown and not sensitive,
        forces_replacement=masks.forces_replacement(path),
    )


def sensitive_strings(data: Mapping[str, Any]) -> frozenset[str]:
    """Every string the plan holds under a sensitive mark, wherever it is.

    Terraform drops marks when a value is copied where it cannot track them (the `output` of a
    `terraform_data` whose `input` is sensitive is shown in clear by Terraform's own plan), so
    a value is also hidden when it contains one of these strings.
    """
    found: set[str] = set()
    for key in ("resource_changes", "resource_drift"):
        for item in data.get(key) or ():
            change = item.get("change") or {}
            _collect(change.get("before"), change.get("before_sensitive"), found)
            _collect(change.get("after"), change.get("after_sensitive"), found)
    for change in (data.get("output_changes") or {}).values():
        _collect(change.get("before"), bool(change.get("before_sensitive")), found)
        _collect(change.get("after"), bool(change.get("after_sensitive")), found)
    for values in ((data.get("planned_values") or {}), ((data.get("prior_state") or {}).get("values") or {})):
        for output in (values.get("outputs") or {}).values():
            _collect(output.get("value"), bool(output.get("sensitive")), found)
        _collect_module(values.get("root_module") or {}, found)
    declared = ((data.get("configuration") or {}).get("root_module") or {}).get("variables") or {}
    for name, variable in (data.get("variables") or {}).items():
        _collect(variable.get("value"), bool((declared.get(name) or {}).get("sensitive")), found)
    # Short strings ("", "1", "true") would hide ordinary values by coincidence.
    return frozenset(value for value in found if len(value) >= _SHORTEST_SECRET)


def _collect_module(module: Mapping[str, Any], found: set[str]) -> None:
    for resource in module.get("resources") or ():
        _collect(resource.get("values"), resource.get("sensitive_values"), found)
    for child in module.get("child_modules") or ():
        _collect_module(child, found)


def _collect(value: Any, mask: Any, found: set[str]) -> None:
    if mask is True:
        found.update(strings_in(value))
    elif isinstance(mask, dict) and isinstance(value, dict):
        for key, sub_mask in mask.items():
            _collect(value.get(key), sub_mask, found)
    elif isinstance(mask, list) and isinstance(value, list):
        for sub_value, sub_mask in zip(value, mask, strict=False):
            _collect(sub_value, sub_mask, found)


def _reveals(value: Any, secrets: frozenset[str]) -> bool:
    """Whether showing `value` would show a secret or a credential-named field."""
    if value is None:
        return False
    if isinstance(value, dict) and any(
        isinstance(key, str) and _CREDENTIAL_NAME.search(key) for key in value
    ):
        return True
    if isinstance(value, dict | list):
        items = value.values() if isinstance(value, dict) else value
        return any(_reveals(item, secrets) for item in items)
    return isinstance(value, str) and any(secret in value for secret in secrets)


def _object_or_null(value: Any) -> bool:
    return value is None or isinstance(value, dict)


def _keys(mask: Any) -> list[str]:
    return list(mask) if isinstance(mask, dict) else []


def _mask_at(mask: Any, path: tuple[Any, ...]) -> Any:
    """The part of a Terraform value mask at `path`; True as soon as a prefix is True."""
    for part in path:
        if mask is True:
            return True
        if isinstance(mask, dict) and isinstance(part, str):
            mask = mask.get(part)
        elif isinstance(mask, list) and isinstance(part, int) and part < len(mask):
            mask = mask[part]
        else:
            return None
    return mask


def _any_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_any_true(value) for value in mask.values())
    if isinstance(mask, list):
        return any(_any_true(value) for value in mask)
    return False


def _covered(mask: Any, path: tuple[Any, ...]) -> bool:
    """True when the value at `path`, or anything inside it, is marked."""
    return _any_true(_mask_at(mask, path))


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= _VALUE_WIDTH else text[: _VALUE_WIDTH - 1] + "…"
