"""The profile rules are defined once (orchestrator/entra/preflight/rules.py): its quick test `is_ready`
and its readable rules `user_problems` agree on every mix of missing, None, empty, whitespace-only,
unicode and good values, and on random users; the page checker's tally finds exactly what the rules say."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from orchestrator.entra.pages import decode_page
from orchestrator.entra.preflight.pagecheck import Tally
from orchestrator.entra.preflight.rules import PROBLEMS, GraphUser, describe, is_ready, user_problems

DOMAINS = frozenset({"contoso.example", "straße.example"})
MISSING = object()  # the property is not in Graph's answer at all

# Whitespace that str.strip removes (and str.isspace sees), and characters that only look blank.
BLANKS = ["", " ", "\t\n", "\u00a0", "\u2003", "\u3000 "]
NAMES = [MISSING, None, *BLANKS, "\u200b", "Ann", "Żaneta", "李", " Ann ", "A"]
MAILS = [
    MISSING, None, *BLANKS,
    "ann@contoso.example", "ANN@Contoso.EXAMPLE", " ann@contoso.example ", "ann@contoso.example\u00a0",
    "ann@straße.example", "ANN@STRASSE.example", "ann@other.example", "ann", "ann@", "@contoso.example",
    "a@b@contoso.example", "ann@contoso.example.evil", "ann@sub.contoso.example", "ann@contoso.example\u200b",
]
ENABLED = [MISSING, None, True, False]


def _user_json(index: int, mail, given, surname, display, enabled) -> dict:
    values = {"mail": mail, "givenName": given, "surname": surname, "displayName": display,
              "accountEnabled": enabled}
    user = {"id": f"u{index}", "userPrincipalName": f"u{index}@contoso.example"}
    user.update({key: value for key, value in values.items() if value is not MISSING})
    return user


def _decoded(users: list[dict]) -> list[GraphUser]:
    """As the preflight gets them: a Graph page decoded into GraphUser (absent properties become None)."""
    items, _ = decode_page(json.dumps({"value": users}).encode(), GraphUser, "GET /test")
    return items


def _every_mix() -> list[GraphUser]:
    """Every mail against every first, last and full name (the account enabled, disabled or unsaid in turn)."""
    mixes = itertools.product(MAILS, NAMES, NAMES, NAMES)
    return _decoded([_user_json(i, *mix, ENABLED[i % len(ENABLED)]) for i, mix in enumerate(mixes)])


def _random_users(count: int, seed: int) -> list[GraphUser]:
    rng = random.Random(seed)
    alphabet = "aZ @.\t\n\u00a0\u2003\u200bé李-" + "contoso.example"

    def text():
        roll = rng.random()
        if roll < 0.1:
            return MISSING
        if roll < 0.2:
            return None
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 6)))

    def mail():
        roll = rng.random()
        if roll < 0.5:
            return rng.choice(["", " ", "\u00a0"]) + "x@" + rng.choice(sorted(DOMAINS) + ["other.example"]).upper() \
                + rng.choice(["", " ", "\t"])
        return text()

    return _decoded([_user_json(i, mail(), text(), text(), text(), rng.choice(ENABLED)) for i in range(count)])


CASES = {"every-mix": _every_mix, "random": lambda: _random_users(20_000, seed=13)}


@pytest.mark.parametrize("cases", list(CASES), ids=list(CASES))
def test_the_quick_test_and_the_rules_agree(cases):
    users = CASES[cases]()
    assert len(users) > 10_000
    for user in users:
        problems = user_problems(user, DOMAINS)
        assert set(problems) <= set(PROBLEMS)
        assert list(problems) == [code for code in PROBLEMS if code in problems]  # in the order people read
        if is_ready(user, DOMAINS):
            assert problems == (), user
        elif not problems:
            # The only users the quick test leaves to the rules although they get in: mail with blanks around it.
            assert user.mail != user.mail.strip(), user


def test_the_cases_reach_every_rule_and_the_quick_test_takes_the_common_case():
    users = _every_mix()
    found = {code for user in users for code in user_problems(user, DOMAINS)}
    assert found == set(PROBLEMS)
    ready = [user for user in users if not user_problems(user, DOMAINS)]
    assert ready and sum(is_ready(user, DOMAINS) for user in ready) > len(ready) / 2


@pytest.mark.parametrize("cases", list(CASES), ids=list(CASES))
def test_the_page_tally_finds_what_the_rules_say(cases):
    users = CASES[cases]()
    tally = Tally(DOMAINS)
    tally.add_users(users, "SOC Analysts")
    expected = {user.id: user_problems(user, DOMAINS) for user in users if user_problems(user, DOMAINS)}
    assert {row.id: row.problems for row in tally.outcome().findings} == expected
    assert tally.outcome().users_checked == len(users)


def test_missing_none_and_blank_are_all_missing():
    for value in [MISSING, None, *BLANKS]:
        (user,) = _decoded([_user_json(0, value, value, value, value, MISSING)])
        assert user_problems(user, DOMAINS) == ("missing_mail", "missing_given_name", "missing_surname",
                                                "missing_display_name")
    (user,) = _decoded([_user_json(0, "ann@contoso.example", "Ann", "Ng", "Ann Ng", False)])
    assert user_problems(user, DOMAINS) == ("account_disabled",)


def test_the_table_shows_each_rule_by_its_label():
    assert describe(("missing_mail", "missing_surname"), None) == "no email (mail), no last name (surname)"
    assert describe(("mail_domain_not_allowed",), " ann@Other.example ") == \
        "mail domain Other.example not in sekoia.domains"
