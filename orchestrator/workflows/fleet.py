"""The environments of a repository side by side: `sekoia-sso list`.

Read from the files alone (envs/*.yaml and the committed renders): no Terraform, no network, so
it answers in CI before any credential is set, and a matrix of jobs can be built from its --json.
An environment whose file does not load is a row too, with the reason, never a stop.
"""

from __future__ import annotations

from dataclasses import dataclass
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


def environment_row(project_dir: Path, name: str) -> EnvironmentRow:
    from orchestrator.config.loading import load_environment
    from orchestrator.render import diff_rendered, render_environment

    try:
        env = load_environment(project_dir, name)
        current = not diff_rendered(render_environment(env, project_dir), project_dir)
    except SekoiaSSOError as exc:
        return EnvironmentRow(name, problem=str(exc))
    sekoia = env.config.sekoia
    return EnvironmentRow(name, region=sekoia.region, community_uuid=sekoia.community_uuid,
                          tenant_id=env.config.tenant_id, backend=_backend(env), sandbox=env.config.sandbox,
                          render_current=current)


def list_environments(project_dir: Path) -> list[EnvironmentRow]:
    """Every envs/*.yaml, by name; two that name one Sekoia.io community are each a problem (ownership.py)."""
    from dataclasses import replace

    from orchestrator.config.envfile import environment_names

    rows = [environment_row(project_dir, name) for name in environment_names(project_dir)]
    holders: dict[str, list[str]] = {}
    for row in rows:
        if row.community_uuid:
            holders.setdefault(row.community_uuid.lower(), []).append(row.name)
    return [replace(row, problem=f"sekoia.community_uuid {row.community_uuid} is named by "
                    f"{' and '.join(holders[row.community_uuid.lower()])}: one environment owns one community")
            if row.community_uuid and len(holders[row.community_uuid.lower()]) > 1 else row
            for row in rows]
