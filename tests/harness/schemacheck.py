"""Check resource and data blocks of .tf files against the azuread 3.7.0 schema data.

What `terraform validate` would refuse with the real provider: a missing required argument,
an unknown argument or block, a computed-only argument set, a block nested wrongly or
written more often than its max items.
"""

from __future__ import annotations

import json
from pathlib import Path

import hcl2

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "orchestrator/data/azuread-3.7.0-schema.json").read_text())
META_ARGUMENTS = {"count", "for_each", "depends_on", "provider", "lifecycle", "provisioner", "connection"}


def _name(key: str) -> str:
    return key.strip('"')


def _is_block(value: object) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get("__is_block__") for v in value)


def _check_body(body: dict, schema: dict, where: str, problems: list[str]) -> None:
    attributes = schema.get("attributes", {})
    blocks = schema.get("blocks", {})
    written_blocks: dict[str, int | None] = {}
    for key, value in body.items():
        if key == "__is_block__" or key in META_ARGUMENTS:
            continue
        if key == "timeouts" and schema.get("timeouts") is not None:
            continue
        if key == "dynamic":
            for dynamic in value:
                for block_name, spec in dynamic.items():
                    block_name = _name(block_name)
                    written_blocks[block_name] = None  # repeated by for_each: count unknown
                    if block_name in blocks:
                        for content in spec.get("content", []):
                            _check_body(content, blocks[block_name], f"{where}.{block_name}", problems)
                    else:
                        problems.append(f"{where}: unknown block {block_name!r}")
            continue
        if _is_block(value):
            if key not in blocks:
                kind = "an argument, not a block" if key in attributes else "unknown block"
                problems.append(f"{where}: {key!r} is {kind}")
                continue
            spec = blocks[key]
            if spec.get("mode") == "C":
                problems.append(f"{where}: block {key!r} is computed-only (read-only)")
            written_blocks[key] = len(value) if written_blocks.get(key, 0) is not None else None
            for item in value:
                _check_body(item, spec, f"{where}.{key}", problems)
            continue
        if key not in attributes:
            kind = "a block, not an argument" if key in blocks else "unknown argument"
            problems.append(f"{where}: {key!r} is {kind}")
        elif attributes[key]["mode"] == "C":
            problems.append(f"{where}: {key!r} is computed-only and cannot be set")
    for key, spec in attributes.items():
        if spec["mode"] == "R" and key not in body:
            problems.append(f"{where}: required argument {key!r} is missing")
    for key, spec in blocks.items():
        count = written_blocks.get(key, 0)
        if count is None:
            continue
        if spec.get("max_items") is not None and count > spec["max_items"]:
            problems.append(f"{where}: block {key!r} written {count} times, at most {spec['max_items']} allowed")
        if (spec.get("mode") == "R" or spec.get("min_items")) and count < max(1, spec.get("min_items") or 1):
            problems.append(f"{where}: required block {key!r} is missing")


def check_file(path: Path) -> tuple[int, list[str]]:
    """Returns (azuread blocks checked, problems)."""
    with path.open(encoding="utf-8") as handle:
        document = hcl2.load(handle)
    problems: list[str] = []
    checked = 0
    for section, kinds in (("resource", SCHEMA["resources"]), ("data", SCHEMA["data_sources"])):
        for entry in document.get(section, []):
            for type_key, named in entry.items():
                type_name = _name(type_key)
                if not type_name.startswith("azuread_"):
                    continue
                for name_key, body in named.items():
                    where = f"{path}: {section} {type_name}.{_name(name_key)}"
                    if type_name not in kinds:
                        problems.append(f"{where}: type not in the azuread 3.7.0 schema data")
                        continue
                    checked += 1
                    _check_body(body, kinds[type_name], where, problems)
    return checked, problems
