"""One preflight run: resolve `access` and fetch the members (fetch.py), check their pages as they
arrive (pagecheck.py, by the rules of rules.py), and gather the outcome into a report (report.py).

    run_preflight(env, project_dir)   opens Graph from the environment (credentials.py, graph.py)
    check_access(graph, env)          the same over a GraphClient the caller holds
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.entra.graph import GraphClient
from orchestrator.entra.licences import check_group_licence
from orchestrator.entra.preflight.fetch import DEFAULT_CONCURRENCY, PAGE_SIZE, AccessFetch
from orchestrator.entra.preflight.pagecheck import LocalChecker, Outcome, PageChecker, Progress
from orchestrator.entra.preflight.report import GroupSummary, PreflightReport, RefusedUser, UserFinding

if TYPE_CHECKING:  # config loads pydantic: only for the annotations
    from orchestrator.config.schema import Environment


def run_preflight(env: Environment, project_dir: Path, *, progress: Progress | None = None, page_size: int = PAGE_SIZE,
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


def check_access(graph: GraphClient, env: Environment, *, progress: Progress | None = None, page_size: int = PAGE_SIZE,
                 concurrency: int = DEFAULT_CONCURRENCY) -> PreflightReport:
    """The preflight of `env` over an open GraphClient (see `run_preflight` to open one from the environment)."""
    if not 1 <= page_size <= PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{PAGE_SIZE}")
    with _cyclic_gc_paused():
        started = time.monotonic()
        fetch = AccessFetch(graph, env, page_size=page_size, concurrency=max(1, concurrency))
        outcome = _checked(fetch, progress)
        licence = check_group_licence(graph, env)
        return dataclasses.replace(_report(fetch, outcome, time.monotonic() - started), group_assignment=licence)


def _checked(fetch: AccessFetch, progress: Progress | None) -> Outcome:
    domains = fetch.env.config.sekoia.domains
    # Groups' members come in pages: they are checked on another core while this process fetches.
    checker = (PageChecker.start(domains, progress) if fetch.access.groups else LocalChecker(domains, progress))
    try:
        for via, users in fetch.resolve():
            checker.add_listed(users, via)
        fetch.members(checker)
        return checker.outcome()
    finally:
        checker.close()


def _report(fetch: AccessFetch, outcome: Outcome, elapsed: float) -> PreflightReport:
    env = fetch.env
    problems = tuple(sorted(
        (UserFinding(f.id, f.upn, f.display_name, f.mail, f.problems, tuple(sorted(f.via)))
         for f in outcome.findings), key=lambda f: (f.user_principal_name.casefold(), f.id)))
    refused = tuple(sorted(
        (RefusedUser(r.id, r.upn, r.display_name, tuple(sorted(r.via))) for r in outcome.refused),
        key=lambda r: (r.user_principal_name.casefold(), r.id)))
    groups = tuple(sorted(
        (GroupSummary(g.id, g.name, g.direct_users, tuple(sorted(name for _, name in g.nested)))
         for g in fetch.groups.values()), key=lambda g: (g.name.casefold(), g.id)))
    return PreflightReport(
        environment=env.name, tenant_id=env.config.tenant_id,
        assignment_required=fetch.access.assignment_required,
        domains=tuple(sorted({d.lower() for d in env.config.sekoia.domains})),
        groups=groups, users=tuple(sorted(fetch.user_upns, key=str.casefold)), users_checked=outcome.users_checked,
        problems=problems, refused=refused, elapsed_seconds=round(elapsed, 3),
        graph_requests=fetch.graph.stats.requests, checker_peak_bytes=outcome.traced_peak,
        checker_cpu_seconds=outcome.cpu_seconds,
    )


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
