"""The plan summary, parsed from `terraform show -json` plans recorded by tests/data/record_plans.py.

No Terraform runs here: the parser is a pure function of the JSON.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator.terraform.planview import PlanSummary, action_of

DATA = Path(__file__).parents[1] / "data"
# The fake secrets the recorded plans hold in clear (see record_plans.py).
SENSITIVE_VALUE = "s3cr3t-recorded-value"
NAMED_SECRET_VALUE = "unmarked-but-named-secret"
RECORDED = sorted(path.stem for path in DATA.glob("plan_*.json"))


def load(name: str) -> PlanSummary:
    return PlanSummary.from_json_text((DATA / f"{name}.json").read_text())


def attributes(summary: PlanSummary, address: str) -> dict[str, dict]:
    change = next(change for change in summary.resource_changes if change.address == address)
    return {attribute.path: attribute.to_dict() for attribute in change.attributes}


def test_every_scenario_is_recorded():
    assert RECORDED == ["plan_create", "plan_destroy", "plan_mixed", "plan_moved_forget", "plan_no_changes"]


@pytest.mark.parametrize("name", [name for name in RECORDED if name != "plan_moved_forget"])
def test_no_sensitive_value_reaches_the_summary(name):
    raw = (DATA / f"{name}.json").read_text()
    assert SENSITIVE_VALUE in raw  # the recording does hold it: the test can fail
    summary = load(name)
    shown = summary.to_json() + summary.render_text() + repr(summary)
    assert SENSITIVE_VALUE not in shown
    assert NAMED_SECRET_VALUE not in shown


def test_create_lists_attributes_with_values_and_masks_the_sensitive_one():
    summary = load("plan_create")
    assert summary.has_changes
    assert [(c.address, c.action) for c in summary.resource_changes] == [("terraform_data.app", "create")]
    assert attributes(summary, "terraform_data.app") == {
        "id": {"path": "id", "before": None, "after_unknown": True},
        "input.display_name": {"path": "input.display_name", "before": None, "after": "Sekoia.io SSO"},
        "input.password": {"path": "input.password", "sensitive": True},
        "input.web": {
            "path": "input.web",
            "before": None,
            "after": [{"redirect_uris": ["https://app.sekoia.io/user/callback"]}],
        },
        "output": {"path": "output", "before": None, "after_unknown": True},
    }
    assert summary.resource_changes[0].attribute_names == ["id", "input", "output"]
    assert [change.to_dict() for change in summary.output_changes] == [
        {"name": "client_secret", "action": "create", "sensitive": True},
        {"name": "display_name", "action": "create", "before": None, "after_unknown": True},
    ]
    assert summary.counts()["create"] == 1


def test_mixed_plan_update_replace_delete_with_reasons():
    summary = load("plan_mixed")
    by_address = {change.address: change for change in summary.resource_changes}
    assert {address: change.action for address, change in by_address.items()} == {
        "terraform_data.app": "update",
        "terraform_data.asked": "replace",
        "terraform_data.gone": "delete",
        "terraform_data.rotate": "replace",
    }
    assert by_address["terraform_data.asked"].reason == "replacement requested"
    assert by_address["terraform_data.rotate"].reason == "a changed attribute forces replacement"
    assert by_address["terraform_data.gone"].reason == "no longer in the configuration"
    assert by_address["terraform_data.gone"].attributes == ()

    app = attributes(summary, "terraform_data.app")
    assert app["input.display_name"] == {
        "path": "input.display_name",
        "before": "old name",
        "after": "new name",
    }
    assert app["input.web.0.redirect_uris"] == {
        "path": "input.web.0.redirect_uris",
        "before": ["https://a.example/cb"],
        "after": ["https://b.example/cb"],
    }
    assert "input.web.0.homepage" not in app  # unchanged attributes are not listed
    assert app["input.password"] == {"path": "input.password", "sensitive": True}
    # Not marked sensitive by Terraform, but named like a credential: name only.
    assert app["input.client_secret"] == {"path": "input.client_secret", "sensitive": True}
    # terraform_data.output copies input; Terraform loses the sensitive mark there (its own
    # plan prints the password in clear): the summary recognises the value and hides it.
    assert app["output"] == {"path": "output", "sensitive": True}

    rotate = attributes(summary, "terraform_data.rotate")
    assert rotate["triggers_replace"] == {
        "path": "triggers_replace",
        "before": "v1",
        "after": "v2",
        "forces_replacement": True,
    }
    outputs = {change.name: change.to_dict() for change in summary.output_changes}
    assert outputs == {
        "client_secret": {"name": "client_secret", "action": "update", "sensitive": True},
        "tenant": {"name": "tenant", "action": "update", "before": "old-tenant", "after": "new-tenant"},
    }
    counts = summary.counts()
    assert (counts["create"], counts["update"], counts["replace"], counts["delete"]) == (0, 1, 2, 1)


def test_mixed_plan_renders_for_humans():
    text = load("plan_mixed").render_text()
    assert text.startswith("Plan: 0 to create, 1 to update, 2 to replace, 1 to delete.\n")
    assert "  ~ terraform_data.app (update)\n" in text
    assert '      input.display_name: "old name" -> "new name"\n' in text
    assert "      input.password: (sensitive)\n" in text
    assert '      triggers_replace: "v1" -> "v2"  # forces replacement\n' in text
    assert "  - terraform_data.gone (delete: no longer in the configuration)\n" in text
    assert "  -/+ terraform_data.asked (replace: replacement requested)\n" in text
    assert "Output changes:\n  ~ client_secret: (sensitive)\n" in text
    assert '  ~ tenant: "old-tenant" -> "new-tenant"\n' in text


def test_moved_and_forgotten_resources():
    summary = load("plan_moved_forget")
    changes = {change.address: change for change in summary.resource_changes}
    assert changes["terraform_data.new"].action == "no-op"
    assert changes["terraform_data.new"].previous_address == "terraform_data.old"
    assert changes["terraform_data.orphan"].action == "forget"
    assert summary.has_changes
    text = summary.render_text()
    assert "terraform_data.new (no change; moved from terraform_data.old)" in text
    assert "1 to forget" in text


def test_no_changes():
    summary = load("plan_no_changes")
    assert not summary.has_changes
    assert summary.resource_changes == () and summary.output_changes == ()
    assert summary.render_text() == "No changes: the infrastructure matches the configuration.\n"
    assert json.loads(summary.to_json())["has_changes"] is False


def test_destroy_plan():
    summary = load("plan_destroy")
    assert [(c.address, c.action, c.attributes) for c in summary.resource_changes] == [
        ("terraform_data.app", "delete", ())
    ]
    assert [change.to_dict() for change in summary.output_changes] == [
        {"name": "client_secret", "action": "delete", "sensitive": True}
    ]


def test_json_form_is_stable_for_ci():
    data = json.loads(load("plan_mixed").to_json())
    assert list(data) == [
        "terraform_version",
        "has_changes",
        "errored",
        "counts",
        "resource_changes",
        "output_changes",
        "drift",
    ]
    assert data["terraform_version"] == "1.11.4"
    assert list(data["resource_changes"][0]) == [
        "address",
        "action",
        "reason",
        "previous_address",
        "importing",
        "attribute_names",
        "attributes",
    ]


@pytest.mark.parametrize(
    ("actions", "word"),
    [
        (["create"], "create"),
        (["update"], "update"),
        (["delete"], "delete"),
        (["read"], "read"),
        (["no-op"], "no-op"),
        (["delete", "create"], "replace"),
        (["create", "delete"], "replace"),
        (["forget"], "forget"),
        ([], "no-op"),
    ],
)
def test_action_words(actions, word):
    assert action_of(actions) == word


def plan_json(**fields) -> dict:
    return {"format_version": "1.2", "terraform_version": "1.11.4", **fields}


def change_item(address: str, actions: list[str], before: dict | None, after: dict | None,
                before_sensitive: dict | bool | None = None, after_sensitive: dict | bool | None = None) -> dict:
    """One entry of resource_changes or resource_drift, as `terraform show -json` writes it."""
    return {"address": address, "change": {"actions": actions, "before": before, "after": after, "after_unknown": {},
                                           "before_sensitive": {} if before_sensitive is None else before_sensitive,
                                           "after_sensitive": {} if after_sensitive is None else after_sensitive}}


def test_a_wholly_sensitive_object_is_not_itemised():
    summary = PlanSummary.from_plan_json(
        plan_json(
            resource_changes=[change_item("x.y", ["update"], {"settings": {"tenant_key": "old-hidden-1"}},
                                          {"settings": {"tenant_key": "new-hidden-2"}},
                                          before_sensitive={"settings": True}, after_sensitive={"settings": True})]
        )
    )
    assert [a.to_dict() for a in summary.resource_changes[0].attributes] == [
        {"path": "settings", "sensitive": True}
    ]
    assert "tenant_key" not in summary.to_json() and "hidden" not in summary.to_json()


def test_a_value_holding_a_sensitive_variable_is_hidden_even_unmarked():
    summary = PlanSummary.from_plan_json(
        plan_json(
            variables={"api_key": {"value": "k-123456"}},
            configuration={"root_module": {"variables": {"api_key": {"sensitive": True}}}},
            resource_changes=[change_item("x.y", ["create"], None, {"url": "https://h/?k=k-123456"},
                                          before_sensitive=False)],
        )
    )
    assert [a.to_dict() for a in summary.resource_changes[0].attributes] == [
        {"path": "url", "sensitive": True}
    ]


def test_drift_is_reported_separately():
    summary = PlanSummary.from_plan_json(
        plan_json(
            resource_drift=[change_item("azuread_application.this", ["update"], {"display_name": "a"},
                                        {"display_name": "b"})],
            # an attribute that feeds a planned change elsewhere: drift even with nothing to repair here
            relevant_attributes=[{"resource": "azuread_application.this", "attribute": ["display_name"]}],
        )
    )
    assert not summary.has_changes
    assert [(d.address, d.attributes[0].to_dict()) for d in summary.drift] == [
        ("azuread_application.this", {"path": "display_name", "before": "a", "after": "b"})
    ]
    assert summary.render_text().startswith("Changed outside Terraform since the last run:\n")


APP = "module.sekoia_sso.azuread_application.this"
SP = "module.sekoia_sso.azuread_service_principal.this"
PASSWORD = 'module.sekoia_sso.azuread_application_password.this["blue"]'


def redirect(uris: list[str]) -> dict:
    return {"web": [{"redirect_uris": uris}], "display_name": "Sekoia.io SSO"}


def test_drift_only_in_a_computed_attribute_no_configuration_reads_is_not_drift():
    # After apply repaired the application, the service principal's redirect_uris (which follow the
    # application's) come back on the next refresh: nothing sets or reads them, nothing is pending.
    summary = PlanSummary.from_plan_json(plan_json(
        resource_drift=[change_item(SP, ["update"], {"redirect_uris": []}, {"redirect_uris": ["https://a/cb"]})],
        relevant_attributes=[{"resource": SP, "attribute": ["object_id"]}],
    ))
    assert summary.drift == () and not summary.has_changes
    assert [(d.address, [a.path for a in d.attributes]) for d in summary.ignored_drift] == [(SP, ["redirect_uris"])]
    assert "Changed outside Terraform" not in summary.render_text()
    assert summary.to_dict()["drift"] == []


def test_drift_the_plan_repairs_is_drift_and_what_follows_from_it_is_not():
    summary = PlanSummary.from_plan_json(plan_json(
        resource_drift=[change_item(APP, ["update"], redirect(["https://a/cb"]), redirect([])),
                        change_item(SP, ["update"], {"redirect_uris": ["https://a/cb"]}, {"redirect_uris": []})],
        resource_changes=[change_item(APP, ["update"], redirect([]), redirect(["https://a/cb"]))],
        relevant_attributes=[{"resource": SP, "attribute": ["object_id"]},
                             {"resource": APP, "attribute": ["client_id"]}],
    ))
    assert [(d.address, [a.path for a in d.attributes]) for d in summary.drift] == [
        (APP, ["web.0.redirect_uris"])]
    assert [d.address for d in summary.ignored_drift] == [SP]


def test_drift_in_a_relevant_attribute_or_a_deleted_object_is_drift():
    summary = PlanSummary.from_plan_json(plan_json(
        resource_drift=[change_item(SP, ["update"], {"object_id": "a", "notes": "x"}, {"object_id": "b", "notes": "y"}),
                        change_item(PASSWORD, ["delete"], {"key_id": "k"}, None)],
        resource_changes=[change_item(PASSWORD, ["create"], None, {"key_id": None})],
        relevant_attributes=[{"resource": SP, "attribute": ["object_id"]},
                             {"resource": "module.sekoia_sso.azuread_application_password.this", "attribute": []}],
    ))
    assert [(d.address, d.action, [a.path for a in d.attributes]) for d in summary.drift] == [
        (SP, "update", ["object_id"]), (PASSWORD, "delete", [])]
    assert [(d.address, [a.path for a in d.attributes]) for d in summary.ignored_drift] == [(SP, ["notes"])]


def test_not_a_plan_is_refused():
    with pytest.raises(ValueError, match="not the JSON of a Terraform plan"):
        PlanSummary.from_plan_json({"values": {}})
    with pytest.raises(ValueError):
        PlanSummary.from_json_text("Error: no plan")
