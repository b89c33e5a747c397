"""`plan --format markdown`: the plan's JSON document as Markdown, on plans recorded by tests/data/record_plans.py.

No Terraform runs here: plan_markdown() is a pure function of the document `plan --json` prints.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.terraform.markdown import escape, plan_markdown
from orchestrator.terraform.planview import PlanSummary

DATA = Path(__file__).parents[1] / "data"
SENSITIVE_VALUE = "s3cr3t-recorded-value"  # held in clear by the recordings (see record_plans.py)
NAMED_SECRET_VALUE = "unmarked-but-named-secret"
RECORDED = sorted(path.stem for path in DATA.glob("plan_*.json"))
NO_SECRET_PLAN = {"apply_will": [], "rotation_due": False, "replaces_held_secret": False,
                  "application_replaced": False}


def document(name: str, **client_secret: object) -> dict:
    """What `sekoia-sso plan ENV --json` prints for the recorded plan `name`."""
    summary = PlanSummary.from_json_text((DATA / f"{name}.json").read_text())
    return {**json.loads(summary.to_json()), "client_secret": {**NO_SECRET_PLAN, **client_secret}}


def cells(line: str) -> list[str]:
    """A table row's cells, split on the `|` that are not escaped, as GitHub's renderer splits them."""
    return re.split(r"(?<!\\)\|", line.strip())[1:-1]


def assert_tables_hold(markdown: str) -> None:
    """Every row of every table has as many cells as its header: no value broke out of its cell."""
    header: list[str] | None = None
    for line in markdown.splitlines():
        if not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = cells(line)
        assert len(cells(line)) == len(header), f"a row with {len(cells(line))} cells under {header}: {line}"


@pytest.mark.parametrize("name", RECORDED)
def test_every_recorded_plan_renders_without_a_secret_and_with_whole_tables(name):
    shown = plan_markdown(document(name), environment="prod")
    assert shown.startswith("### sekoia-sso plan: prod\n")
    assert SENSITIVE_VALUE not in shown
    assert NAMED_SECRET_VALUE not in shown
    assert_tables_hold(shown)
    assert "| Entra ID (Terraform) |" in shown and "| Sekoia.io |" in shown


def test_the_mixed_plan_lists_each_resource_with_its_action_and_the_counts():
    doc = document("plan_mixed")
    shown = plan_markdown(doc)
    counts = doc["counts"]
    summary_cell = next(line for line in shown.splitlines() if line.startswith("| Entra ID (Terraform) |"))
    for action in ("create", "update", "replace", "delete"):
        if counts[action]:
            assert f"{counts[action]} to {action}" in summary_cell
    for change in doc["resource_changes"]:
        row = next(line for line in shown.splitlines() if escape(change["address"]) in line)
        assert escape(change["action"]) in row
    assert "#### Entra ID changes (Terraform)" in shown
    assert "input.password: (sensitive)" in shown  # named, its value never shown
    assert "to replace: check them before merging" in shown  # the mixed plan replaces: a warning says so


def test_no_changes_says_so_and_has_no_change_tables():
    shown = plan_markdown(document("plan_no_changes"))
    assert "| Entra ID (Terraform) | no changes |" in shown
    assert "#### Entra ID changes" not in shown
    assert "#### Warnings" not in shown


def test_the_secret_plan_and_its_warnings_are_shown():
    doc = document("plan_no_changes", apply_will=["rotate the client secret (12 days left, inside the 30-day window)"],
                   rotation_due=True, replaces_held_secret=True)
    shown = plan_markdown(doc)
    assert "#### Client secret" in shown
    assert "rotate the client secret (12 days left, inside the 30-day window)" in shown
    assert "replaces the client secret Sekoia.io holds" in shown


def test_a_sensitive_change_never_shows_a_value_even_when_one_slipped_into_the_document():
    doc = document("plan_no_changes")
    doc["resource_changes"] = [{"address": "azuread_application_password.this", "action": "update",
                                "attributes": [{"path": "value", "sensitive": True, "before": "LEAKED-1",
                                                "after": "LEAKED-2"}]}]
    doc["output_changes"] = [{"name": "client_secret", "action": "update", "sensitive": True, "after": "LEAKED-3"}]
    shown = plan_markdown(doc)
    assert "LEAKED" not in shown
    assert shown.count("(sensitive)") == 2


HOSTILE = "a|b <script>alert(1)</script> [click](https://evil.example) ![x](https://evil.example/p.png)\n# h"


def test_values_from_config_are_escaped_table_pipes_html_links_and_newlines():
    doc = document("plan_no_changes")
    doc["resource_changes"] = [{"address": 'module.sso.azuread_group.this["ops|team"]', "action": "create",
                                "reason": HOSTILE, "attributes": [{"path": "display_name", "before": None,
                                                                   "after": HOSTILE}]}]
    doc["warnings"] = [HOSTILE]
    shown = plan_markdown(doc, environment="prod|<b>")
    assert_tables_hold(shown)
    assert "<script" not in shown and "<b>" not in shown
    assert "&lt;script&gt;" in shown
    assert "](" not in shown.replace("\\](", "")  # no link or image can form: every `]` is escaped
    assert not any(line.startswith("# h") for line in shown.splitlines())  # the newline did not start a heading
    assert "ops\\|team" in shown


def test_long_values_are_shortened_but_our_own_lines_are_not():
    doc = document("plan_no_changes", apply_will=["x" * 200])
    doc["resource_changes"] = [{"address": "a.b", "action": "update",
                                "attributes": [{"path": "p", "before": "y" * 200, "after": "z"}]}]
    shown = plan_markdown(doc)
    assert "y" * 200 not in shown and "y" * 50 in shown
    assert "x" * 200 in shown


def test_the_combined_plan_shows_the_sekoia_half_when_the_document_carries_it():
    doc = document("plan_no_changes")
    doc["sekoia"] = {"domains": [{"name": "contoso.example", "status": "missing", "action": "add"}],
                     "domains_to_add": ["contoso.example"],
                     "sso": {"write": True, "changes": [{"field": "client_id", "current": None, "wanted": "abc"}],
                             "foreign_client_id": None, "take_over": False},
                     "secret": {"push": True, "reason": "Sekoia.io holds no secret yet"}}
    shown = plan_markdown(doc)
    assert "| Sekoia.io | 1 domain(s) to add, OIDC settings written (1 field(s) differ), the client secret pushed |" \
        in shown
    assert "| domain contoso.example | missing → add |" in shown
    assert_tables_hold(shown)


def test_format_and_json_that_disagree_are_refused_before_anything_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["plan", "prod", "--json", "--format", "markdown"])
    assert result.exit_code == 2
    assert "--json means --format json" in result.output
