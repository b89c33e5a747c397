"""Can this tenant assign a group to an application? Entra ID needs P1 or P2 for it.

Read from `GET /v1.0/subscribedSkus` (Microsoft Graph; application permission LicenseAssignment.Read.All,
or Organization.Read.All / Directory.Read.All): the tenant can when an enabled subscription holds an
enabled `AAD_PREMIUM` (P1) or `AAD_PREMIUM_P2` service plan. Without it the assignment of each group
fails halfway through an apply (Graph answers 403 to POST appRoleAssignedTo), so the preflight and the
combined plan of `apply` say so first, and `apply` refuses before it writes anything.

When the identity may not read the subscriptions, the answer is "unknown": said, never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from orchestrator.errors import GraphError, SekoiaSSOError

if TYPE_CHECKING:
    from orchestrator.config.schema import Environment
    from orchestrator.entra.graph import GraphClient
    from orchestrator.terraform.planview import PlanSummary

PREMIUM_SERVICE_PLANS = ("AAD_PREMIUM", "AAD_PREMIUM_P2")
# capabilityStatus of a subscription that still works: Warning is the grace period after expiry
_LIVE_SUBSCRIPTIONS = {"enabled", "warning"}
# A plan counts unless it is switched off: one still provisioning counts too, as a wrong "no" would block
# apply with no way round, where a wrong "yes" only lets Graph refuse the group as it would anyway
_OFF_PLANS = {"disabled", "suspended", "deleted", "lockedout"}
READ_PERMISSION = "LicenseAssignment.Read.All (or Organization.Read.All)"


@dataclass(frozen=True)
class GroupAssignmentLicence:
    """What subscribedSkus says of group assignment: licensed (and by which plans), not, or unknown (why)."""

    licensed: bool | None             # None: could not be read
    plans: tuple[str, ...] = ()       # the premium service plans found, e.g. ("AAD_PREMIUM",)
    unknown_because: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"licensed": self.licensed, "premiumPlans": list(self.plans), "unknownBecause": self.unknown_because}

    def describe(self) -> str:
        if self.licensed:
            return f"this tenant can assign groups (Entra ID {', '.join(self.plans)})"
        if self.licensed is None:
            return f"could not tell whether this tenant can assign groups: {self.unknown_because}"
        return "this tenant CANNOT assign groups: it has no Entra ID P1 or P2 licence"


def read_group_licence(graph: GraphClient) -> GroupAssignmentLicence:
    try:
        body = graph.get("/subscribedSkus", {"$select": "skuPartNumber,capabilityStatus,servicePlans"})
    except GraphError as exc:
        if exc.status == 403:
            return GroupAssignmentLicence(None, unknown_because=f"the identity may not read the tenant's "
                                                                f"subscriptions (needs {READ_PERMISSION})")
        raise
    skus = body.get("value")
    if not isinstance(skus, list):
        raise GraphError("Microsoft Graph answered GET /subscribedSkus without a list of subscriptions")
    plans = sorted({str(plan.get("servicePlanName"))
                    for sku in skus if isinstance(sku, dict)
                    and str(sku.get("capabilityStatus", "")).lower() in _LIVE_SUBSCRIPTIONS
                    for plan in (sku.get("servicePlans") or ()) if isinstance(plan, dict)
                    and plan.get("servicePlanName") in PREMIUM_SERVICE_PLANS
                    and str(plan.get("provisioningStatus", "")).lower() not in _OFF_PLANS})
    return GroupAssignmentLicence(bool(plans), tuple(plans))


class GroupAssignmentUnlicensedError(SekoiaSSOError):
    """access.groups is set but the tenant has no Entra ID P1/P2: nothing was written (exit 1)."""

    def __init__(self, env: Environment):
        groups = env.config.access.groups
        super().__init__(
            f"{env.path}: access.groups lists {len(groups)} group(s), but tenant {env.config.tenant_id} has no "
            "Entra ID P1 or P2 licence (its subscriptions hold no AAD_PREMIUM or AAD_PREMIUM_P2 plan), and Entra "
            "ID assigns a group to an application only with one. Either assign the users themselves (list them "
            "under access.users, by user principal name or object ID, and remove access.groups), or get Entra "
            "ID P1 or P2 for the tenant. Nothing was changed.")


def check_group_licence(graph: GraphClient, env: Environment) -> GroupAssignmentLicence | None:
    """The licence verdict when `access.groups` lists any group (None when it lists none: nothing to check)."""
    if not env.config.access.groups:
        return None
    return read_group_licence(graph)


def refuse_unlicensed(env: Environment, licence: GroupAssignmentLicence | None) -> None:
    """GroupAssignmentUnlicensedError when the tenant is known to lack P1/P2 and groups are listed."""
    if licence is not None and licence.licensed is False:
        raise GroupAssignmentUnlicensedError(env)


def plan_assigns_group(summary: PlanSummary) -> bool:
    """Whether a Terraform plan of the module creates (or replaces) the assignment of a group."""
    from orchestrator.entra.adopt import ASSIGNMENT

    return any(change.address.startswith(ASSIGNMENT + '"group:') and change.action in ("create", "replace")
               for change in summary.resource_changes)
