"""The plan's JSON document as Markdown, for a CI job summary or a pull-request comment.

`plan_markdown(document)` is a pure function of the document `sekoia-sso plan ENV --json` prints
(Terraform's summary from planview.py plus `client_secret`, and a `sekoia` plan or `warnings` when
the document carries them), so it is unit-tested on recorded plans without running Terraform.

Secrets: the document holds none (planview drops sensitive values while parsing); a change marked
`sensitive` is shown as "(sensitive)" all the same. Values come from config files a pull request
may edit, so every one is escaped: `|` cannot break a table, HTML cannot reach the page, Markdown
cannot turn a value into a link or an image.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

_VALUE_WIDTH = 60
_COUNTED = ("create", "update", "replace", "delete", "read", "forget")
_SYMBOLS = {"create": "➕", "update": "✏️", "replace": "♻️", "delete": "❌", "read": "📖", "forget": "🫥"}
# Characters Markdown gives a meaning to inside a line (emphasis, code, strike-through, links and images,
# table cells; `>` and `<` go as HTML entities): each value from the config is shown as the text it is. A
# value never starts a line (it sits in a table cell or after "- "), so `#`, `-`, `+` and `1.` stay as they are.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]|~])")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def escape(value: Any, *, width: int | None = None) -> str:
    """A value as inert Markdown text on one line: escaped, newlines and tabs as spaces, cut at `width`."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = " ".join(text.split())
    if width is not None and len(text) > width:
        text = text[: width - 1] + "…"
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return "".join(_HTML.get(char, char) for char in text)


def _value(value: Any) -> str:
    """An attribute's or output's value: JSON for anything but a string, shortened as the text summary does."""
    return escape(value, width=_VALUE_WIDTH)


def plan_markdown(document: Mapping[str, Any], *, environment: str | None = None) -> str:
    """The whole plan: a summary table, then each part's changes, the secret plan and warnings."""
    title = f"sekoia-sso plan: {escape(environment)}" if environment else "sekoia-sso plan"
    lines = [f"### {title}", ""]
    lines += _summary_table(document)
    lines += _section("Entra ID changes (Terraform)", _resource_table(document.get("resource_changes") or ()))
    lines += _section("Terraform outputs", _output_table(document.get("output_changes") or ()))
    lines += _section("Changed outside Terraform since the last run", _resource_table(document.get("drift") or ()))
    if isinstance(document.get("sekoia"), Mapping):
        lines += _section("Sekoia.io changes", _sekoia_lines(document["sekoia"]))
    lines += _section("Client secret", [f"- {escape(line)}" for line in _secret_lines(document)])
    lines += _section("Warnings", [f"- ⚠️ {escape(warning)}" for warning in warnings_of(document)])
    return "\n".join(lines).rstrip("\n") + "\n"


def warnings_of(document: Mapping[str, Any]) -> list[str]:
    """What a reviewer must not miss, in words: an errored plan, drift, a secret or application replaced."""
    warnings = [str(warning) for warning in document.get("warnings") or ()]
    if document.get("errored"):
        warnings.append("Terraform reported errors: this plan is incomplete and cannot be applied.")
    if document.get("drift"):
        warnings.append(f"{len(document['drift'])} resource(s) changed outside Terraform (in the portal?): "
                        "apply sets them back to the configuration.")
    secret = document.get("client_secret") or {}
    if secret.get("application_replaced"):
        warnings.append("The Entra application is replaced: its client ID changes, and Sekoia.io is moved to the "
                        "new one by apply.")
    elif secret.get("replaces_held_secret"):
        warnings.append("The plan replaces the client secret Sekoia.io holds: apply moves Sekoia.io to a fresh "
                        "secret first, so logins keep working.")
    counts = document.get("counts") or {}
    if counts.get("delete") or counts.get("replace"):
        warnings.append(f"{counts.get('delete', 0)} to delete, {counts.get('replace', 0)} to replace: "
                        "check them before merging.")
    return warnings


def _summary_table(document: Mapping[str, Any]) -> list[str]:
    counts = document.get("counts") or {}
    terraform = ", ".join(f"{counts[action]} to {action}" for action in _COUNTED if counts.get(action)) \
        or "no changes"
    outputs = len(document.get("output_changes") or ())
    if outputs:
        terraform += f"; {outputs} output(s) change"
    rows = [("Entra ID (Terraform)", terraform)]
    sekoia = document.get("sekoia")
    if isinstance(sekoia, Mapping):
        rows.append(("Sekoia.io", _sekoia_summary(sekoia)))
    else:
        rows.append(("Sekoia.io", "not read by `plan` (no API key needed); `apply` shows its plan first"))
    rows.append(("Client secret", "; ".join(_secret_lines(document)) or "nothing to do"))
    table = ["| Part | Changes |", "| --- | --- |"]
    table += [f"| {part} | {escape(text) if part == 'Client secret' else _cell(text)} |" for part, text in rows]
    return [*table, ""]


def _cell(text: str) -> str:
    """Our own words in a table cell: only `|` needs escaping (they hold no HTML and no config value)."""
    return text.replace("|", "\\|")


def _section(title: str, body: list[str]) -> list[str]:
    return [f"#### {title}", "", *body, ""] if body else []


def _resource_table(changes: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = []
    for change in changes:
        action = str(change.get("action", "?"))
        notes = [str(note) for note in (change.get("reason"), change.get("previous_address") and
                                        f"moved from {change['previous_address']}") if note]
        if change.get("importing"):
            notes.append("imported")
        attributes = ", ".join(_attribute(attribute) for attribute in change.get("attributes") or ())
        rows.append(f"| {_SYMBOLS.get(action, '')} {escape(action)} | {escape(change.get('address', ''))} | "
                    f"{attributes or '—'} | {escape('; '.join(notes)) if notes else '—'} |")
    if not rows:
        return []
    return ["| Action | Resource | Attributes | Why |", "| --- | --- | --- | --- |", *rows]


def _attribute(attribute: Mapping[str, Any]) -> str:
    path = escape(attribute.get("path", ""))
    text = f"{path}: {_before_after(attribute)}"
    return text + (" (forces replacement)" if attribute.get("forces_replacement") else "")


def _before_after(change: Mapping[str, Any]) -> str:
    if change.get("sensitive"):
        return "(sensitive)"
    after = "(known after apply)" if change.get("after_unknown") else _value(change.get("after"))
    before = change.get("before")
    return after if before is None else f"{_value(before)} → {after}"


def _output_table(changes: Iterable[Mapping[str, Any]]) -> list[str]:
    rows = [f"| {_SYMBOLS.get(str(change.get('action')), '')} {escape(change.get('action', '?'))} | "
            f"{escape(change.get('name', ''))} | {_before_after(change)} |" for change in changes]
    return ["| Action | Output | Value |", "| --- | --- | --- |", *rows] if rows else []


def _secret_lines(document: Mapping[str, Any]) -> list[str]:
    return [str(line) for line in (document.get("client_secret") or {}).get("apply_will") or ()]


def _sekoia_summary(sekoia: Mapping[str, Any]) -> str:
    """One cell for the combined plan's Sekoia.io half (the shape of sekoia/plan.py's `to_dict`)."""
    parts = []
    if sekoia.get("domains_to_add"):
        parts.append(f"{len(sekoia['domains_to_add'])} domain(s) to add")
    sso = sekoia.get("sso") or {}
    if sso.get("write"):
        parts.append(f"OIDC settings written ({len(sso.get('changes') or ())} field(s) differ)")
    if (sekoia.get("secret") or {}).get("push"):
        parts.append("the client secret pushed")
    if sso.get("take_over"):
        parts.append("SSO taken over from another application")
    return ", ".join(parts) or "no changes"


def _sekoia_lines(sekoia: Mapping[str, Any]) -> list[str]:
    rows = [f"| domain {escape(domain.get('name', ''))} | {escape(domain.get('status', ''))}"
            f"{' → add' if domain.get('action') == 'add' else ''} |" for domain in sekoia.get("domains") or ()]
    sso = sekoia.get("sso") or {}
    rows += [f"| OIDC {escape(change.get('field', ''))} | {_value(change.get('current'))} → "
             f"{_value(change.get('wanted'))} |" for change in sso.get("changes") or ()]
    if sso.get("foreign_client_id"):
        rows.append(f"| OIDC client ID | held by another application: {escape(sso['foreign_client_id'])} |")
    secret = sekoia.get("secret") or {}
    if secret.get("reason"):
        rows.append(f"| client secret | {escape(secret['reason'])} |")
    return ["| What | Change |", "| --- | --- |", *rows] if rows else []
