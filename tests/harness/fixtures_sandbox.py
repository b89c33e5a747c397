"""Fixtures of the whole sandbox: both emulators and the provider mirror, and a way to run Terraform on it.

    def test_apply(sandbox, graph_emulator, tmp_path):
        (tmp_path / "main.tf").write_text(HCL)
        run_terraform(sandbox, tmp_path, "init")
        run_terraform(sandbox, tmp_path, "apply", "-auto-approve")

`sandbox` runs on the session's emulator servers (`graph_emulator_server`, `sekoia_server`), so
`graph_emulator` / `sekoia_emulator` in the same test reset that same tenant and account.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox.graph.emulator import GraphEmulator
from sandbox.sekoia.emulator import SekoiaEmulator
from sandbox.up import Sandbox, start_sandbox

# Flags Terraform accepts per command, added unless the caller passes them.
_NO_INPUT = {"init", "plan", "apply", "destroy", "import", "refresh"}
_NO_COLOR = _NO_INPUT | {"validate", "output", "show"}
# The caller's environment must not steer Terraform away from the sandbox (or towards a real tenant).
_DROPPED_PREFIXES = ("TF_", "ARM_", "AZUREAD_SANDBOX_")


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory, graph_emulator_server: GraphEmulator,
            sekoia_server: SekoiaEmulator) -> Iterator[Sandbox]:
    """The whole sandbox, in process, with its provider mirror and endpoints.json in a temporary directory."""
    running = start_sandbox(tmp_path_factory.mktemp("sandbox"), graph=graph_emulator_server, sekoia=sekoia_server)
    yield running
    running.stop()


def terraform_env(sandbox: Sandbox, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The process environment Terraform runs with in the sandbox."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_DROPPED_PREFIXES)}
    env.update(sandbox.env)
    env.update({"TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"})
    env.update(extra or {})
    return env


def run_terraform(sandbox: Sandbox, workdir: Path, command: str, *args: str, ok: tuple[int, ...] = (0,),
                  env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `terraform <command> <args>` in `workdir` on the sandbox; fail the test unless the exit code is in `ok`.

    -input=false and -no-color are added where the command takes them. `env` adds or overrides variables.
    """
    argv = ["terraform", command]
    if command in _NO_INPUT and "-input=false" not in args:
        argv.append("-input=false")
    if command in _NO_COLOR and "-no-color" not in args:
        argv.append("-no-color")
    argv.extend(args)
    result = subprocess.run(argv, cwd=workdir, env=terraform_env(sandbox, env), capture_output=True, text=True,
                            timeout=timeout, check=False)
    if result.returncode not in ok:
        pytest.fail(f"{' '.join(argv)} exited {result.returncode} (expected {ok})\n"
                    f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}", pytrace=False)
    return result
