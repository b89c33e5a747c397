"""The environments of a repository side by side: `sekoia-sso list`, `status --all`, `plan --all`.

`list` reads the files alone (envs/*.yaml and the committed renders): no Terraform, no network, so
it answers in CI before any credential is set, and a matrix of jobs can be built from its --json.
An environment whose file does not load is a row too, with the reason, never a stop.

`run_fleet` runs one job (a status, a plan) on every environment, `jobs` at a time in this process:
one row each (exit code, summary, its own document), each environment's stderr kept together and
prefixed by its name, the exit code the worst of theirs (EXIT_ORDER). Environments using one
Sekoia.io API key share its rate limiter (orchestrator/sekoia/client.py, shared_request_window).
"""

from __future__ import annotations

import io
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from orchestrator.errors import EXIT_FAILED, EXIT_OK, EXIT_USAGE, EXIT_WAITING, SekoiaSSOError

if TYPE_CHECKING:
    from orchestrator.console import Console


@dataclass(frozen=True)
class EnvironmentRow:
    name: str
    problem: str | None = None  # why envs/<name>.yaml does not load; the other fields are then None
    region: str | None = None
    community_uuid: str | None = None
    tenant_id: str | None = None
    backend: str | None = None  # `local`, or `azurerm <storage account>/<container>/<key>`
    sandbox: bool | None = None
    render_current: bool | None = None
    api_key_env: str | None = None  # the variable holding its Sekoia.io key: those sharing one share its budget

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "problem": self.problem, "region": self.region,
                "community_uuid": self.community_uuid, "tenant_id": self.tenant_id, "backend": self.backend,
                "sandbox": self.sandbox, "render_current": self.render_current, "api_key_env": self.api_key_env}

    def line(self) -> str:
        if self.problem:
            return f"{self.name:<16} PROBLEM  {self.problem.splitlines()[0]}"
        render = "current" if self.render_current else "STALE (run `sekoia-sso render " + self.name + "`)"
        return (f"{self.name:<16} {self.region:<6} community {self.community_uuid}  tenant {self.tenant_id}  "
                f"{self.backend}  key ${self.api_key_env}  render {render}")


def _backend(env: Any) -> str:
    backend = env.config.terraform.backend
    if backend.type == "azurerm":
        return f"azurerm {backend.storage_account_name}/{backend.container_name}/{backend.key}"
    return "local" + (f" {backend.path}" if backend.path else "")


def environment_row(project_dir: Path, name: str) -> tuple[EnvironmentRow, Any]:
    """The row of envs/<name>.yaml, and the loaded environment (None when it does not load)."""
    from orchestrator.config.loading import load_environment
    from orchestrator.render import diff_rendered, render_environment

    try:
        env = load_environment(project_dir, name)
        current = not diff_rendered(render_environment(env, project_dir), project_dir)
    except SekoiaSSOError as exc:
        return EnvironmentRow(name, problem=str(exc)), None
    sekoia = env.config.sekoia
    return EnvironmentRow(name, region=sekoia.region, community_uuid=sekoia.community_uuid,
                          tenant_id=env.config.tenant_id, backend=_backend(env), sandbox=env.config.sandbox,
                          render_current=current, api_key_env=sekoia.api_key_env), env


def list_environments(project_dir: Path) -> list[EnvironmentRow]:
    """Every envs/*.yaml, by name; two that name one Sekoia.io community are each a problem (ownership.py)."""
    from orchestrator.config.envfile import environment_names
    from orchestrator.sekoia.ownership import shared_communities

    loaded = [environment_row(project_dir, name) for name in environment_names(project_dir)]
    shared = shared_communities(env for _, env in loaded if env is not None)
    sharing = {env.name: (community, [other.name for other in envs])
               for community, envs in shared.items() for env in envs}
    return [replace(row, problem=f"sekoia.community_uuid {sharing[row.name][0]} is named by "
                    f"{' and '.join(sharing[row.name][1])}: one environment owns one community")
            if row.name in sharing else row for row, _ in loaded]


# ---- `status --all`, `plan --all`: every environment, a few at a time, in one process --------------------------

# Exit codes, worst first: the fleet's exit code is the worst of its environments'. 1 (failed: something
# deployed is wrong or could not be read) outranks 2 (a file to fix: that environment was not even run),
# which outranks 3 (waiting on Sekoia.io: re-run later), then 0. A code outside the table ranks worst of all.
EXIT_ORDER = (EXIT_FAILED, EXIT_USAGE, EXIT_WAITING, EXIT_OK)
OUTCOME = {EXIT_OK: "ok", EXIT_FAILED: "failed", EXIT_USAGE: "bad config", EXIT_WAITING: "waiting"}
DEFAULT_JOBS = 4

# What one environment's run is: (exit code, one-line summary, its own --json document), printing through console.
EnvironmentJob = Callable[[Any, "Console"], tuple[int, str, dict[str, Any]]]


def worst_exit(codes: Iterable[int]) -> int:
    """The worst of `codes` in EXIT_ORDER (0 for none)."""
    return min(codes, key=lambda code: EXIT_ORDER.index(code) if code in EXIT_ORDER else -1, default=EXIT_OK)


@dataclass
class FleetRow:
    """One environment's line of the table and row of the JSON document."""

    name: str
    exit_code: int
    summary: str
    seconds: float = 0.0
    result: dict[str, Any] | None = None  # the environment's own document (as `status ENV --json` prints it)

    @property
    def outcome(self) -> str:
        return OUTCOME.get(self.exit_code, f"exit {self.exit_code}")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "exit_code": self.exit_code, "outcome": self.outcome, "summary": self.summary,
                "seconds": round(self.seconds, 2), "result": self.result}


def format_table(rows: Sequence[FleetRow]) -> str:
    """The fleet as one table: environment, outcome, exit code, seconds, summary; and a last line of totals."""
    table = [("environment", "outcome", "exit", "time", "summary")]
    table += [(row.name, row.outcome, str(row.exit_code), f"{row.seconds:.1f}s", row.summary) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(4)]
    lines = ["  ".join([*(cell.ljust(width) for cell, width in zip(line[:4], widths, strict=True)), line[4]]).rstrip()
             for line in table]
    outcomes = [row.outcome for row in rows]
    totals = ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes))
    lines.append(f"{len(rows)} environment(s): {totals or 'none'}; exit {worst_exit(r.exit_code for r in rows)}")
    return "\n".join(lines) + "\n"


class _Blocks:
    """Each environment's stderr, kept in its own buffer and written at its end in one piece, each line
    prefixed by its name, so that the lines of environments running side by side never interleave."""

    def __init__(self, err: TextIO):
        self.err = err
        self.lock = threading.Lock()

    def write(self, name: str, text: str) -> None:
        block = "".join(f"[{name}] {line}\n" for line in text.splitlines())
        with self.lock:
            self.err.write(block)
            self.err.flush()


def _run_one(project_dir: Path, env: Any, job: EnvironmentJob, terraform_lines: bool,
             blocks: _Blocks) -> FleetRow:
    """One environment's job; any error is its row's failure, never the fleet's traceback."""
    from orchestrator.console import Console, Reporter
    from orchestrator.terraform.process import STOP_EVERY_PROCESS

    buffer = io.StringIO()
    console = Console(Reporter(buffer, buffer, results_to_err=True), terraform_lines=terraform_lines)
    for warning in env.warnings:  # what `status ENV` prints in yellow on loading, in this environment's block
        console.reporter.note(warning)
    started = time.monotonic()
    try:
        if STOP_EVERY_PROCESS.is_set():
            raise SekoiaSSOError("not run: the fleet was interrupted")
        code, summary, result = job(env, console)
        row = FleetRow(env.name, code, summary, result=result)
    except SekoiaSSOError as exc:
        console.reporter.note(f"Error: {exc}")
        row = FleetRow(env.name, exc.exit_code, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except Exception as exc:  # noqa: BLE001 - a bug in one environment's run is its row's failure
        console.reporter.note(f"Error: internal error: {type(exc).__name__}: {exc}")
        row = FleetRow(env.name, EXIT_FAILED, f"internal error: {type(exc).__name__}: {exc}")
    row.seconds = time.monotonic() - started
    console.reporter.note(f"==> {row.outcome} (exit {row.exit_code}): {row.summary}")
    blocks.write(env.name, buffer.getvalue())
    return row


def load_fleet(project_dir: Path) -> tuple[list[Any], dict[str, FleetRow]]:
    """The environments of envs/ that load, and a failed row (exit 2) for each that does not: a bad file, or
    two naming one Sekoia.io community (both refused, as `list` shows them)."""
    from orchestrator.config.envfile import environment_names
    from orchestrator.config.loading import load_environment
    from orchestrator.sekoia.ownership import shared_communities

    loaded, refused = [], {}
    for name in environment_names(project_dir):
        try:
            loaded.append(load_environment(project_dir, name))
        except SekoiaSSOError as exc:
            refused[name] = FleetRow(name, exc.exit_code, str(exc).splitlines()[0])
    for community, envs in shared_communities(loaded).items():
        names = [env.name for env in envs]
        for name in names:
            refused[name] = FleetRow(name, EXIT_USAGE, f"sekoia.community_uuid {community} is named by "
                                     f"{' and '.join(names)}: one environment owns one community")
    return [env for env in loaded if env.name not in refused], refused


def run_fleet(project_dir: Path, job: EnvironmentJob, *, jobs: int = DEFAULT_JOBS, err: TextIO | None = None,
              terraform_lines: bool = True) -> list[FleetRow]:
    """`job` on every environment of envs/, at most `jobs` at a time in threads of this process; rows by name.

    Ctrl-C (or SIGTERM) stops them all: every running Terraform gets SIGINT and is waited for, the
    environments not started are not, what ran is printed, and the KeyboardInterrupt goes on up."""
    from orchestrator.terraform.process import STOP_EVERY_PROCESS

    blocks = _Blocks(err if err is not None else sys.stderr)
    runnable, rows = load_fleet(project_dir)
    for row in rows.values():
        blocks.write(row.name, f"Error: {row.summary}\n")
    STOP_EVERY_PROCESS.clear()
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="fleet")
    futures = [pool.submit(_run_one, project_dir, env, job, terraform_lines, blocks) for env in runnable]
    try:
        for future in as_completed(futures):
            row = future.result()
            rows[row.name] = row
    except KeyboardInterrupt:
        STOP_EVERY_PROCESS.set()  # Terraform stops with SIGINT; the jobs not started give up at once
        _wait_out(futures)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return [rows[name] for name in sorted(rows)]


def _wait_out(futures: Sequence[Future[FleetRow]]) -> None:
    """Wait for the running jobs to end after a stop; a second Ctrl-C does not leave Terraform behind."""
    while True:
        try:
            wait(futures)
            return
        except KeyboardInterrupt:
            continue


def status_job(project_dir: Path, *, strict: bool) -> EnvironmentJob:
    """`status ENV` as a fleet's job: its exit code, the parts that are not ok, its --json document."""
    from orchestrator.workflows.status import StatusOptions, status_document, status_environment, status_headline

    def job(env: Any, console: Console) -> tuple[int, str, dict[str, Any]]:
        code, checks = status_environment(project_dir, env, console, StatusOptions(strict=strict))
        return code, status_headline(checks), status_document(env, code, checks, strict=strict)

    return job


def plan_job(project_dir: Path) -> EnvironmentJob:
    """`plan ENV` as a fleet's job: 0 (or its failure), the plan's counts, its --json document."""
    from orchestrator.workflows.plan import plan_environment

    def job(env: Any, console: Console) -> tuple[int, str, dict[str, Any]]:
        planned = plan_environment(project_dir, env, on_line=console.terraform_line)
        console.result(planned.text().rstrip("\n"))
        return EXIT_OK, planned.headline(), planned.document()

    return job
