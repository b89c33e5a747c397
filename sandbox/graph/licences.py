"""The tenant's licences, as Graph shows them: GET /v1.0/subscribedSkus, and the rule that assigning a
group to an application needs Entra ID P1 or P2.

A tenant is premium when its fixture says so (`tenant.entraIdPremium`, default true) or a test sets
`TenantState.entra_id_premium`; its subscribed SKUs are then one Entra ID P1 subscription, else one
Microsoft 365 subscription without an Entra ID premium plan (a fixture may list its own under
`tenant.subscribedSkus`). Shapes: microsoft-graph-docs `resources/subscribedsku.md`,
`resources/serviceplaninfo.md`; SKU and plan identifiers from Microsoft's "Product names and service
plan identifiers for licensing" table.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from sandbox.graph.odata import GraphError

# The service plans that carry Entra ID P1 and P2: a group may be assigned when one is enabled.
PREMIUM_SERVICE_PLANS = frozenset({"AAD_PREMIUM", "AAD_PREMIUM_P2"})


def _sku(part_number: str, sku_id: str, *plans: tuple[str, str, str]) -> dict[str, Any]:
    """A subscribedSku as Graph lists it: its part number, ID and (plan ID, plan name, appliesTo) plans."""
    return {"skuPartNumber": part_number, "skuId": sku_id,
            "servicePlans": [{"servicePlanId": plan_id, "servicePlanName": name, "provisioningStatus": "Success",
                              "appliesTo": applies_to} for plan_id, name, applies_to in plans]}


_EXCHANGE_FOUNDATION = ("113feb6c-3fe4-4440-bddc-54d774bf0318", "EXCHANGE_S_FOUNDATION", "Company")
_PREMIUM_SKU = _sku("AAD_PREMIUM", "078d2b04-f1bd-4111-bbd4-b4b1b354cef4",
                    ("41781fb2-bc02-4b7c-bd55-b576c07bb09d", "AAD_PREMIUM", "User"), _EXCHANGE_FOUNDATION)
_BASIC_SKU = _sku("O365_BUSINESS_ESSENTIALS", "3b555118-da6a-4418-894f-7df1e2096870",
                  ("9aaf7827-d63c-4b61-89c3-182f06f82e5c", "EXCHANGE_S_STANDARD", "User"), _EXCHANGE_FOUNDATION)


def subscribed_skus(tenant: Mapping[str, Any], premium: bool) -> list[dict[str, Any]]:
    """The tenant's subscriptions in Graph's subscribedSku shape."""
    if "subscribedSkus" in tenant:
        return copy.deepcopy(list(tenant["subscribedSkus"]))
    sku = _PREMIUM_SKU if premium else _BASIC_SKU
    return [{
        "accountId": tenant["id"], "accountName": tenant.get("displayName"), "appliesTo": "User",
        "capabilityStatus": "Enabled", "consumedUnits": 5, "id": f"{tenant['id']}_{sku['skuId']}",
        "prepaidUnits": {"enabled": 25, "suspended": 0, "warning": 0, "lockedOut": 0},
        "servicePlans": copy.deepcopy(sku["servicePlans"]), "skuId": sku["skuId"],
        "skuPartNumber": sku["skuPartNumber"], "subscriptionIds": [],
    }]


def group_assignment_refused() -> GraphError:
    """Graph's licence refusal. Microsoft documents that group-based assignment needs P1/P2 but not the
    answer to a group POSTed to appRoleAssignedTo without it; this is the answer Graph gives to the other
    group operation reserved to premium tenants (a directory role given to a group), see sandbox/README.md."""
    return GraphError(403, "Authorization_RequestDenied",
                      "Only companies who have purchased AAD Premium may perform this operation.")


def refuse_group_without_premium(principal_kind: str, premium: bool) -> None:
    """Graph's answer to a group assigned to an application in a tenant without Entra ID P1/P2."""
    if principal_kind == "group" and not premium:
        raise group_assignment_refused()
