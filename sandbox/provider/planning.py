"""Plans and state shaping with the semantics of terraform-plugin-sdk v2, which the real provider uses.

SDKv2 providers answer Terraform with the "legacy type system" flag, and their plans differ from a
strict provider's in ways users rely on every day:
- an optional attribute with a Default is planned with that default (`sign_in_audience`);
- an unset optional attribute equals its zero value: state holding "" / false / [] for an
  attribute the config leaves out is no change;
- Optional+Computed blocks absent from config keep their prior value (`feature_tags`);
- `web`, `api`, `optional_claims`... absent from config are no change while the application's
  block is empty (the provider's DiffSuppressFunc), because Graph always returns those objects;
- computed attributes are unknown on create, and kept on update unless a CustomizeDiff says
  otherwise;
- a change of a ForceNew attribute requires replacement.
State written by reads carries zero values, never nulls, for what the API returned nothing for.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from tf.types import Unknown

from sandbox.provider.schema import AttrSpec, BlockSpec, TypeSpec, is_zero, zero_value


def plan(spec: TypeSpec, prior: dict[str, Any] | None, proposed: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Return the planned state and the top-level attributes whose change requires replacement."""
    planned = _plan_object(spec.attributes, spec.blocks, proposed, prior)
    if prior is None:
        return planned, []
    replace = [
        name
        for name, attr in spec.attributes.items()
        if attr.force_new and not same_value(prior.get(name), planned.get(name))
    ]
    return planned, replace


def same_value(a: Any, b: Any) -> bool:
    """Equality of two decoded values, lists compared as sets (most are), unknown equal to nothing."""
    if a is Unknown or b is Unknown:
        return False
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(_canonical, a)) == sorted(map(_canonical, b))
    return _canonical(a) == _canonical(b)


def _canonical(value: Any) -> str:
    # Key order differs between Terraform's encoding and ours; unknowns compare by their repr.
    return json.dumps(value, sort_keys=True, default=repr)


def _plan_object(attributes: dict[str, AttrSpec], blocks: dict[str, BlockSpec], proposed: dict[str, Any],
                 prior: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, attr in attributes.items():
        value = proposed.get(name)
        before = prior.get(name) if prior is not None else None
        if value is None:
            if attr.has_default:
                value = attr.default
            elif attr.computed:
                # Known after apply on create; on update, what the prior state holds (SDKv2 keeps it).
                value = Unknown if prior is None else before
            elif prior is not None and before is not None and is_zero(before):
                value = before
        out[name] = value
    for name, block in blocks.items():
        before = prior.get(name) if prior is not None else None
        out[name] = _plan_block(block, proposed.get(name), before)
    return out


def _plan_block(block: BlockSpec, value: Any, before: Any) -> Any:
    if value is Unknown:
        return value
    if block.nesting == "single":
        if value is None:
            return None
        return _plan_object(block.attributes, block.blocks, value, before if isinstance(before, dict) else None)
    value = value or []
    before = before if isinstance(before, list) else []
    if not value and before:
        if block.computed:
            return copy.deepcopy(before)
        if block.max_items == 1 and len(before) == 1 and block_is_empty(block, before[0]):
            return copy.deepcopy(before)
    planned = []
    for index, element in enumerate(value):
        if element is Unknown:
            planned.append(element)
            continue
        if block.nesting == "list":
            match = before[index] if index < len(before) else None
        else:
            match = _matching_element(block, element, before)
        planned.append(_plan_object(block.attributes, block.blocks, element, match))
    return planned


def _matching_element(block: BlockSpec, element: dict[str, Any], candidates: list[dict[str, Any]]) -> Any:
    """The prior set element this config element stands for: all its set, known values equal."""
    for candidate in candidates:
        if all(
            value is None or value is Unknown or same_value(value, candidate.get(name))
            for name, value in element.items()
            if name in block.attributes
        ):
            return candidate
    return None


def block_is_empty(block: BlockSpec, element: Any) -> bool:
    """Whether a block holds nothing but zero or default values (what Graph returns for 'not set')."""
    if not isinstance(element, dict):
        return True
    for name, attr in block.attributes.items():
        value = element.get(name)
        if attr.has_default and value == attr.default:
            continue
        if not is_zero(value):
            return False
    for name, nested in block.blocks.items():
        value = element.get(name)
        elements = [value] if nested.nesting == "single" else (value or [])
        if any(not block_is_empty(nested, e) for e in elements if e is not None):
            return False
    return True


# ----------------------------------------------------------------------------------------------
# State after create/read/update
# ----------------------------------------------------------------------------------------------


def finalize_state(spec: TypeSpec, state: dict[str, Any]) -> dict[str, Any]:
    """Every key present; no unknowns; computed attributes never null (SDKv2 stores zero values)."""
    return _finalize_object(spec.attributes, spec.blocks, state)


def _finalize_object(attributes: dict[str, AttrSpec], blocks: dict[str, BlockSpec],
                     value: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, attr in attributes.items():
        v = value.get(name)
        if v is Unknown:
            v = None
        if v is None and attr.computed:
            v = zero_value(attr.type)
        out[name] = _finalize_cty(attr.type, v)
    for name, block in blocks.items():
        v = value.get(name)
        if block.nesting == "single":
            out[name] = None if v is None or v is Unknown else _finalize_object(block.attributes, block.blocks, v)
        else:
            elements = v if isinstance(v, list) else []
            out[name] = [_finalize_object(block.attributes, block.blocks, e) for e in elements if isinstance(e, dict)]
    return out


def _finalize_cty(cty: Any, value: Any) -> Any:
    if value is None or isinstance(cty, str):
        return value
    kind, element = cty
    if kind in ("list", "set"):
        return [_finalize_cty(element, v) for v in value if v is not Unknown]
    if kind == "map":
        return {k: _finalize_cty(element, v) for k, v in value.items() if v is not Unknown}
    return {name: _finalize_cty(t, value.get(name)) for name, t in element.items()}


# Unknown-aware reads of planned values: an Unknown (known only after apply) reads as absent.
def known_value(value: Any, default: Any = None) -> Any:
    return default if value is None or value is Unknown else value


def known_strings(value: Any) -> list[str]:
    return [v for v in known_value(value, []) if v is not None and v is not Unknown]


def none_if_empty(value: Any) -> Any:
    value = known_value(value)
    return value if value not in ("", None) else None
