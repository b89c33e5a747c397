"""What every workflow shares: one run per environment, how pending domains are polled, the
confirmation, Entra ID's view of the secrets, and the one push of a secret to Sekoia.io."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from orchestrator.config.schema import Environment
from orchestrator.console import Console
from orchestrator.errors import UsageError
from orchestrator.terraform.workspace import EnvironmentLock, Workspace

if TYPE_CHECKING:  # the Sekoia.io half and Terraform's runner load when a workflow reaches them
    from orchestrator.sekoia.client import SekoiaClient
    from orchestrator.sekoia.connect import PollPolicy
    from orchestrator.terraform.runner import TerraformRunner
    from orchestrator.workflows.client_secret import CredentialsReader


@contextmanager
def environment_lock(workspace: Workspace, held: EnvironmentLock | None = None) -> Iterator[None]:
    """One run per environment at a time (EnvironmentBusyError for the second); `held`: already taken."""
    lock = held or workspace.site.lock().acquire()
    try:
        yield
    finally:
        lock.release()


def poll_policy(env: Environment, given: PollPolicy | None = None) -> PollPolicy:
    """How often to poll pending domains: a human verifies them in Sekoia.io; the sandbox's emulator in seconds."""
    from orchestrator.sekoia.connect import PollPolicy

    if given is not None:
        return given
    return PollPolicy(first=0.2, factor=1.5, maximum=1.0, tick=0.5) if env.config.sandbox else PollPolicy()


def confirm(options: Any, question: str) -> None:
    if options.yes:
        return
    if options.confirm is None:
        raise UsageError("there is no terminal to confirm on: re-run with --yes to apply without asking")
    if not options.confirm(question):
        raise UsageError("not confirmed: nothing was changed")


def credentials_reader(env: Environment, project_dir: Path, outputs: dict[str, Any]) -> Callable[[], list]:
    """Reads Entra ID's password credentials of the environment's application afresh at each call."""
    from orchestrator.entra.graph import open_graph
    from orchestrator.workflows.client_secret import read_credentials

    def read() -> list:
        with open_graph(env, project_dir) as graph:
            return read_credentials(graph, str(outputs["application_object_id"]))

    return read


def push(client: SekoiaClient, env: Environment, workspace: Workspace, runner: TerraformRunner,
         outputs: dict[str, Any], credentials: CredentialsReader | None, options: Any, console: Console,
         **connect_options: Any) -> Any:
    """client_secret.push_to_sekoia with the run's options; `connect_options` go through to connect."""
    from orchestrator.workflows.client_secret import push_to_sekoia

    return push_to_sekoia(client, env, workspace, runner, outputs, credentials=credentials,
                          reporter=console.reporter, wait=options.wait, timeout=options.timeout,
                          poll=poll_policy(env, options.poll), show_secret=getattr(options, "show_secret", False),
                          **connect_options)
