"""The azuread 3.7.0 schemas of the emulated types, generated from orchestrator/data/azuread-3.7.0-schema.json.

The data file describes each type the way the real (SDKv2) provider declares it: attributes with a
type expression and a mode (R required, O optional, OC optional+computed, C computed), nested
blocks with their nesting (list/set), min/max items, sensitive and force-new flags, defaults.
This module turns it into:

- `TypeSpec` trees the provider walks to plan, validate and shape state, and
- `tf.schema.Schema` objects (the `tf` framework's classes) served to Terraform.

Translation rules, the same ones terraform-plugin-sdk v2 applies when it serves a schema:
- a block whose mode is C (computed-only) is served as a computed attribute of type
  list(object({...})), never as a block;
- list blocks are served with the protocol's LIST nesting (the framework only knows SET and
  SINGLE), so `web` is a list of at most one block as in the real provider;
- every resource gets the `timeouts` block (SINGLE nesting) the real provider has;
- `alias` in the provider block is Terraform's meta-argument, not a provider attribute.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from tf import schema as tfschema
from tf import types as tftypes
from tf.gen import tfplugin_pb2 as pb
from tf.types import Unknown

SCHEMA_DATA_PACKAGE = "orchestrator"
SCHEMA_DATA_FILE = "data/azuread-3.7.0-schema.json"

RESOURCE_TYPES = (
    "azuread_application",
    "azuread_application_password",
    "azuread_service_principal",
    "azuread_app_role_assignment",
    "azuread_service_principal_delegated_permission_grant",
)
DATA_SOURCE_TYPES = (
    "azuread_client_config",
    "azuread_user",
    "azuread_group",
    "azuread_service_principal",
)

# SchemaVersion of each resource in the provider's Go source at v3.7.0: state written by the real
# provider carries these versions, and a lower one would make Terraform ask for an upgrade.
SCHEMA_VERSIONS = {
    "azuread_application": 2,
    "azuread_application_password": 1,
    "azuread_service_principal": 1,
    "azuread_app_role_assignment": 1,
    "azuread_service_principal_delegated_permission_grant": 1,
}

NO_DEFAULT = object()


# ----------------------------------------------------------------------------------------------
# cty type expressions
# ----------------------------------------------------------------------------------------------

CtyType = Any  # "string" | "bool" | "number" | (kind, element) | ("object", {name: CtyType})


def parse_type(expr: str) -> CtyType:
    """Parse the data file's type expressions: string, bool, number, list(T), set(T), map(T)."""
    expr = expr.strip()
    if expr in ("string", "bool", "number"):
        return expr
    for kind in ("list", "set", "map"):
        if expr.startswith(kind + "(") and expr.endswith(")"):
            return (kind, parse_type(expr[len(kind) + 1 : -1]))
    raise ValueError(f"unsupported type expression in schema data: {expr!r}")


class ObjectType(tftypes.TfType):
    """cty object type: what a computed-only SDKv2 block becomes on the wire."""

    def __init__(self, attribute_types: dict[str, tftypes.TfType]):
        self.attribute_types = attribute_types

    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def tf_type(self) -> bytes:
        parts = ",".join(
            f"{json.dumps(name)}:{t.tf_type().decode()}" for name, t in sorted(self.attribute_types.items())
        )
        return f'["object",{{{parts}}}]'.encode()


def tf_type(cty: CtyType) -> tftypes.TfType:
    if cty == "string":
        return tftypes.String()
    if cty == "bool":
        return tftypes.Bool()
    if cty == "number":
        return tftypes.Number()
    kind, element = cty
    if kind == "list":
        return tftypes.List(tf_type(element))
    if kind == "set":
        return tftypes.Set(tf_type(element))
    if kind == "map":
        return tftypes.Map(tf_type(element))
    if kind == "object":
        return ObjectType({name: tf_type(t) for name, t in element.items()})
    raise ValueError(f"unsupported cty type {cty!r}")


def zero_value(cty: CtyType) -> Any:
    """The Go zero value SDKv2 stores when the API returns nothing for an attribute."""
    if cty == "string":
        return ""
    if cty == "bool":
        return False
    if cty == "number":
        return 0
    kind, _ = cty
    if kind == "map":
        return {}
    if kind == "object":
        return None
    return []


def is_zero(value: Any) -> bool:
    """Null or a Go zero value: SDKv2 does not tell these apart from an unset attribute."""
    if value is None or value is False or value == "" or value == [] or value == {}:
        return True
    return isinstance(value, int | float) and not isinstance(value, bool) and value == 0


# ----------------------------------------------------------------------------------------------
# Specs
# ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttrSpec:
    name: str
    type: CtyType
    mode: str  # R, O, OC, C
    description: str | None = None
    sensitive: bool = False
    force_new: bool = False
    deprecated: bool = False
    default: Any = NO_DEFAULT
    min_items: int | None = None
    max_items: int | None = None
    conflicts_with: tuple[str, ...] = ()
    exactly_one_of: tuple[str, ...] = ()

    @property
    def required(self) -> bool:
        return self.mode == "R"

    @property
    def optional(self) -> bool:
        return self.mode in ("O", "OC")

    @property
    def computed(self) -> bool:
        return self.mode in ("OC", "C")

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


@dataclass(frozen=True)
class BlockSpec:
    name: str
    nesting: str  # list, set, single
    mode: str  # R, O, OC
    attributes: dict[str, AttrSpec] = field(default_factory=dict)
    blocks: dict[str, BlockSpec] = field(default_factory=dict)
    min_items: int | None = None
    max_items: int | None = None
    deprecated: bool = False
    conflicts_with: tuple[str, ...] = ()

    @property
    def computed(self) -> bool:
        return self.mode == "OC"


@dataclass(frozen=True)
class TypeSpec:
    """One resource type, data source type or the provider block."""

    name: str
    attributes: dict[str, AttrSpec]
    blocks: dict[str, BlockSpec]
    version: int = 0

    def conform(self, value: dict[str, Any]) -> dict[str, Any]:
        """`value` with exactly this type's keys (see `conform`)."""
        return conform(self.attributes, self.blocks, value)

    def to_tf_schema(self) -> tfschema.Schema:
        return tfschema.Schema(
            version=self.version,
            attributes=[_tf_attribute(a) for a in self.attributes.values()],
            block_types=[_tf_block(b) for b in self.blocks.values()],
        )


def _default(raw: str, cty: CtyType) -> Any:
    if cty == "bool":
        return raw == "true"
    if cty == "number":
        return int(raw) if raw.lstrip("-").isdigit() else float(raw)
    return raw


def _attr_spec(name: str, raw: dict[str, Any]) -> AttrSpec:
    cty = parse_type(raw["type"])
    return AttrSpec(
        name=name,
        type=cty,
        mode=raw["mode"],
        description=raw.get("desc"),
        sensitive=bool(raw.get("sensitive")),
        force_new=bool(raw.get("force_new")),
        deprecated=bool(raw.get("deprecated")),
        default=_default(raw["default"], cty) if "default" in raw else NO_DEFAULT,
        min_items=raw.get("min_items"),
        max_items=raw.get("max_items"),
        conflicts_with=tuple(raw.get("conflicts_with", ())),
        exactly_one_of=tuple(raw.get("exactly_one_of", ())),
    )


def _object_type(raw_block: dict[str, Any]) -> CtyType:
    members: dict[str, CtyType] = {name: parse_type(a["type"]) for name, a in raw_block.get("attributes", {}).items()}
    for name, nested in raw_block.get("blocks", {}).items():
        members[name] = ("list", _object_type(nested))
    return ("object", members)


def _members(raw: dict[str, Any]) -> tuple[dict[str, AttrSpec], dict[str, BlockSpec]]:
    attributes = {name: _attr_spec(name, a) for name, a in sorted(raw.get("attributes", {}).items())}
    blocks: dict[str, BlockSpec] = {}
    for name, b in sorted(raw.get("blocks", {}).items()):
        if b["mode"] == "C":
            attributes[name] = AttrSpec(
                name=name,
                type=("list", _object_type(b)),
                mode="C",
                description=b.get("desc"),
                deprecated=bool(b.get("deprecated")),
            )
            continue
        nested_attributes, nested_blocks = _members(b)
        blocks[name] = BlockSpec(
            name=name,
            nesting=b["nesting"],
            mode=b["mode"],
            attributes=nested_attributes,
            blocks=nested_blocks,
            min_items=b.get("min_items", 1 if b["mode"] == "R" else None),
            max_items=b.get("max_items"),
            deprecated=bool(b.get("deprecated")),
            conflicts_with=tuple(b.get("conflicts_with", ())),
        )
    return dict(sorted(attributes.items())), blocks


def _timeouts_block(operations: list[str]) -> BlockSpec:
    return BlockSpec(
        name="timeouts",
        nesting="single",
        mode="O",
        attributes={op: AttrSpec(name=op, type="string", mode="O") for op in sorted(operations)},
    )


@cache
def schema_data() -> dict[str, Any]:
    text = resources.files(SCHEMA_DATA_PACKAGE).joinpath(SCHEMA_DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


def _type_spec(name: str, raw: dict[str, Any], version: int) -> TypeSpec:
    attributes, blocks = _members(raw)
    if raw.get("timeouts"):
        blocks["timeouts"] = _timeouts_block(raw["timeouts"])
    return TypeSpec(name=name, attributes=attributes, blocks=dict(sorted(blocks.items())), version=version)


@cache
def resource_spec(type_name: str) -> TypeSpec:
    return _type_spec(type_name, schema_data()["resources"][type_name], SCHEMA_VERSIONS[type_name])


@cache
def data_source_spec(type_name: str) -> TypeSpec:
    return _type_spec(type_name, schema_data()["data_sources"][type_name], 0)


@cache
def provider_spec() -> TypeSpec:
    raw = schema_data()["provider_block"]
    attributes = {
        name: _attr_spec(name, a) for name, a in sorted(raw["attributes"].items()) if name != "alias"
    }
    return TypeSpec(name="provider", attributes=attributes, blocks={})


def provider_env_vars() -> dict[str, tuple[str, ...]]:
    """Attribute name → environment variables the real provider falls back to, in order."""
    raw = schema_data()["provider_block"]["attributes"]
    return {name: tuple(a.get("env", ())) for name, a in raw.items() if a.get("env")}


# ----------------------------------------------------------------------------------------------
# tf framework schema objects
# ----------------------------------------------------------------------------------------------


class NestedBlock(tfschema.NestedBlock):
    """A nested block with any protocol nesting mode (the framework itself serves only SET/SINGLE)."""

    _nesting = {
        "list": pb.Schema.NestedBlock.NestingMode.LIST,
        "set": pb.Schema.NestedBlock.NestingMode.SET,
        "single": pb.Schema.NestedBlock.NestingMode.SINGLE,
    }

    def __init__(self, spec: BlockSpec):
        block = tfschema.Block(
            attributes=[_tf_attribute(a) for a in spec.attributes.values()],
            block_types=[NestedBlock(b) for b in spec.blocks.values()],
            deprecated=spec.deprecated or None,
        )
        mode = tfschema.NestMode.Single if spec.nesting == "single" else tfschema.NestMode.Set
        super().__init__(spec.name, mode, block, min_items=spec.min_items, max_items=spec.max_items)
        self.spec = spec

    def to_pb(self) -> pb.Schema.NestedBlock:
        message = super().to_pb()
        message.nesting = self._nesting[self.spec.nesting]
        return message

    # Values are handled as plain msgpack-decoded Python by this provider.
    def encode(self, value: Any) -> Any:
        return value

    def decode(self, value: Any) -> Any:
        return value

    def semantically_equal(self, a_decoded: Any, b_decoded: Any) -> bool:
        return a_decoded == b_decoded


def _tf_attribute(spec: AttrSpec) -> tfschema.Attribute:
    return tfschema.Attribute(
        spec.name,
        tf_type(spec.type),
        description=spec.description,
        required=spec.required,
        optional=spec.optional,
        computed=spec.computed,
        sensitive=spec.sensitive,
        deprecated=spec.deprecated or None,
        requires_replace=spec.force_new,
        default=spec.default if spec.has_default else Unknown,
    )


def _tf_block(spec: BlockSpec) -> NestedBlock:
    return NestedBlock(spec)


# ----------------------------------------------------------------------------------------------
# Values: every object must carry every attribute and block of its schema
# ----------------------------------------------------------------------------------------------


def conform_cty(cty: CtyType, value: Any) -> Any:
    if value is None or value is Unknown or isinstance(cty, str):
        return value
    kind, element = cty
    if kind in ("list", "set"):
        return [conform_cty(element, v) for v in value]
    if kind == "map":
        return {k: conform_cty(element, v) for k, v in value.items()}
    return {name: conform_cty(t, value.get(name)) for name, t in element.items()}


def conform(attributes: dict[str, AttrSpec], blocks: dict[str, BlockSpec], value: dict[str, Any]) -> dict[str, Any]:
    """Return `value` with exactly the schema's keys: missing attributes null, missing blocks empty."""
    out: dict[str, Any] = {}
    for name, spec in attributes.items():
        out[name] = conform_cty(spec.type, value.get(name))
    for name, spec in blocks.items():
        out[name] = conform_block(spec, value.get(name))
    return out


def conform_block(spec: BlockSpec, value: Any) -> Any:
    if value is Unknown:
        return value
    if spec.nesting == "single":
        return None if value is None else conform(spec.attributes, spec.blocks, value)
    return [conform(spec.attributes, spec.blocks, v) for v in (value or [])]

