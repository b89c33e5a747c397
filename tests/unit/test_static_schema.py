from pathlib import Path

import pytest

from tests.harness.project import REPO
from tests.harness.schemacheck import check_file

TF_FILES = sorted(p for p in (REPO / "terraform").rglob("*.tf") if ".terraform" not in p.parts)


def test_there_are_files_to_check():
    names = {p.relative_to(REPO).as_posix() for p in TF_FILES}
    assert "terraform/modules/sekoia-sso/main.tf" in names
    assert "terraform/envs/sandbox/main.tf" in names and "terraform/envs/example-prod/versions.tf" in names


@pytest.mark.parametrize("path", TF_FILES, ids=[p.relative_to(REPO).as_posix() for p in TF_FILES])
def test_every_tf_file_parses_and_matches_the_azuread_schema(path: Path):
    _, problems = check_file(path)
    assert problems == []


def test_the_module_uses_each_azuread_type_it_needs():
    checked, _ = check_file(REPO / "terraform/modules/sekoia-sso/main.tf")
    assert checked == 9  # 5 resource types, 4 data sources


BROKEN = {
    "misspelled argument": ('resource "azuread_application" "x" {\n  display_nam = "a"\n}\n',
                            ["unknown argument", "required argument 'display_name'"]),
    "computed-only set": ('resource "azuread_application" "x" {\n  display_name = "a"\n  client_id = "b"\n}\n',
                          ["'client_id' is computed-only"]),
    "two web blocks": ('resource "azuread_application" "x" {\n  display_name = "a"\n  web {}\n  web {}\n}\n',
                       ["block 'web' written 2 times, at most 1"]),
    "block as argument": ('resource "azuread_application" "x" {\n  display_name = "a"\n  web = []\n}\n',
                          ["'web' is a block, not an argument"]),
    "v2 name": ('resource "azuread_service_principal" "x" {\n  application_id = "a"\n}\n',
                ["'application_id' is unknown argument", "required argument 'client_id'"]),
    "missing nested required": ('resource "azuread_application" "x" {\n  display_name = "a"\n'
                                '  required_resource_access {\n    resource_app_id = "b"\n  }\n}\n',
                                ["required block 'resource_access' is missing"]),
    "computed block": ('resource "azuread_service_principal" "x" {\n  client_id = "a"\n  app_roles {}\n}\n',
                       ["block 'app_roles' is computed-only"]),
}


@pytest.mark.parametrize("case", BROKEN)
def test_the_checker_catches_what_terraform_validate_would(tmp_path, case):
    text, fragments = BROKEN[case]
    path = tmp_path / "main.tf"
    path.write_text(text)
    _, problems = check_file(path)
    joined = "\n".join(problems)
    for fragment in fragments:
        assert fragment in joined
