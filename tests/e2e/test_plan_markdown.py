"""`sekoia-sso plan ENV --format markdown|json` on the sandbox, with real Terraform: what a CI job summary gets."""

from __future__ import annotations

import json

from orchestrator.terraform.markdown import escape, plan_markdown
from tests.harness.e2e import apply, runs_fixture  # noqa: F401 - the fixture `runs`
from tests.unit.test_plan_markdown import assert_tables_hold


def changes(document: dict) -> list[tuple[str, str]]:
    return [(change["address"], change["action"]) for change in document["resource_changes"]]


def test_markdown_is_the_json_documents_rendering_and_stdout_holds_it_alone(runs):
    as_json = runs("plan", "sandbox", "--json")
    assert as_json.returncode == 0, as_json.err
    as_format_json = runs("plan", "sandbox", "--format", "json")
    assert as_format_json.returncode == 0, as_format_json.err
    document = json.loads(as_json.out)
    # --json is the alias of --format json (each plan has its own dates: the secrets' end dates follow the clock)
    assert changes(json.loads(as_format_json.out)) == changes(document)

    markdown = runs("plan", "sandbox", "--format", "markdown")
    assert markdown.returncode == 0, markdown.err
    expected = plan_markdown(document, environment="sandbox")
    assert markdown.out.splitlines()[:8] == expected.splitlines()[:8]  # the same summary table
    for change in document["resource_changes"]:
        assert escape(change["address"]) in markdown.out
    assert markdown.out.startswith("### sekoia-sso plan: sandbox\n")  # no Terraform line on stdout
    assert "module.sekoia\\_sso.azuread\\_application\\_password.this\\[\"blue\"\\]" in markdown.out
    assert_tables_hold(markdown.out)
    assert "Terraform" in markdown.err or markdown.err == ""  # progress stays on stderr

    done = apply(runs, "--quiet")
    assert done.returncode == 0, done.err
    # A CI runner's read-only checkout: the plan's working data goes to the cache, as for --json.
    again = runs("plan", "sandbox", "--format", "markdown", read_only=[runs.project])
    assert again.returncode == 0, again.err
    assert "| Entra ID (Terraform) | no changes |" in again.out
    assert "#### Entra ID changes" not in again.out


def test_a_failed_markdown_plan_leaves_stdout_empty_and_a_failed_format_json_one_prints_one_document(runs):
    (runs.project / "terraform" / "envs" / "sandbox" / "main.tf").write_text("# edited by hand\n")  # a stale render
    markdown = runs("plan", "sandbox", "--format", "markdown")
    assert markdown.returncode == 1, markdown.err
    assert markdown.out == ""
    assert "sekoia-sso render sandbox" in markdown.err
    as_json = runs("plan", "sandbox", "--format", "json")
    assert as_json.returncode == 1
    assert json.loads(as_json.out)["status"] == "failed"
