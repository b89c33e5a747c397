"""The preflight's reads of Graph: the groups and users `access` names, then the groups' members.

How it talks to Graph (see graph.py for retries and throttling):
- One $batch resolves every group name (`$filter=displayName eq '...'`), group ID and user
  (by UPN or ID) at once; the users' own answers are checked as they are. Names the tenant
  lacks are an UnknownAccessError, with the closest names it has.
- Each group's direct user members are read with `$select` and `$top=999`, page after page,
  the groups concurrently (at most `concurrency` requests in flight). No request per user.
- Nested groups: one $batch lists each group's member groups; the users of each nested group
  (`transitiveMembers/microsoft.graph.user`, with the `ConsistencyLevel: eventual` Graph
  needs for that cast) minus everyone with direct access are the refused ones.
- Pages are not decoded here: each is handed as it arrives to the checker (pagecheck.py).
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec

from orchestrator.config.values import GUID_RE
from orchestrator.entra.graph import BatchRequest, GraphClient, encode_query, odata_string, path_segment
from orchestrator.entra.preflight.pagecheck import LocalChecker, PageChecker
from orchestrator.entra.preflight.rules import GraphUser
from orchestrator.errors import GraphError, UnknownAccessError

if TYPE_CHECKING:  # config loads pydantic: only for the annotations
    from orchestrator.config.schema import Environment

USER_FIELDS: tuple[str, ...] = GraphUser.__struct_fields__  # what the rules read, and nothing more
REFUSED_FIELDS = ("id", "userPrincipalName", "displayName")
PAGE_SIZE = 999
DEFAULT_CONCURRENCY = 16
CONFIGURED_USERS = "access.users"  # the `via` of users listed one by one


@dataclass(frozen=True)
class UnknownReference:
    setting: str                    # "access.groups" or "access.users"
    name: str
    reason: str                     # "no group named ...", "2 groups are named ..."
    suggestions: tuple[str, ...] = ()


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
                error = future.exception()
                if error is not None:
                    self.stopped.set()
                    raise error


class AccessFetch:
    """The groups and users of an environment's `access`, fetched from Graph: resolved, then their members."""

    def __init__(self, graph: GraphClient, env: Environment, *, page_size: int, concurrency: int):
        self.graph = graph
        self.env = env
        self.access = env.config.access
        self.page_size = page_size
        self.concurrency = concurrency
        self.groups: dict[str, _ResolvedGroup] = {}
        self.user_upns: list[str] = []

    # -- resolution ------------------------------------------------------------------------------

    def resolve(self) -> list[tuple[str, list[GraphUser]]]:
        """Look up every group and user of `access` in one $batch; ConfigError listing the unknown ones."""
        select_user = encode_query({"$select": ",".join(USER_FIELDS)})
        lookups: list[tuple[str, str, BatchRequest]] = []
        group_refs, user_refs = self.access.group_references, self.access.user_references
        for name in group_refs.names:
            query = encode_query({"$filter": f"displayName eq {odata_string(name)}", "$select": "id,displayName",
                                  "$top": 10})
            lookups.append(("group-name", name, BatchRequest(f"/groups{query}")))
        for group_id in group_refs.ids:
            lookups.append(("group-id", group_id, BatchRequest(f"/groups/{group_id}?$select=id,displayName")))
        for upn in user_refs.names:
            # A UPN starting with '$' must be addressed as users('...'), as Graph documents.
            ref = f"('{upn.replace(chr(39), chr(39) * 2)}')" if upn.startswith("$") else f"/{path_segment(upn)}"
            lookups.append(("user", upn, BatchRequest(f"/users{ref}{select_user}")))
        for user_id in user_refs.ids:
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
                reason = f"no {what} {name!r} in tenant {self.env.config.tenant_id}"
                unknown.append(UnknownReference(setting, name, reason))
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
            collection, prop = (("/groups", "displayName") if kind == "access.groups"
                                else ("/users", "userPrincipalName"))
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
        path = f"/groups/{group.id}/members/microsoft.graph.user"
        params: dict[str, str | int] = {"$select": ",".join(USER_FIELDS), "$top": self.page_size}
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
        params: dict[str, str | int] = {"$select": ",".join(REFUSED_FIELDS), "$top": self.page_size, "$count": "true"}
        what = self.graph.page_request(path, params)
        for raw, link in self.graph.iter_raw_pages(path, params, headers={"ConsistencyLevel": "eventual"}):
            checker.add_candidates(raw, link, paths, what)
            if jobs.stopped.is_set():
                return

    # -- all of it -------------------------------------------------------------------------------

    def members(self, checker: LocalChecker | PageChecker) -> None:
        """Every resolved group's direct users and, when assignment is required, its nested groups' users:
        concurrently, each page handed to `checker` as it arrives."""
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
