"""Preflight: will every user who may sign in to Sekoia.io through SSO actually get in?

Who may sign in (`access` of the environment): the users listed, and the DIRECT members of the
groups listed. Entra ID gives nothing to members of nested groups, so users reachable only
through a nested group are reported apart, as "will be refused". When assignment is not
required anyone in the tenant may sign in: the report says so and checks the listed groups
and users anyway (nesting then refuses nobody).

Each user must have `mail`, `givenName`, `surname` and `displayName` (null, empty and
whitespace-only count as missing: Sekoia.io needs an email, first, last and full name), an
enabled account, and a mail in one of the environment's Sekoia.io domains.

How it talks to Graph (see orchestrator/entra/graph.py for retries and throttling):
- One $batch resolves every group name (`$filter=displayName eq '...'`), group ID and user
  (by UPN or ID) at once; the users' own answers are checked as they are.
- Each group's direct user members are read with `$select` and `$top=999`, page after page,
  the groups concurrently (at most `concurrency` requests in flight). No request per user.
- Nested groups: one $batch lists each group's member groups; the users of each nested group
  (`transitiveMembers/microsoft.graph.user`, with the `ConsistencyLevel: eventual` Graph
  needs for that cast) minus everyone with direct access are the refused ones.
- The pages are decoded and checked in a child process on another core while this one fetches
  the next (orchestrator/entra/preflight/pagecheck.py), or here when there are no groups or no child can start.
- Memory stays bounded: pages are checked as they arrive and dropped; what is kept is the set
  of user IDs already seen (users in two groups count once), the findings and the counts.
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import gc
import io
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from orchestrator.config import GUID_RE
from orchestrator.entra.graph import BatchRequest, GraphClient, encode_query, odata_string, path_segment
from orchestrator.entra.preflight.pagecheck import GraphUser, LocalChecker, Outcome, PageChecker, Progress
from orchestrator.errors import ConfigError, GraphError, SekoiaSSOError

REPORT_VERSION = 1
USER_FIELDS = ("id", "userPrincipalName", "mail", "givenName", "surname", "displayName", "accountEnabled")
REFUSED_FIELDS = ("id", "userPrincipalName", "displayName")
PAGE_SIZE = 999
DEFAULT_CONCURRENCY = 16
CONFIGURED_USERS = "access.users"  # the `via` of users listed one by one

# Problem codes, in the order a person reads them, and what they mean.
PROBLEMS: dict[str, str] = {
    "missing_mail": "no email (mail)",
    "mail_domain_not_allowed": "mail domain not in sekoia.domains",
    "missing_given_name": "no first name (givenName)",
    "missing_surname": "no last name (surname)",
    "missing_display_name": "no full name (displayName)",
    "account_disabled": "account disabled",
}
REFUSED = "nested_group_only"


# ------------------------------------------------------------------------------------------------
# The report


class UserFinding(msgspec.Struct, frozen=True, gc=False):
    """A user who may sign in but whose profile or account will make the login fail.

    A struct, not a dataclass: a report of 5,000 of them is built in 4 ms instead of 8."""

    id: str
    user_principal_name: str
    display_name: str | None
    mail: str | None
    problems: tuple[str, ...]
    via: tuple[str, ...]            # group names, or "access.users"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "userPrincipalName": self.user_principal_name, "displayName": self.display_name,
                "mail": self.mail, "problems": list(self.problems), "via": list(self.via)}


class RefusedUser(msgspec.Struct, frozen=True, gc=False):
    """A user reachable only through nested groups: Entra ID will refuse them."""

    id: str
    user_principal_name: str
    display_name: str | None
    via: tuple[str, ...]            # "<configured group> > <nested group>"

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "userPrincipalName": self.user_principal_name, "displayName": self.display_name,
                "via": list(self.via)}


@dataclass(frozen=True)
class GroupSummary:
    id: str
    name: str
    direct_users: int
    nested_groups: tuple[str, ...]  # display names of member groups (their users get no access)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "directUsers": self.direct_users,
                "nestedGroups": list(self.nested_groups)}


@dataclass(frozen=True)
class PreflightReport:
    environment: str
    tenant_id: str
    assignment_required: bool
    domains: tuple[str, ...]
    groups: tuple[GroupSummary, ...]
    users: tuple[str, ...]          # the UPNs of the users listed one by one
    users_checked: int
    problems: tuple[UserFinding, ...]
    refused: tuple[RefusedUser, ...]
    elapsed_seconds: float = 0.0
    graph_requests: int = 0
    # What the page checker process used (see orchestrator/entra/preflight/pagecheck.py; 0 when pages were checked here), for
    # benchmarks: its peak of traced memory when the caller traces memory (tracemalloc), and its CPU time.
    checker_peak_bytes: int = 0
    checker_cpu_seconds: float = 0.0

    @property
    def users_ready(self) -> int:
        return self.users_checked - len(self.problems)

    @property
    def problem_users(self) -> int:
        """Users who will not get in: incomplete or disabled, wrong domain, or only in nested groups."""
        return len(self.problems) + len(self.refused)

    @property
    def ok(self) -> bool:
        return self.problem_users == 0

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
            "ok": self.ok,
        }


class ProblemUsersError(SekoiaSSOError):
    """Some users who may sign in will not get in (exit 1)."""

    def __init__(self, report: PreflightReport, max_problems: int):
        self.report = report
        allowed = f" (more than --max-problems {max_problems})" if max_problems else ""
        super().__init__(
            f"{report.problem_users} user(s) of {report.environment} will not be able to sign in through SSO{allowed}. "
            "Complete their profiles or fix their access in Entra ID, or accept them with --max-problems N or --warn-only."
        )


@dataclass(frozen=True)
class UnknownReference:
    setting: str                    # "access.groups" or "access.users"
    name: str
    reason: str                     # "no group named ...", "2 groups are named ..."
    suggestions: tuple[str, ...] = ()


class UnknownAccessError(ConfigError):
    """`access` names groups or users the tenant does not have (exit 2), with the closest names it has."""

    def __init__(self, source: str, unknown: Sequence[UnknownReference]):
        self.unknown = tuple(unknown)
        lines = []
        for item in self.unknown:
            hint = f"; did you mean {', '.join(repr(s) for s in item.suggestions)}?" if item.suggestions else ""
            lines.append(f"  {item.setting}: {item.reason}{hint}")
        super().__init__(f"{source}: {len(lines)} name(s) in access match no single group or user of the tenant:\n"
                         + "\n".join(lines))


# ------------------------------------------------------------------------------------------------
# Checking one user


# ------------------------------------------------------------------------------------------------
# The check


@dataclass
class _ResolvedGroup:
    id: str
    name: str
    direct_users: int = 0
    nested: list[tuple[str, str]] = field(default_factory=list)  # (id, name)


class _Jobs:
    """Tasks on a bounded pool that may add tasks; the first failure stops the rest."""

    def __init__(self, pool: ThreadPoolExecutor):
        self.pool = pool
        self.lock = threading.Lock()
        self.futures: set[Future] = set()
        self.stopped = threading.Event()

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        with self.lock:
            self.futures.add(self.pool.submit(self._guard, fn, *args))

    def _guard(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self.stopped.is_set():
            return None
        return fn(*args)

    def wait_all(self) -> None:
        while True:
            with self.lock:
                pending = set(self.futures)
            if not pending:
                return
            done, _ = wait(pending, return_when=FIRST_EXCEPTION)
            with self.lock:
                self.futures -= done
            for future in done:
                if future.exception() is not None:
                    self.stopped.set()
                    raise future.exception()


class _Preflight:
    def __init__(self, graph: GraphClient, env, *, progress: Progress | None, page_size: int, concurrency: int):
        self.graph = graph
        self.env = env
        self.access = env.config.access
        self.page_size = page_size
        self.concurrency = concurrency
        self.progress = progress
        self.groups: dict[str, _ResolvedGroup] = {}
        self.user_upns: list[str] = []

    # -- resolution ------------------------------------------------------------------------------

    def resolve(self) -> list[tuple[str, list[GraphUser]]]:
        """Look up every group and user of `access` in one $batch; ConfigError listing the unknown ones."""
        select_user = encode_query({"$select": ",".join(USER_FIELDS)})
        lookups: list[tuple[str, str, BatchRequest]] = []
        for name in self.access.group_names:
            query = encode_query({"$filter": f"displayName eq {odata_string(name)}", "$select": "id,displayName",
                                  "$top": 10})
            lookups.append(("group-name", name, BatchRequest(f"/groups{query}")))
        for group_id in self.access.group_ids:
            lookups.append(("group-id", group_id, BatchRequest(f"/groups/{group_id}?$select=id,displayName")))
        for upn in self.access.user_principal_names:
            # A UPN starting with '$' must be addressed as users('...'), as Graph documents.
            ref = f"('{upn.replace(chr(39), chr(39) * 2)}')" if upn.startswith("$") else f"/{path_segment(upn)}"
            lookups.append(("user", upn, BatchRequest(f"/users{ref}{select_user}")))
        for user_id in self.access.user_ids:
            lookups.append(("user", user_id, BatchRequest(f"/users/{user_id}{select_user}")))
        if not lookups:
            return []

        answers = self.graph.batch([request for _, _, request in lookups])
        unknown: list[UnknownReference] = []
        users: list[GraphUser] = []
        for (kind, name, request), answer in zip(lookups, answers, strict=True):
            if answer.status == 404:
                what = "group with object ID" if kind == "group-id" else ("user" if kind == "user" else "group named")
                setting = "access.users" if kind == "user" else "access.groups"
                unknown.append(UnknownReference(setting, name, f"no {what} {name!r} in tenant {self.env.config.tenant_id}"))
                continue
            what = f"GET {request.url.split('?')[0]}"
            if not answer.ok:
                raise answer.error(what)
            body = answer.object(what)  # a list or a string here would become a user without an id
            if kind == "group-name":
                found = answer.values(what)
                if not found:
                    unknown.append(UnknownReference("access.groups", name,
                                                    f"no group named {name!r} in tenant {self.env.config.tenant_id}"))
                elif len(found) > 1:
                    ids = ", ".join(sorted(g["id"] for g in found))
                    unknown.append(UnknownReference("access.groups", name,
                                                    f"{len(found)} groups are named {name!r} ({ids}): "
                                                    "list the one you mean by its object ID"))
                else:
                    self._add_group(found[0])
            elif kind == "group-id":
                self._add_group(body)
            else:
                try:
                    user = msgspec.convert(body, GraphUser)
                except msgspec.ValidationError as exc:  # msgspec names the field and the types, never a value
                    raise GraphError(f"Microsoft Graph answered {what} with a user that does not have the types "
                                     f"Graph documents: {exc}") from None
                users.append(user)
                self.user_upns.append(user.userPrincipalName or name)
        if unknown:
            raise UnknownAccessError(str(self.env.path), self._suggest(unknown))
        return [(CONFIGURED_USERS, users)] if users else []

    def _add_group(self, group: dict[str, Any]) -> None:
        group_id = str(group.get("id"))
        if group_id not in self.groups:
            self.groups[group_id] = _ResolvedGroup(group_id, str(group.get("displayName") or group_id))

    def _suggest(self, unknown: list[UnknownReference]) -> list[UnknownReference]:
        """Closest names, from a bounded search: names sharing the first letters, and one page of all names."""
        # Object IDs and ambiguous names have nothing to suggest.
        searchable = [u for u in unknown if u.reason.startswith(("no group named", "no user"))
                      and not GUID_RE.match(u.name)]
        requests: list[BatchRequest] = []
        plan: list[tuple[str, str | None]] = []  # (setting, name or None for the whole first page)
        for kind in sorted({u.setting for u in searchable}):
            collection, prop = ("/groups", "displayName") if kind == "access.groups" else ("/users", "userPrincipalName")
            for item in (u for u in searchable if u.setting == kind):
                prefix = item.name[:3]
                requests.append(BatchRequest(collection + encode_query(
                    {"$filter": f"startswith({prop},{odata_string(prefix)})", "$select": prop, "$top": PAGE_SIZE})))
                plan.append((kind, item.name))
            requests.append(BatchRequest(collection + encode_query({"$select": prop, "$top": PAGE_SIZE})))
            plan.append((kind, None))
        if not requests:
            return unknown
        pools: dict[str, set[str]] = {}
        for (kind, _), answer in zip(plan, self.graph.batch(requests), strict=True):
            if not answer.ok or not isinstance(answer.body, dict):
                continue  # suggestions are a courtesy: a failed search only loses them
            prop = "displayName" if kind == "access.groups" else "userPrincipalName"
            pools.setdefault(kind, set()).update(
                item[prop] for item in answer.body.get("value") or [] if isinstance(item.get(prop), str))
        suggested = []
        for item in unknown:
            names = pools.get(item.setting, set())
            by_folded = {name.casefold(): name for name in sorted(names)}
            close = difflib.get_close_matches(item.name.casefold(), list(by_folded), n=3, cutoff=0.6)
            suggested.append(UnknownReference(item.setting, item.name, item.reason,
                                              tuple(by_folded[c] for c in close)))
        return suggested

    # -- members ---------------------------------------------------------------------------------

    def direct_members(self, group: _ResolvedGroup, checker: LocalChecker | PageChecker, jobs: _Jobs) -> None:
        path, params = f"/groups/{group.id}/members/microsoft.graph.user", {"$select": ",".join(USER_FIELDS),
                                                                            "$top": self.page_size}
        what = self.graph.page_request(path, params)

        def counted(users: int) -> None:
            group.direct_users += users

        for raw, link in self.graph.iter_raw_pages(path, params):
            checker.add_page(raw, link, group.name, what, counted)
            if jobs.stopped.is_set():
                return

    def nested_groups(self, groups: list[_ResolvedGroup], checker: LocalChecker | PageChecker, jobs: _Jobs) -> None:
        """Member groups of each group ($batch); then the users of each nested group, concurrently."""
        params = encode_query({"$select": "id,displayName", "$top": PAGE_SIZE})
        requests = [BatchRequest(f"/groups/{g.id}/members/microsoft.graph.group{params}") for g in groups]
        nested_seen: dict[str, list[str]] = {}
        for group, answer in zip(groups, self.graph.batch(requests), strict=True):
            what = f"GET /groups/{group.id}/members/microsoft.graph.group"
            if not answer.ok:
                raise answer.error(what)
            members = list(answer.values(what))
            link = answer.object(what).get("@odata.nextLink")
            if link:
                for page in self.graph.iter_pages(link):
                    members.extend(page)
            for member in members:
                name = str(member.get("displayName") or member.get("id"))
                group.nested.append((str(member["id"]), name))
                nested_seen.setdefault(str(member["id"]), []).append(f"{group.name} > {name}")
        for nested_id, paths in nested_seen.items():
            jobs.submit(self.nested_users, nested_id, paths, checker, jobs)

    def nested_users(self, group_id: str, paths: list[str], checker: LocalChecker | PageChecker, jobs: _Jobs) -> None:
        path = f"/groups/{group_id}/transitiveMembers/microsoft.graph.user"
        params = {"$select": ",".join(REFUSED_FIELDS), "$top": self.page_size, "$count": "true"}
        what = self.graph.page_request(path, params)
        for raw, link in self.graph.iter_raw_pages(path, params, headers={"ConsistencyLevel": "eventual"}):
            checker.add_candidates(raw, link, paths, what)
            if jobs.stopped.is_set():
                return

    # -- all of it -------------------------------------------------------------------------------

    def run(self) -> PreflightReport:
        started = time.monotonic()
        domains = self.env.config.sekoia.domains
        # Groups' members come in pages: they are checked on another core while this process fetches.
        checker = (PageChecker.start(domains, self.progress) if self.access.group_names or self.access.group_ids
                   else LocalChecker(domains, self.progress))
        try:
            for via, users in self.resolve():
                checker.add_listed(users, via)
            groups = list(self.groups.values())
            with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="preflight") as pool:
                jobs = _Jobs(pool)
                try:
                    if groups and self.access.assignment_required:
                        jobs.submit(self.nested_groups, groups, checker, jobs)
                    for group in groups:
                        jobs.submit(self.direct_members, group, checker, jobs)
                    jobs.wait_all()
                except BaseException:
                    jobs.stopped.set()
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
            outcome = checker.outcome()
        finally:
            checker.close()
        return self._report(outcome, time.monotonic() - started)

    def _report(self, outcome: Outcome, elapsed: float) -> PreflightReport:
        problems = tuple(sorted(
            (UserFinding(f.id, f.upn, f.display_name, f.mail, f.problems, tuple(sorted(f.via)))
             for f in outcome.findings), key=lambda f: (f.user_principal_name.casefold(), f.id)))
        refused = tuple(sorted(
            (RefusedUser(r.id, r.upn, r.display_name, tuple(sorted(r.via))) for r in outcome.refused),
            key=lambda r: (r.user_principal_name.casefold(), r.id)))
        groups = tuple(sorted(
            (GroupSummary(g.id, g.name, g.direct_users, tuple(sorted(name for _, name in g.nested)))
             for g in self.groups.values()), key=lambda g: (g.name.casefold(), g.id)))
        return PreflightReport(
            environment=self.env.name, tenant_id=self.env.config.tenant_id,
            assignment_required=self.access.assignment_required,
            domains=tuple(sorted({d.lower() for d in self.env.config.sekoia.domains})),
            groups=groups, users=tuple(sorted(self.user_upns, key=str.casefold)), users_checked=outcome.users_checked,
            problems=problems, refused=refused, elapsed_seconds=round(elapsed, 3),
            graph_requests=self.graph.stats.requests, checker_peak_bytes=outcome.traced_peak,
            checker_cpu_seconds=outcome.cpu_seconds,
        )


def check_access(graph: GraphClient, env, *, progress: Progress | None = None, page_size: int = PAGE_SIZE,
                 concurrency: int = DEFAULT_CONCURRENCY) -> PreflightReport:
    """The preflight of `env` over an open GraphClient (see `run_preflight` to open one from the environment)."""
    if not 1 <= page_size <= PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{PAGE_SIZE}")
    with _cyclic_gc_paused():
        return _Preflight(graph, env, progress=progress, page_size=page_size, concurrency=max(1, concurrency)).run()


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pages of users are millions of short-lived objects and no reference cycles: reference counting frees
    them all, and the cyclic collector would only stop every thread again and again (tens of ms each time
    on a 100,000-user tenant). It is back on, as it was, when the check ends."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def run_preflight(env, project_dir: Path, *, progress: Progress | None = None, page_size: int = PAGE_SIZE,
                  concurrency: int = DEFAULT_CONCURRENCY, environ: dict[str, str] | None = None,
                  **client_options: Any) -> PreflightReport:
    """Check who will sign in to Sekoia.io for `env`: Graph from the environment's cloud (or the sandbox).

    Raises UnknownAccessError (a ConfigError, exit 2) for names the tenant lacks, ConfigError for
    missing credentials, GraphError when Graph fails; problem users are in the report, not raised
    (call `report.raise_for_problems(max_problems)` to stop on them).
    """
    from orchestrator.entra.graph import open_graph

    with open_graph(env, project_dir, environ=environ, concurrency=concurrency, **client_options) as graph:
        return check_access(graph, env, progress=progress, page_size=page_size, concurrency=concurrency)


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


def _describe(finding: UserFinding) -> str:
    parts = []
    for code in finding.problems:
        if code == "mail_domain_not_allowed":
            domain = (finding.mail or "").strip().rpartition("@")[2] or finding.mail
            parts.append(f"mail domain {domain} not in sekoia.domains")
        else:
            parts.append(PROBLEMS[code])
    return ", ".join(parts)


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
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
        rows = [("USER", "VIA", "WHAT IS WRONG")]
        rows += [(f.user_principal_name, ", ".join(f.via), _describe(f)) for f in report.problems]
        lines += _table(rows)
    if report.refused:
        lines += ["", "Will be refused (only members of nested groups; nested groups get no access):"]
        rows = [("USER", "VIA")] + [(r.user_principal_name, ", ".join(r.via)) for r in report.refused]
        lines += _table(rows)
    lines.append("")
    lines.append("All users can sign in." if report.ok else f"{report.problem_users:,} user(s) will not get in.")
    return "\n".join(lines) + "\n"


FORMATTERS: dict[str, Callable[[PreflightReport], str]] = {
    "table": format_table, "json": format_json, "csv": format_csv,
}
