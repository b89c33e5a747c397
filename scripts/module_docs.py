"""Regenerate the inputs/outputs tables of terraform/modules/sekoia-sso/README.md.

The tables sit between `<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->` and are never
edited by hand. `python scripts/module_docs.py --check` exits 1 when they are stale.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import hcl2

MODULE = Path(__file__).resolve().parent.parent / "terraform" / "modules" / "sekoia-sso"
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"


def _text(value: object) -> str:
    """python-hcl2 keeps the quotes of string literals and wraps expressions in ${...}."""
    if isinstance(value, str):
        if value.startswith('"') and value.endswith('"'):
            return json.loads(value)
        if value.startswith("${") and value.endswith("}"):
            return value[2:-1]
        return value
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(_text(item)) for item in value) + "]"
    return json.dumps(value)


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def tables() -> str:
    variables = hcl2.load((MODULE / "variables.tf").open())["variable"]
    outputs = hcl2.load((MODULE / "outputs.tf").open())["output"]
    lines = ["## Inputs", "", "| name | description | type | default | required |", "| --- | --- | --- | --- | --- |"]
    for block in variables:
        ((name, body),) = block.items()
        default = body.get("default", None)
        required = "default" not in body
        shown = "" if required else f"`{_text(default) if default is not None else 'null'}`"
        lines.append(
            f"| `{_text(name)}` | {_cell(_text(body['description']))} | `{_cell(_text(body['type']))}` | "
            f"{_cell(shown)} | {'yes' if required else 'no'} |"
        )
    lines += ["", "## Outputs", "", "| name | description | sensitive |", "| --- | --- | --- |"]
    for block in outputs:
        ((name, body),) = block.items()
        sensitive = "yes" if body.get("sensitive") else "no"
        lines.append(f"| `{_text(name)}` | {_cell(_text(body['description']))} | {sensitive} |")
    return "\n".join(lines)


def updated_readme(readme: str) -> str:
    head, _, rest = readme.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n{tables()}\n{END}{tail}"


def main() -> int:
    path = MODULE / "README.md"
    current = path.read_text(encoding="utf-8")
    fresh = updated_readme(current)
    if "--check" in sys.argv[1:]:
        if fresh != current:
            print(f"{path} tables are stale: run python scripts/module_docs.py", file=sys.stderr)
            return 1
        return 0
    path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
