"""Mappings more than one azuread type shares: app roles and OAuth2 scopes to state, values to IDs, feature tags."""

from __future__ import annotations

from typing import Any

from tf.types import Unknown


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
