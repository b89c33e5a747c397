"""`sekoia-sso destroy`: SSO disabled in Sekoia.io (only when it points at this environment's
application), domains removed on request, then Terraform destroy."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.config.schema import Environment
from orchestrator.console import Console
from orchestrator.errors import SekoiaSSOError
from orchestrator.secret import reveal
from orchestrator.terraform.workspace import Workspace
from orchestrator.workflows.common import environment_lock


@dataclass
class DestroyOptions:
    remove_domains: bool = False
    sekoia_client_options: dict[str, Any] = field(default_factory=dict)


def destroy_environment(project_dir: Path, env: Environment, options: DestroyOptions, console: Console) -> dict:
    """Disable SSO (only when it points at this environment's application), then Terraform destroy."""
    from orchestrator.errors import SekoiaRouteMissingError
    from orchestrator.sekoia.client import SekoiaClient
    from orchestrator.sekoia.ownership import foreign_holder, owner_of
    from orchestrator.sekoia.settings import SsoSettings

    workspace = Workspace(env, project_dir)
    community = env.config.sekoia.community_uuid
    with environment_lock(workspace):
        runner = workspace.initialised_runner(on_line=console.terraform_line)
        ours = str(reveal(runner.outputs().get("client_id")) or "")
        with SekoiaClient.for_environment(env, workspace.endpoints, **options.sekoia_client_options) as client:
            console.step("Disabling SSO in Sekoia.io")
            try:
                held = client.read_sso(community)
            except SekoiaRouteMissingError:
                held = None  # no read route: the disable below says whether it has one
                foreign = None
            else:
                foreign = foreign_holder(SsoSettings.from_answer(held).client_id if held else None, (ours,))
            sso = "left"
            if foreign:
                console.note(f"SSO of community {community} points at another application (client ID {foreign}, "
                             f"{owner_of(project_dir, foreign, exclude=env.name)}): left as it is, and so are the "
                             "domains; going on with this environment's own teardown")
            else:
                console.note("accounts created through SSO can only log in through SSO: they cannot log in until "
                             "it is enabled again")
                try:
                    disabled = client.disable_sso(community)
                except SekoiaRouteMissingError as exc:
                    raise SekoiaSSOError(
                        f"Sekoia.io's API has no route to disable SSO ({exc.method} {exc.path} answered "
                        f"{exc.status}): disable it in Settings > Community > SSO first, then re-run destroy. "
                        "Nothing was destroyed.") from None
                sso = "disabled" if disabled else "not configured"
                console.note("SSO disabled" if disabled else "SSO was not configured")
            removed = []
            if options.remove_domains and not foreign:
                for item in client.domains(community):
                    if item.get("name") in env.config.sekoia.domains:
                        client.remove_domain(community, item["uuid"])
                        removed.append(item["name"])
                        console.note(f"domain {item['name']} removed")
            elif not foreign:
                console.note("domains are left registered (--remove-domains removes them)")
        console.step("Destroying the Terraform resources")
        runner.destroy()
    console.result(f"Environment {env.name} is destroyed: Entra ID application, secret and assignments removed.")
    if foreign:
        console.result(f"Sekoia.io's SSO was left as it was: it points at another application (client ID {foreign}).")
    return {"environment": env.name, "status": "destroyed", "domains_removed": removed, "sso": sso,
            "foreign_client_id": foreign}
