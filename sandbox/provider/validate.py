"""Config validation the real provider does on top of Terraform's own schema checks.

Terraform itself rejects unknown arguments, missing required ones, computed-only ones set and too
many blocks, from the schema alone. terraform-plugin-sdk v2 then checks, in the provider:
ConflictsWith, ExactlyOneOf, MinItems/MaxItems of collection attributes, deprecations, and each
attribute's ValidateFunc. The ValidateFuncs here are the ones the azuread v3.7.0 Go source
declares for the emulated types (see internal/services/**), with the same messages, so a value the
real provider refuses at `terraform validate` is refused here too.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from tf.types import Unknown
from tf.utils import Diagnostics

from sandbox.provider.schema import AttrSpec, BlockSpec, TypeSpec

Validator = Callable[[Any, str], list[str]]

_RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_uuid(value: Any, key: str) -> list[str]:
    if isinstance(value, str) and _UUID_RE.match(value):
        return []
    return [f"expected {_q(key)} to be a valid UUID, got {value}"]


def not_empty(value: Any, key: str) -> list[str]:
    if isinstance(value, str) and value != "":
        return []
    return [f"expected {_q(key)} to not be an empty string, got {value}"]


def one_of(*allowed: str) -> Validator:
    def check(value: Any, key: str) -> list[str]:
        if value in allowed:
            return []
        listed = " ".join(_q(a) for a in allowed)
        return [f"expected {key} to be one of [{listed}], got {value}"]

    return check


def length_between(low: int, high: int) -> Validator:
    def check(value: Any, key: str) -> list[str]:
        if isinstance(value, str) and low <= len(value) <= high:
            return []
        return [f"expected length of {key} to be in the range ({low} - {high}), got {value}"]

    return check


def rfc3339(value: Any, key: str) -> list[str]:
    if isinstance(value, str) and parse_rfc3339(value) is not None:
        return []
    return [
        f'expected {_q(key)} to be a valid RFC3339 date, got {_q(str(value))}: parsing time {_q(str(value))} '
        f'as "2006-01-02T15:04:05Z07:00": cannot parse'
    ]


def parse_rfc3339(value: str) -> datetime | None:
    """Parse an RFC 3339 timestamp with an explicit offset, as Go's time.RFC3339 does."""
    if not _RFC3339_RE.match(value):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def uri(schemes: tuple[str, ...], urn_allowed: bool, allow_trailing_slash: bool, force_trailing_slash: bool,
        max_length: int | None = None) -> Validator:
    """internal/helpers/tf/validation/uri.go IsUriFunc (+ the length check of IsRedirectUriFunc)."""

    def check(value: Any, key: str) -> list[str]:
        if not isinstance(value, str):
            return [f"expected a string value for {_q(key)}"]
        if value == "":
            return [f"URI must not be empty for {_q(key)}"]
        if urn_allowed:
            parts = value.split(":")
            if len(parts) >= 3 and parts[0] == "urn":
                return []
        try:
            parsed = urlsplit(value)
        except ValueError:
            return [f"URI is in an invalid format for {_q(key)}"]
        if not allow_trailing_slash and parsed.path == "/":
            return [f"URI must not have a trailing slash when there is no path segment for {_q(key)}"]
        if not parsed.netloc:
            return [f"URI has no host for {_q(key)}"]
        if schemes:
            if force_trailing_slash and parsed.path == "":
                return [f"URI must have a trailing slash when there is no path segment for {_q(key)}"]
            if parsed.scheme not in schemes:
                return [f"unexpected URI scheme for {_q(key)}, expected one of: {', '.join(schemes)}"]
        if max_length is not None and len(value) > max_length:
            return [f"URI must be {max_length} characters or less for {_q(key)}"]
        return []

    return check


def redirect_uri(urn_allowed: bool, allow_all_schemes: bool) -> Validator:
    schemes = () if allow_all_schemes else ("http", "https", "ms-appx-web", "brk-multihub")
    return uri(schemes, urn_allowed, True, True, max_length=256)


HTTP_URL = uri(("http", "https"), False, True, False)
LOGOUT_URL = uri(("http", "https"), False, True, False, max_length=255)


def application_resource_id(value: Any, key: str) -> list[str]:
    """go-azure-sdk stable.ValidateApplicationID: the v3 resource ID `/applications/{objectId}`."""
    if isinstance(value, str):
        segments = value.strip("/").split("/")
        if value.startswith("/") and len(segments) == 2 and segments[0] == "applications" and segments[1]:
            return []
    return [
        f'parsing {_q(str(value))}: parsing the Application ID: the number of segments didn\'t match\n\n'
        "Expected a Application ID that matched (containing 2 segments):\n\n"
        "> /applications/applicationId\n\n"
        "However this value was provided:\n\n"
        f"> {value}\n\n"
        "In azuread v3, application_id takes the application's resource ID (azuread_application.<name>.id), "
        "not its client ID."
    ]


SIGN_IN_AUDIENCES = ("AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount",
                     "PersonalMicrosoftAccount")

# type name → attribute path (block names then attribute name; "*" = each element) → validators
VALIDATORS: dict[str, dict[tuple[str, ...], list[Validator]]] = {
    "azuread_application": {
        ("display_name",): [not_empty],
        ("api", "known_client_applications", "*"): [is_uuid],
        ("api", "oauth2_permission_scope", "id"): [is_uuid],
        ("api", "oauth2_permission_scope", "admin_consent_description"): [not_empty],
        ("api", "oauth2_permission_scope", "admin_consent_display_name"): [not_empty],
        ("api", "oauth2_permission_scope", "type"): [one_of("Admin", "User")],
        ("api", "oauth2_permission_scope", "user_consent_description"): [not_empty],
        ("api", "oauth2_permission_scope", "user_consent_display_name"): [not_empty],
        ("app_role", "id"): [is_uuid],
        ("app_role", "allowed_member_types", "*"): [one_of("Application", "User")],
        ("app_role", "description"): [not_empty],
        ("app_role", "display_name"): [not_empty],
        ("description",): [length_between(0, 1024)],
        ("group_membership_claims", "*"): [
            one_of("All", "None", "ApplicationGroup", "DirectoryRole", "SecurityGroup")
        ],
        ("identifier_uris", "*"): [not_empty],
        ("notes",): [not_empty],
        ("owners", "*"): [is_uuid],
        ("password", "start_date"): [rfc3339],
        ("password", "end_date"): [rfc3339],
        ("public_client", "redirect_uris", "*"): [redirect_uri(True, True)],
        ("required_resource_access", "resource_access", "id"): [is_uuid],
        ("required_resource_access", "resource_access", "type"): [one_of("Role", "Scope")],
        ("sign_in_audience",): [one_of(*SIGN_IN_AUDIENCES)],
        ("single_page_application", "redirect_uris", "*"): [redirect_uri(False, False)],
        ("template_id",): [is_uuid],
        ("web", "homepage_url"): [HTTP_URL],
        ("web", "logout_url"): [LOGOUT_URL],
        ("web", "redirect_uris", "*"): [redirect_uri(True, False)],
    },
    "azuread_application_password": {
        ("application_id",): [application_resource_id],
        ("start_date",): [rfc3339],
        ("end_date",): [rfc3339],
        ("end_date_relative",): [not_empty],
    },
    "azuread_service_principal": {
        ("client_id",): [is_uuid],
        ("alternative_names", "*"): [not_empty],
        ("description",): [length_between(0, 1024)],
        ("login_url",): [HTTP_URL],
        ("notes",): [length_between(0, 1024)],
        ("notification_email_addresses", "*"): [not_empty],
        ("owners", "*"): [is_uuid],
        ("preferred_single_sign_on_mode",): [one_of("", "notSupported", "oidc", "password", "saml")],
        ("saml_single_sign_on", "relay_state"): [not_empty],
    },
    "azuread_app_role_assignment": {
        ("app_role_id",): [is_uuid],
        ("principal_object_id",): [is_uuid],
        ("resource_object_id",): [is_uuid],
    },
    "azuread_service_principal_delegated_permission_grant": {
        ("claim_values", "*"): [not_empty],
        ("resource_service_principal_object_id",): [is_uuid],
        ("service_principal_object_id",): [is_uuid],
        ("user_object_id",): [is_uuid],
    },
    "data.azuread_user": {
        ("employee_id",): [not_empty],
        ("mail",): [not_empty],
        ("mail_nickname",): [not_empty],
        ("object_id",): [is_uuid],
        ("user_principal_name",): [not_empty],
    },
    "data.azuread_group": {
        ("display_name",): [not_empty],
        ("object_id",): [is_uuid],
    },
    "data.azuread_service_principal": {
        ("object_id",): [is_uuid],
        ("display_name",): [not_empty],
        ("client_id",): [is_uuid],
    },
}


def _q(text: str) -> str:
    """Go's %q for the plain strings these messages quote."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def validate_config(diags: Diagnostics, spec: TypeSpec, config: dict[str, Any], validators_key: str) -> None:
    """Add the diagnostics SDKv2 would add for `config` (a type's config, unknowns included)."""
    if config is None:
        return
    _check_object(diags, spec.attributes, spec.blocks, config, (), [], top_level=config)
    table = VALIDATORS.get(validators_key, {})
    for path, checks in table.items():
        for key, steps, value in _values_at(config, path, (), []):
            for check in checks:
                for message in check(value, key):
                    diags.add_error(message, "", path=steps)


def _check_object(diags: Diagnostics, attributes: dict[str, AttrSpec], blocks: dict[str, BlockSpec],
                  value: dict[str, Any], prefix: tuple[str, ...], steps: list, top_level: dict[str, Any]) -> None:
    for name, spec in attributes.items():
        v = value.get(name)
        key = ".".join((*prefix, name))
        here = [*steps, name]
        if v is None:
            continue
        if not spec.required and not spec.optional:
            diags.add_error("Computed attributes cannot be set",
                            f"Computed attributes cannot be set, but a value was set for {_q(key)}.", path=here)
            continue
        if spec.deprecated:
            diags.add_warning("Argument is deprecated", _deprecation(name), path=here)
        if v is Unknown:
            continue
        for other in spec.conflicts_with:
            if value.get(other) not in (None, []):
                diags.add_error("Conflicting configuration arguments", f"{_q(key)}: conflicts with {other}",
                                path=here)
        if isinstance(v, list):
            if spec.max_items is not None and len(v) > spec.max_items:
                diags.add_error(
                    "Too many list items",
                    f"Attribute {key} supports {spec.max_items} item maximum, but config has {len(v)} declared.",
                    path=here,
                )
            if spec.min_items is not None and len(v) < spec.min_items:
                diags.add_error(
                    "Not enough list items",
                    f"Attribute {key} requires {spec.min_items} item minimum, but config has only {len(v)} declared.",
                    path=here,
                )
    for name, spec in attributes.items():
        if spec.exactly_one_of and name == sorted(spec.exactly_one_of)[0] and not prefix:
            _exactly_one_of(diags, sorted(set(spec.exactly_one_of) | {name}), top_level)
    for name, spec in blocks.items():
        v = value.get(name)
        if v is None or v is Unknown or v == []:
            continue
        here = [*steps, name]
        if spec.deprecated:
            diags.add_warning("Argument is deprecated", _deprecation(name), path=here)
        for other in spec.conflicts_with:
            if value.get(other) not in (None, []):
                diags.add_error("Conflicting configuration arguments",
                                f"{_q('.'.join((*prefix, name)))}: conflicts with {other}", path=here)
        elements = [v] if spec.nesting == "single" else v
        for index, element in enumerate(elements):
            if isinstance(element, dict):
                _check_object(diags, spec.attributes, spec.blocks, element, (*prefix, name, str(index)),
                              [*here, (index,)] if spec.nesting == "list" else here, top_level)


def _exactly_one_of(diags: Diagnostics, keys: list[str], config: dict[str, Any]) -> None:
    specified = [k for k in keys if config.get(k) is not None and config.get(k) is not Unknown]
    unknown = [k for k in keys if config.get(k) is Unknown]
    joined = ",".join(keys)
    if not specified and not unknown:
        diags.add_error("Invalid combination of arguments", f"{_q(keys[0])}: one of `{joined}` must be specified",
                        path=[keys[0]])
    elif len(specified) > 1:
        diags.add_error(
            "Invalid combination of arguments",
            f"{_q(specified[0])}: only one of `{joined}` can be specified, but `{','.join(specified)}` were specified.",
            path=[specified[0]],
        )


_DEPRECATIONS = {
    "end_date_relative": "The `end_date_relative` property is deprecated and will be removed in a future version "
    "of the AzureAD provider. Please instead use the Terraform `timeadd()` function to calculate a value for the "
    "`end_date` property.",
    "features": "This block has been renamed to `feature_tags` and will be removed in version 3.0 of the provider",
}


def _deprecation(name: str) -> str:
    return _DEPRECATIONS.get(name, f"`{name}` is deprecated.")


def _values_at(value: Any, path: tuple[str, ...], prefix: tuple[str, ...], steps: list
               ) -> Iterator[tuple[str, list, Any]]:
    """Every known value at `path` in `value`, with its SDKv2 key (web.0.redirect_uris.1) and path steps."""
    if value is None or value is Unknown:
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if not isinstance(value, list):
            return
        for index, element in enumerate(value):
            if element is not None and element is not Unknown:
                yield ".".join((*prefix, str(index))), [*steps, (index,)], element
        return
    if not isinstance(value, dict):
        return
    child = value.get(head)
    if child is None or child is Unknown:
        return
    if not rest:
        yield ".".join((*prefix, head)), [*steps, head], child
        return
    if isinstance(child, list) and rest[0] != "*":
        for index, element in enumerate(child):
            yield from _values_at(element, rest, (*prefix, head, str(index)), [*steps, head, (index,)])
    else:
        yield from _values_at(child, rest, (*prefix, head), [*steps, head])

