"""`sekoia-sso rotate`: a fresh secret in the standby slot, Sekoia.io moved to it, the old one replaced.

All of it lives in the Terraform state (client_secret.py): no file changes, so a read-only
checkout rotates, and a re-run after an interruption finishes the hand-over under way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.schema import Environment
from orchestrator.console import Console
from orchestrator.errors import SekoiaSSOError, UsageError
from orchestrator.terraform.workspace import Workspace
from orchestrator.workflows.common import confirm, credentials_reader, environment_lock, poll_policy, push


@dataclass
class RotateOptions:
    yes: bool = False
    wait: bool = True
    timeout: float = 15 * 60.0
    confirm: Callable[[str], bool] | None = None
    poll: Any = None
    sekoia_client_options: dict[str, Any] = field(default_factory=dict)


def rotate_environment(project_dir: Path, env: Environment, options: RotateOptions, console: Console) -> dict[str, Any]:
    """Zero-downtime rotation, all in the Terraform state (client_secret.py): no file changes.

    Each step is read back from the state, Entra ID and Sekoia.io, so a re-run after an
    interruption finishes the hand-over that was under way instead of starting another."""
    from orchestrator.sekoia.client import SekoiaClient
    from orchestrator.workflows.client_secret import Ledger, rotate_secret

    workspace = Workspace(env, project_dir)
    with environment_lock(workspace):
        runner = workspace.initialised_runner(on_line=console.terraform_line)
        outputs = runner.outputs()
        if not outputs.get("application_object_id"):
            raise UsageError(f"environment {env.name} has not been applied yet: run `sekoia-sso apply {env.name}`")
        credentials = credentials_reader(env, project_dir, outputs)
        ledger = Ledger.read(outputs, credentials())
        with SekoiaClient.for_environment(env, workspace.endpoints, **options.sekoia_client_options) as client:
            if ledger.pushing or ledger.retiring or ledger.held is None:
                console.step("Finishing the interrupted hand-over of the client secret")
                push(client, env, workspace, runner, outputs, credentials, options, console)
                slot = Ledger.read(runner.outputs(), credentials()).held
            else:
                held = ledger.held
                confirm(options, f"Rotate the client secret of {env.name} (slot {held.name} → "
                                  f"{ledger.other(held).name})?")
                console.step(f"Rotating: slot {ledger.other(held).name} gets a fresh secret, Sekoia.io is moved to "
                             f"it, then slot {held.name}'s secret is replaced")
                slot = rotate_secret(client, env, workspace, runner, credentials=credentials,
                                     reporter=console.reporter, wait=options.wait, timeout=options.timeout,
                                     poll=poll_policy(env, options.poll), why="rotation")
    if slot is None:
        raise SekoiaSSOError(f"Sekoia.io holds no recorded secret of {env.name}: run `sekoia-sso apply {env.name}`")
    console.result(f"Rotated: Sekoia.io now uses the secret of slot {slot.name} (key ID {slot.key_id}); the "
                   "previous secret no longer works. No file changed: the rotation lives in the Terraform state.")
    return {"environment": env.name, "status": "rotated", "slot": slot.name, "client_secret_key_id": slot.key_id,
            "days_left": None if slot.days_left is None else round(slot.days_left, 1)}
