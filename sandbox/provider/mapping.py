"""Mappings more than one azuread type shares: app roles and OAuth2 scopes to state, values to IDs, feature
tags, and a service principal's state (the resource's and the data source's)."""

from __future__ import annotations

from typing import Any

from tf.types import Unknown

from sandbox.provider.planning import known_strings, known_value, same_value


def flatten_app_roles(roles: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "id": r.get("id") or "",
            "allowed_member_types": list(r.get("allowedMemberTypes") or []),
            "description": r.get("description") or "",
            "display_name": r.get("displayName") or "",
            "enabled": bool(r.get("isEnabled")),
            "value": r.get("value") or "",
        }
        for r in roles or []
    ]


def flatten_scopes(scopes: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [
        {
            "admin_consent_description": s.get("adminConsentDescription") or "",
            "admin_consent_display_name": s.get("adminConsentDisplayName") or "",
            "id": s.get("id") or "",
            "enabled": bool(s.get("isEnabled")),
            "type": s.get("type") or "",
            "user_consent_description": s.get("userConsentDescription") or "",
            "user_consent_display_name": s.get("userConsentDisplayName") or "",
            "value": s.get("value") or "",
        }
        for s in scopes or []
    ]


def ids_by_value(items: list[dict[str, Any]] | None) -> dict[str, str]:
    return {i["value"]: i["id"] for i in items or [] if i.get("value") and i.get("id")}


_FEATURE_TAGS = {
    "custom_single_sign_on": "WindowsAzureActiveDirectoryCustomSingleSignOnApplication",
    "enterprise": "WindowsAzureActiveDirectoryIntegratedApp",
    "gallery": "WindowsAzureActiveDirectoryGalleryApplicationNonPrimaryV1",
    "hide": "HideApp",
}
_DEPRECATED_FEATURES = {
    "custom_single_sign_on_app": "custom_single_sign_on",
    "enterprise_application": "enterprise",
    "gallery_application": "gallery",
}


def flatten_features(tags: list[str] | None, deprecated: bool = False) -> list[dict[str, bool]]:
    lowered = {t.lower() for t in tags or []}
    current = {name: tag.lower() in lowered for name, tag in _FEATURE_TAGS.items()}
    if not deprecated:
        return [current]
    return [{
        "custom_single_sign_on_app": current["custom_single_sign_on"],
        "enterprise_application": current["enterprise"],
        "gallery_application": current["gallery"],
        "visible_to_users": not current["hide"],
    }]


def expand_features(blocks: Any) -> list[str]:
    if not blocks or blocks is Unknown or not isinstance(blocks[0], dict):
        return []
    features = blocks[0]
    tags = []
    for name, tag in _FEATURE_TAGS.items():
        legacy = next((old for old, new in _DEPRECATED_FEATURES.items() if new == name), None)
        if features.get(name) is True or (legacy and features.get(legacy) is True):
            tags.append(tag)
    if "hide" not in features and features.get("visible_to_users") is False and "HideApp" not in tags:
        tags.append("HideApp")
    return tags


def features_set(blocks: Any) -> bool:
    return bool(blocks) and blocks is not Unknown and any(
        v is True or (k == "visible_to_users" and v is False) for b in blocks if isinstance(b, dict)
        for k, v in b.items()
    )


def planned_tags(planned: dict[str, Any], prior: dict[str, Any] | None, *feature_attributes: str) -> list[str]:
    """The tags to send: those of the first feature block (in the order given) that is set and, on update,
    changed; else the `tags` attribute."""
    for attribute in feature_attributes:
        blocks = planned.get(attribute)
        if features_set(blocks) and (prior is None or not same_value(prior.get(attribute), blocks)):
            return expand_features(blocks)
    return known_strings(planned.get("tags"))


def flatten_service_principal(sp: dict[str, Any], owners: list[str] | None, current: dict[str, Any],
                              data_source: bool = False) -> dict[str, Any]:
    app_id = sp.get("appId") or ""
    saml = sp.get("samlSingleSignOnSettings")
    state = {
        "id": f"/servicePrincipals/{sp['id']}",
        "account_enabled": bool(sp.get("accountEnabled")),
        "alternative_names": list(sp.get("alternativeNames") or []),
        "app_role_assignment_required": bool(sp.get("appRoleAssignmentRequired")),
        "app_role_ids": ids_by_value(sp.get("appRoles")),
        "app_roles": flatten_app_roles(sp.get("appRoles")),
        "application_tenant_id": sp.get("appOwnerOrganizationId") or "",
        "client_id": app_id,
        "description": sp.get("description") or "",
        "display_name": sp.get("displayName") or "",
        "feature_tags": flatten_features(sp.get("tags")),
        "features": flatten_features(sp.get("tags"), deprecated=True),
        "homepage_url": sp.get("homepage") or "",
        "login_url": sp.get("loginUrl") or "",
        "logout_url": sp.get("logoutUrl") or "",
        "notes": sp.get("notes") or "",
        "notification_email_addresses": list(sp.get("notificationEmailAddresses") or []),
        "oauth2_permission_scope_ids": ids_by_value(sp.get("oauth2PermissionScopes")),
        "oauth2_permission_scopes": flatten_scopes(sp.get("oauth2PermissionScopes")),
        "object_id": sp["id"],
        "preferred_single_sign_on_mode": sp.get("preferredSingleSignOnMode") or "",
        "redirect_uris": list(sp.get("replyUrls") or []),
        "saml_metadata_url": sp.get("samlMetadataUrl") or "",
        "saml_single_sign_on": [] if saml is None else [{"relay_state": saml.get("relayState") or ""}],
        "service_principal_names": [n for n in sp.get("servicePrincipalNames") or [] if n.lower() != app_id.lower()],
        "sign_in_audience": sp.get("signInAudience") or "",
        "tags": list(sp.get("tags") or []),
        "type": sp.get("servicePrincipalType") or "",
    }
    if not data_source:
        state["owners"] = owners or []
        state["use_existing"] = known_value(current.get("use_existing"))
        state["timeouts"] = current.get("timeouts")
    return state
