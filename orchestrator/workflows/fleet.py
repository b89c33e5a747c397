"""The environments of a repository side by side: `sekoia-sso list`.

Read from the files alone (envs/*.yaml and the committed renders): no Terraform, no network, so
it answers in CI before any credential is set, and a matrix of jobs can be built from its --json.
An environment whose file does not load is a row too, with the reason, never a stop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from orchestrator.errors import SekoiaSSOError


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

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "problem": self.problem, "region": self.region,
                "community_uuid": self.community_uuid, "tenant_id": self.tenant_id, "backend": self.backend,
                "sandbox": self.sandbox, "render_current": self.render_current}

    def line(self) -> str:
        if self.problem:
            return f"{self.name:<16} PROBLEM  {self.problem.splitlines()[0]}"
        render = "current" if self.render_current else "STALE (run `sekoia-sso render " + self.name + "`)"
        return (f"{self.name:<16} {self.region:<6} community {self.community_uuid}  tenant {self.tenant_id}  "
                f"{self.backend}  render {render}")


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
                          render_current=current), env


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
