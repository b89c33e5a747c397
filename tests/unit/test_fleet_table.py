"""The fleet's exit code (the worst of its environments', in a documented order) and its table."""

from __future__ import annotations

import pytest

from orchestrator.workflows.fleet import EXIT_ORDER, FleetRow, format_table, worst_exit
from orchestrator.workflows.plan import plan_headline
from orchestrator.workflows.status import Check, status_headline


@pytest.mark.parametrize(("codes", "worst"), [
    ([], 0),
    ([0, 0], 0),
    ([0, 3], 3),
    ([3, 2, 0], 2),
    ([2, 1, 3], 1),
    ([0, 1], 1),
    ([1, 2, 3, 0], 1),
    ([0, 7, 1], 7),  # a code outside the table ranks worst of all: never hidden behind a known one
])
def test_the_worst_exit_code_is_1_then_2_then_3_then_0(codes, worst):
    assert worst_exit(codes) == worst
    assert worst_exit(reversed(codes)) == worst  # the order of the environments does not matter


def test_the_order_is_the_documented_one():
    assert EXIT_ORDER == (1, 2, 3, 0)


def test_one_aligned_line_per_environment_and_totals():
    rows = [FleetRow("broken", 2, "envs/broken.yaml: bad YAML", 0.01),
            FleetRow("prod-eu", 0, "all 10 parts ok", 4.25),
            FleetRow("staging", 3, "waiting: sekoia domains", 12.0)]
    table = format_table(rows).splitlines()
    assert table == [
        "environment  outcome     exit  time   summary",
        "broken       bad config  2     0.0s   envs/broken.yaml: bad YAML",
        "prod-eu      ok          0     4.2s   all 10 parts ok",
        "staging      waiting     3     12.0s  waiting: sekoia domains",
        "3 environment(s): 1 bad config, 1 ok, 1 waiting; exit 2",
    ]


def test_an_empty_fleet_is_a_table_with_no_rows():
    assert format_table([]).splitlines() == ["environment  outcome  exit  time  summary",
                                             "0 environment(s): none; exit 0"]


def test_a_row_as_json():
    row = FleetRow("prod", 1, "drift: terraform drift", 1.234, {"exit_code": 1})
    assert row.to_dict() == {"name": "prod", "exit_code": 1, "outcome": "failed", "summary": "drift: terraform drift",
                             "seconds": 1.23, "result": {"exit_code": 1}}
    assert FleetRow("x", 130, "").outcome == "exit 130"


def test_status_headline_names_the_parts_not_ok_by_state():
    checks = [Check("rendered HCL", "ok", ""), Check("terraform drift", "drift", ""),
              Check("sekoia domains", "waiting", ""), Check("sekoia oidc", "problem", ""),
              Check("client secret", "problem", "")]
    assert status_headline(checks) == "1 ok; drift: terraform drift; waiting: sekoia domains; " \
                                      "problem: sekoia oidc, client secret"
    assert status_headline([Check("a", "ok", ""), Check("b", "ok", "")]) == "all 2 parts ok"


def test_plan_headline_from_the_plan_document():
    counts = {"create": 3, "update": 0, "replace": 1, "delete": 0, "read": 0, "forget": 0}
    document = {"counts": counts, "drift": [{}], "output_changes": [],
                "client_secret": {"rotation_due": True, "replaces_held_secret": False}}
    assert plan_headline(document) == "3 to create, 1 to replace; 1 changed outside Terraform; secret rotation due"
    nothing = {"counts": dict.fromkeys(counts, 0), "drift": [], "output_changes": [], "client_secret": {}}
    assert plan_headline(nothing) == "no changes"
    assert plan_headline({**nothing, "output_changes": [{}, {}]}) == "2 output(s) change"
