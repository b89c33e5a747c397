"""Benchmarks of issues 7 and 14: a no-op re-apply against a bare `terraform plan`, `status` against a
no-op re-apply, and `--help`'s start-up.

    .venv/bin/python bench/bench_workflow.py [--rounds N] [--latency-ms MS]

    from bench.bench_workflow import run_noop_apply_benchmark, run_status_benchmark, run_help_benchmark

Both sides of each ratio run as processes in the same loop, alternating, on the same sandbox:

- no-op re-apply: `sekoia-sso apply sandbox --yes` once everything is applied (so it finds
  nothing to do: preflight, the Terraform plan and Sekoia.io's reads, no write), against
  `terraform plan` of the same root with the same data dir. Target: ratio ≤ 1.3.
- status: `sekoia-sso status sandbox` (every part, exit 0) against that no-op re-apply of the same
  environment. Target: ratio ≤ 1.2 (status runs ONE Terraform plan, as apply does).
- `sekoia-sso --help` against `python -c "import click"`. Target: ratio ≤ 1.5, and the help
  imports none of httpx, jinja2, azure.identity, python_terraform.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
NOOP_RATIO_TARGET = 1.3
STATUS_RATIO_TARGET = 1.2
HELP_RATIO_TARGET = 1.5
HEAVY_MODULES = ("httpx", "jinja2", "azure.identity", "python_terraform")


def _byte_compile() -> None:
    """Compile the checkout as pip compiles an installed package: with PYTHONDONTWRITEBYTECODE set, an
    editable install would otherwise compile every module it imports on every start."""
    import compileall

    for package in ("orchestrator", "sandbox"):
        compileall.compile_dir(PROJECT_DIR / package, quiet=1)


def _timed(argv: list[str], *, env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode()[-2000:]}")
    return elapsed


def _alternate(rounds: int, measured: list[str], bound: list[str], *, env: dict[str, str],
               bound_env: dict[str, str] | None = None) -> tuple[float, float]:
    """Median seconds of `measured` and of `bound`, run one after the other `rounds` times (so both sides
    see the same machine load)."""
    measured_s, bound_s = [], []
    for _ in range(rounds):
        measured_s.append(_timed(measured, env=env, cwd=PROJECT_DIR))
        bound_s.append(_timed(bound, env=bound_env or env, cwd=PROJECT_DIR))
    return statistics.median(measured_s), statistics.median(bound_s)


def _ratio_result(measure: str, value_s: float, bound_s: float, target: float, *, holds: bool,
                  **facts: object) -> dict:
    """One benchmark's answer: `ok` when the ratio meets its target and `holds` (the side condition)."""
    return {
        "measure": measure, "value_s": value_s, "bound_s": bound_s, "ratio": value_s / bound_s, "target": target,
        "ok": value_s / bound_s <= target and holds, **facts,
    }


@contextmanager
def _applied_sandbox(latency_ms: float) -> Iterator[tuple[object, dict[str, str], list[str]]]:
    """A sandbox with environment sandbox applied; (sandbox, the CLI's environment, a no-op apply's argv)."""
    from sandbox.up import start_sandbox

    _byte_compile()
    with tempfile.TemporaryDirectory(prefix="sekoia-sso-bench-") as directory, start_sandbox(directory) as sandbox:
        sandbox.sekoia.domain_verification_delay = 0
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TF_", "ARM_"))}
        env.update(SEKOIA_SSO_SANDBOX_DIR=directory, SEKOIA_SSO_PROJECT_DIR=str(PROJECT_DIR))
        apply = [sys.executable, "-m", "orchestrator", "apply", "sandbox", "--yes", "--warn-only", "--quiet"]
        _timed(apply, env=env, cwd=PROJECT_DIR)  # the first apply creates everything
        sandbox.graph.configure(latency_ms=latency_ms)
        sandbox.sekoia.latency = latency_ms / 1000.0
        yield sandbox, env, apply


def run_noop_apply_benchmark(*, rounds: int = 5, latency_ms: float = 0.0) -> dict:
    from orchestrator.config.loading import load_environment
    from orchestrator.terraform.workspace import Workspace

    with _applied_sandbox(latency_ms) as (sandbox, env, apply):
        os.environ["SEKOIA_SSO_SANDBOX_DIR"] = env["SEKOIA_SSO_SANDBOX_DIR"]
        workspace = Workspace(load_environment(PROJECT_DIR, "sandbox"), PROJECT_DIR)
        plan_env = {**env, **workspace.endpoints.sandbox_env, "TF_DATA_DIR": str(workspace.data_dir),
                    "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}
        plan = ["terraform", f"-chdir={workspace.root_dir}", "plan", "-input=false", "-no-color", "-lock-timeout=30s"]
        sekoia_writes = len(sandbox.sekoia.write_requests)
        apply_s, plan_s = _alternate(rounds, apply, plan, env=env, bound_env=plan_env)
        writes = len(sandbox.sekoia.write_requests) - sekoia_writes
    return _ratio_result("no-op re-apply vs bare terraform plan", apply_s, plan_s, NOOP_RATIO_TARGET,
                         holds=writes == 0, sekoia_writes=writes, rounds=rounds, latency_ms=latency_ms)


def run_status_benchmark(*, rounds: int = 5, latency_ms: float = 0.0) -> dict:
    """`status` (must exit 0: every part matches) against a no-op apply, alternating, on one sandbox."""
    with _applied_sandbox(latency_ms) as (sandbox, env, apply):
        status = [sys.executable, "-m", "orchestrator", "status", "sandbox"]
        sekoia_writes = len(sandbox.sekoia.write_requests)
        status_s, apply_s = _alternate(rounds, status, apply, env=env)
        writes = len(sandbox.sekoia.write_requests) - sekoia_writes
    return _ratio_result("status vs no-op re-apply", status_s, apply_s, STATUS_RATIO_TARGET,
                         holds=writes == 0, sekoia_writes=writes, rounds=rounds, latency_ms=latency_ms)


def run_help_benchmark(*, rounds: int = 15) -> dict:
    _byte_compile()
    env = dict(os.environ)
    help_s, click_s = _alternate(rounds, [sys.executable, "-m", "orchestrator", "--help"],
                                 [sys.executable, "-c", "import click"], env=env)
    probe = ("import sys, runpy; sys.argv = ['sekoia-sso', '--help']\n"
             "try:\n    runpy.run_module('orchestrator', run_name='__main__')\nexcept SystemExit:\n    pass\n"
             f"print('HEAVY:' + ','.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))")
    printed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=PROJECT_DIR,
                             env=env).stdout
    marker = printed[printed.rindex("HEAVY:") + len("HEAVY:"):].strip()
    heavy = [m for m in marker.split(",") if m]
    return _ratio_result("sekoia-sso --help vs python -c 'import click'", help_s, click_s, HELP_RATIO_TARGET,
                         holds=not heavy, heavy_imports=heavy, rounds=rounds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)
    for measures in (run_noop_apply_benchmark(rounds=args.rounds, latency_ms=args.latency_ms),
                     run_status_benchmark(rounds=args.rounds, latency_ms=args.latency_ms), run_help_benchmark()):
        print(f"{measures['measure']}: {measures['value_s']:.3f}s vs {measures['bound_s']:.3f}s, "
              f"ratio {measures['ratio']:.2f} (target ≤ {measures['target']}) {'PASS' if measures['ok'] else 'FAIL'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
