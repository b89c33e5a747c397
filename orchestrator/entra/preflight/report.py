"""The preflight's report: what it found, its exit code, and its three forms (table, JSON, CSV).

The JSON form is stable (README.md, "preflight --format json"): `version` changes with any change
to its shape. The labels of the problem codes are rules.py's.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from orchestrator.entra.preflight.rules import PROBLEMS, describe
from orchestrator.errors import ProblemUsersError

if TYPE_CHECKING:
    from orchestrator.entra.licences import GroupAssignmentLicence

REPORT_VERSION = 1
REFUSED = "nested_group_only"


class _Row(msgspec.Struct, frozen=True, gc=False, rename="camel"):
    """A row of the report. A struct, not a dataclass: a report of 5,000 findings is built in 4 ms instead
    of 8. Its machine form is its fields, named in camelCase (user_principal_name: userPrincipalName)."""

    def to_dict(self) -> dict[str, Any]:
        return msgspec.to_builtins(self)


class UserFinding(_Row, frozen=True):
    """A user who may sign in but whose profile or account will make the login fail (see rules.py)."""

    id: str
    user_principal_name: str
    display_name: str | None
    mail: str | None
    problems: tuple[str, ...]
    via: tuple[str, ...]            # group names, or "access.users"


class RefusedUser(_Row, frozen=True):
    """A user reachable only through nested groups: Entra ID will refuse them."""

    id: str
    user_principal_name: str
    display_name: str | None
    via: tuple[str, ...]            # "<configured group> > <nested group>"


class GroupSummary(_Row, frozen=True):
    id: str
    name: str
    direct_users: int
    nested_groups: tuple[str, ...]  # display names of member groups (their users get no access)


@dataclass(frozen=True)
class PreflightReport:
    """What a preflight found: for people (format_table), for machines (to_dict) and for the exit code."""

    environment: str
    tenant_id: str
    domains: tuple[str, ...]        # Sekoia.io's, lower case: a user's mail must be at one of them
    # Who may sign in: with assignment required, the groups' direct members and the users; else everyone
    assignment_required: bool
    groups: tuple[GroupSummary, ...]
    users: tuple[str, ...]          # the UPNs of the users listed one by one
    # What the check found
    users_checked: int
    problems: tuple[UserFinding, ...]
    refused: tuple[RefusedUser, ...]
    elapsed_seconds: float = 0.0
    graph_requests: int = 0
    # What the page checker process used (see pagecheck.py; 0 when pages were checked here), for
    # benchmarks: its peak of traced memory when the caller traces memory (tracemalloc), and its CPU time.
    checker_peak_bytes: int = 0
    checker_cpu_seconds: float = 0.0
    # Whether the tenant may assign the groups at all (Entra ID P1/P2; licences.py); None: no groups listed
    group_assignment: GroupAssignmentLicence | None = None

    @property
    def groups_unlicensed(self) -> bool:
        return self.group_assignment is not None and self.group_assignment.licensed is False

    @property
    def users_ready(self) -> int:
        return self.users_checked - len(self.problems)

    @property
    def problem_users(self) -> int:
        """Users who will not get in: incomplete or disabled, wrong domain, or only in nested groups."""
        return len(self.problems) + len(self.refused)

    @property
    def ok(self) -> bool:
        return self.problem_users == 0 and not self.groups_unlicensed

    @property
    def counts(self) -> dict[str, int]:
        by_problem = Counter(code for finding in self.problems for code in finding.problems)
        counts = {
            "usersChecked": self.users_checked,
            "usersReady": self.users_ready,
            "usersWithProblems": len(self.problems),
            "willBeRefused": len(self.refused),
        }
        counts.update({code: by_problem.get(code, 0) for code in PROBLEMS})
        return counts

    def raise_for_problems(self, max_problems: int = 0) -> None:
        """ProblemUsersError (exit 1) when more than `max_problems` users will not get in."""
        if self.problem_users > max_problems:
            raise ProblemUsersError(self, max_problems)

    def to_dict(self) -> dict[str, Any]:
        """The stable machine form (documented in README.md, "preflight --format json")."""
        return {
            "version": REPORT_VERSION,
            "environment": self.environment,
            "tenantId": self.tenant_id,
            "assignmentRequired": self.assignment_required,
            "domains": list(self.domains),
            "groups": [g.to_dict() for g in self.groups],
            "users": list(self.users),
            "counts": self.counts,
            "problems": [f.to_dict() for f in self.problems],
            "refused": [r.to_dict() for r in self.refused],
            "groupAssignment": None if self.group_assignment is None else self.group_assignment.to_dict(),
            "ok": self.ok,
        }


# ------------------------------------------------------------------------------------------------
# Output


def format_json(report: PreflightReport) -> str:
    return json.dumps(report.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


CSV_COLUMNS = ("kind", "userPrincipalName", "id", "displayName", "mail", "problems", "via")


def format_csv(report: PreflightReport) -> str:
    """One row per user who will not get in: kind `problem` or `refused`; lists joined with ';'."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for f in report.problems:
        writer.writerow(["problem", f.user_principal_name, f.id, f.display_name or "", f.mail or "",
                         ";".join(f.problems), ";".join(f.via)])
    for r in report.refused:
        writer.writerow(["refused", r.user_principal_name, r.id, r.display_name or "", "", REFUSED, ";".join(r.via)])
    return out.getvalue()


def _table(rows: Sequence[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return [indent + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
            for row in rows]


def format_table(report: PreflightReport) -> str:
    """For people: who may sign in, the counts, then each user who will not get in and why."""
    lines = [f"Preflight of {report.environment} (tenant {report.tenant_id}); Sekoia.io domains: "
             f"{', '.join(report.domains)}"]
    if report.assignment_required:
        lines.append("Who may sign in: the direct members of the groups and the users below "
                     "(assignment is required).")
    else:
        lines.append("Assignment is NOT required: every user of the tenant may sign in; "
                     "only the groups and users below were checked.")
    for group in report.groups:
        nested = f", nested groups (no access): {', '.join(group.nested_groups)}" if group.nested_groups else ""
        lines.append(f"  group {group.name}: {group.direct_users} direct user(s){nested}")
    for upn in report.users:
        lines.append(f"  user  {upn}")
    if report.group_assignment is not None:
        lines.append(f"Group assignment: {report.group_assignment.describe()}.")
        if report.groups_unlicensed:
            lines.append("  Entra ID will refuse to assign the groups above: assign their users under access.users "
                         "instead, or get Entra ID P1 or P2.")
    counts = report.counts
    lines.append("")
    summary = [("users checked", counts["usersChecked"]), ("ready", counts["usersReady"]),
               ("with problems", counts["usersWithProblems"])]
    summary += [(f"  {PROBLEMS[code]}", counts[code]) for code in PROBLEMS if counts[code]]
    if report.assignment_required:
        summary.append(("will be refused (only in nested groups)", counts["willBeRefused"]))
    width = max(len(label) for label, _ in summary)
    lines += [f"  {label.ljust(width)}  {value:>7,}" for label, value in summary]
    if report.problems:
        lines += ["", "Users who will not get in:"]
        rows: list[tuple[str, ...]] = [("USER", "VIA", "WHAT IS WRONG")]
        rows += [(f.user_principal_name, ", ".join(f.via), describe(f.problems, f.mail)) for f in report.problems]
        lines += _table(rows)
    if report.refused:
        lines += ["", "Will be refused (only members of nested groups; nested groups get no access):"]
        lines += _table([("USER", "VIA")] + [(r.user_principal_name, ", ".join(r.via)) for r in report.refused])
    lines.append("")
    if report.groups_unlicensed:
        lines.append("The groups cannot be assigned in this tenant (no Entra ID P1 or P2).")
    lines.append("All users can sign in." if report.problem_users == 0
                 else f"{report.problem_users:,} user(s) will not get in.")
    return "\n".join(lines) + "\n"


FORMATTERS: dict[str, Callable[[PreflightReport], str]] = {
    "table": format_table, "json": format_json, "csv": format_csv,
}
