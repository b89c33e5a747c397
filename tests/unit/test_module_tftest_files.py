"""The module's `terraform test` files, read without Terraform: what they cover and that they run as
they are with the real azuread provider (tests/integration/test_module_tftest.py runs them)."""

from __future__ import annotations

import re

import hcl2

from tests.harness.module import MODULE
from tests.harness.project import REPO

TEST_FILES = sorted(path.name for path in (MODULE / "tests").glob("*.tftest.hcl"))


def test_the_test_files_cover_the_secret_slots_assignments_outputs_and_validations():
    assert {"validations.tftest.hcl", "outputs.tftest.hcl", "secret_slots.tftest.hcl",
            "assignments.tftest.hcl"} <= set(TEST_FILES)


def _validations_per_variable() -> dict[str, int]:
    with (MODULE / "variables.tf").open() as handle:
        blocks = hcl2.load(handle)["variable"]
    return {name.strip('"'): len(body.get("validation", [])) for block in blocks for name, body in block.items()}


def test_each_validation_of_each_variable_has_a_refused_value_in_the_tests():
    """A validation added to variables.tf without a run expecting it to fail fails here."""
    text = (MODULE / "tests" / "validations.tftest.hcl").read_text()
    refused = re.findall(r"expect_failures\s*=\s*\[var\.(\w+)\]", text)
    for variable, validations in _validations_per_variable().items():
        assert refused.count(variable) >= validations, (
            f"variables.tf has {validations} validation(s) of {variable}, "
            f"tests/validations.tftest.hcl refuses {refused.count(variable)} value(s) of it")
    assert set(refused) <= set(_validations_per_variable())


def test_the_tests_use_no_sandbox_only_setting():
    """Unchanged with the real provider: mocks only, no provider configuration, no sandbox address."""
    for name in TEST_FILES:
        text = (MODULE / "tests" / name).read_text()
        assert 'mock_provider "azuread"' in text, name
        assert not re.search(r'^\s*provider\s+"azuread"', text, re.M), name
        assert "127.0.0.1" not in text and "sandbox" not in text.lower(), name


def test_every_checkov_suppression_says_why():
    """`make lint` runs checkov; a finding is fixed, or skipped inline with its ID and a reason."""
    skips = []
    for path in sorted((REPO / "terraform").rglob("*")):
        if path.is_file() and ".terraform" not in path.parts and path.suffix in {".tf", ".hcl"}:
            skips += [(path, line) for line in path.read_text().splitlines() if "checkov:skip" in line]
    for path, line in skips:
        assert re.search(r"#checkov:skip=CKV_\w+: \S.{10,}", line), f"{path}: {line.strip()}"
