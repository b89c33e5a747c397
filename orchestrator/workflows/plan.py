"""`sekoia-sso plan`: the Terraform plan of one environment, summarised, and what apply would do to the secret.

    planned = plan_environment(project_dir, environment, on_line=print)
    planned.document()      # the --json document (one dict: `plan --json`, `plan --all --json`'s rows)
    planned.text()          # what `plan ENV` prints
    plan_document(project_dir, environment)   # the same document in one call

Every view of a plan (text, JSON, a fleet's row) is built from the one `EnvironmentPlan`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from orchestrator.config.schema import Environment
    from orchestrator.entra.licences import GroupAssignmentLicence
    from orchestrator.terraform.planview import PlanSummary
    from orchestrator.workflows.client_secret import SecretPlan


@dataclass(frozen=True)
class EnvironmentPlan:
    summary: PlanSummary
    secret: SecretPlan
    licence: GroupAssignmentLicence | None = None  # None: access.groups lists no group

    def document(self) -> dict[str, Any]:
        """Terraform's summary plus `client_secret`: what apply will do to it (README, `plan --json`)."""
        document = self.summary.to_dict()
        document["client_secret"] = {"apply_will": self.secret.lines(), "rotation_due": self.secret.rotation_due,
                                     "replaces_held_secret": self.secret.threatened,
                                     "application_replaced": self.secret.application_replaced}
        document["group_assignment"] = None if self.licence is None else self.licence.to_dict()
        return document

    def text(self) -> str:
        text = self.summary.render_text() + "".join(f"Client secret: {line}\n" for line in self.secret.lines())
        if self.licence is not None:
            from orchestrator.entra.licences import plan_assigns_group

            refusal = (": apply will refuse. Assign the users under access.users instead, or get Entra ID P1 or P2"
                       if self.licence.licensed is False and plan_assigns_group(self.summary) else "")
            text += f"Entra ID licence: {self.licence.describe()}{refusal}\n"
        return text

    def headline(self) -> str:
        """One line for a fleet's table: the counts, or that nothing changes."""
        return plan_headline(self.document())


def plan_headline(document: dict[str, Any]) -> str:
    """`2 to create, 1 to update` (actions that touch something), drift and a due rotation; from the document."""
    counts = document.get("counts", {})
    shown = [f"{count} to {action}" for action, count in counts.items() if count]
    line = ", ".join(shown) if shown else "no changes"
    if document.get("output_changes") and not shown:
        line = f"{len(document['output_changes'])} output(s) change"
    if document.get("drift"):
        line += f"; {len(document['drift'])} changed outside Terraform"
    secret = document.get("client_secret", {})
    if secret.get("rotation_due"):
        line += "; secret rotation due"
    if secret.get("replaces_held_secret"):
        line += "; replaces the secret Sekoia.io holds"
    return line


def plan_environment(project_dir: Path, environment: Environment, *,
                     on_line: Callable[[str], None] | None = None) -> EnvironmentPlan:
    """Plan `environment` (refused when its committed render is stale) and read what apply does to its secret."""
    from orchestrator.terraform.workspace import Workspace
    from orchestrator.workflows.client_secret import Ledger, SecretPlan

    workspace = Workspace(environment, project_dir)
    workspace.require_current_render()
    runner = workspace.initialised_runner(on_line=on_line)
    result = runner.plan(workspace.plan_path)
    summary = runner.show_plan(result.plan_path)
    # What apply would do to the client secret besides the plan: a rotation inside the window, a move
    # off a secret the plan replaces (from the state alone: Graph is read only for the licence below).
    secret = SecretPlan.of(Ledger.read(runner.outputs()), summary, applied=True,
                           rotate_before_days=environment.config.secret.rotate_before_days)
    return EnvironmentPlan(summary, secret, _group_licence(project_dir, environment))


def _group_licence(project_dir: Path, environment: Environment) -> GroupAssignmentLicence | None:
    """May the tenant assign the listed groups? None when none are listed; unknown when Graph cannot be asked."""
    from orchestrator.entra.graph import open_graph
    from orchestrator.entra.licences import GroupAssignmentLicence, check_group_licence
    from orchestrator.errors import SekoiaSSOError

    if not environment.config.access.groups:
        return None
    try:
        with open_graph(environment, project_dir) as graph:
            return check_group_licence(graph, environment)
    except SekoiaSSOError as exc:  # no credentials for Graph, Graph down: the plan stands without it
        return GroupAssignmentLicence(None, unknown_because=f"Microsoft Graph could not be read ({exc})")


def plan_document(project_dir: Path, environment: Environment, *,
                  on_line: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The plan's JSON document (`plan --json`), from which every other format is built."""
    return plan_environment(project_dir, environment, on_line=on_line).document()
