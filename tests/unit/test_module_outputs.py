"""The module's outputs are written in three places: the module (outputs.tf), what every rendered root
passes through (render.py), and what the orchestrator reads from the root (sekoia/settings.py, the
secret's ledger, status, apply). This ties them: an output added, renamed or made sensitive in one
place and not in the others fails here, not in a user's first apply."""

from __future__ import annotations

import ast
import re

import hcl2

from orchestrator.render import MODULE_OUTPUTS, RECORD_OUTPUTS
from orchestrator.sekoia.settings import REQUIRED_OUTPUTS
from tests.harness.project import REPO

MODULE = REPO / "terraform" / "modules" / "sekoia-sso"


def _module_outputs() -> dict[str, bool]:
    """name → sensitive, in the order outputs.tf declares them."""
    with (MODULE / "outputs.tf").open() as handle:
        blocks = hcl2.load(handle)["output"]
    return {name.strip('"'): body.get("sensitive") is True for block in blocks for name, body in block.items()}


def _root_outputs() -> set[str]:
    return {name for name, _ in MODULE_OUTPUTS} | {name for name, _ in RECORD_OUTPUTS}


def test_every_rendered_root_passes_through_each_module_output_with_its_sensitivity():
    assert dict(MODULE_OUTPUTS) == _module_outputs()
    assert [name for name, _ in MODULE_OUTPUTS] == list(_module_outputs())  # the same order: diffs read alike


def test_the_committed_roots_declare_exactly_those_outputs():
    for root in (REPO / "terraform" / "envs").iterdir():
        with (root / "outputs.tf").open() as handle:
            declared = {name.strip('"') for block in hcl2.load(handle)["output"] for name in block}
        assert declared == _root_outputs(), root.name


def test_what_the_orchestrator_reads_from_the_outputs_is_declared():
    assert set(REQUIRED_OUTPUTS) <= _root_outputs()
    read = set()
    for path in (REPO / "orchestrator").rglob("*.py"):
        source = path.read_text()
        # outputs["name"], outputs.get("name"), outputs_or_none().get("name"), object_id("name")
        read |= set(re.findall(r'outputs(?:\(\))?(?:\.get\(|\[)"([a-z_]+)"', source))
        read |= set(re.findall(r'object_id\("([a-z_]+)"\)', source))
        tree = ast.parse(source)
        for node in ast.walk(tree):  # names kept in constants, e.g. PUSHED_VARIABLE = "sekoia_pushed_secret_key_id"
            if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                    and isinstance(node.value.value, str) and node.value.value.endswith("_key_id")):
                read.add(node.value.value)
    assert read, "the patterns above no longer find how the orchestrator reads outputs"
    assert read - _root_outputs() == set()
