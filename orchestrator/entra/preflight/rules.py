"""What a complete profile is: the one place saying which users get in, and the words for those who do not.

Sekoia.io needs an email, a first, a last and a full name for each user who signs in through
SSO. So a user who may sign in gets in when they have

    mail         an email whose domain is one of the environment's `sekoia.domains`
    givenName    a first name
    surname      a last name
    displayName  a full name
    an account that is not disabled (accountEnabled false)

where null, a missing property, an empty string and whitespace only all count as missing.

Here, side by side:
- `GraphUser`: the properties the preflight selects (`$select`) and the rules read.
- `PROBLEMS`: each rule's code (in the JSON and CSV) and its label (in the table), in the order
  a person reads them; `describe` words a user's problems for the table.
- `user_problems`: the rules, written to be read.
- `is_ready`: the same rules for the common case, written for speed (the preflight asks it about
  every user of a 100,000-user tenant). It says True only of a user `user_problems` finds nothing
  wrong with; its False sends the user to `user_problems`. tests/unit/test_profile_rules.py checks
  the two against each other on every mix of missing, None, empty, whitespace-only, unicode and
  good values, and on random ones.

Change a rule here, in both functions, and nowhere else.
"""

from __future__ import annotations

from typing import TypeGuard

import msgspec

# Problem codes, in the order a person reads them, and what they mean.
PROBLEMS: dict[str, str] = {
    "missing_mail": "no email (mail)",
    "mail_domain_not_allowed": "mail domain not in sekoia.domains",
    "missing_given_name": "no first name (givenName)",
    "missing_surname": "no last name (surname)",
    "missing_display_name": "no full name (displayName)",
    "account_disabled": "account disabled",
}


class GraphUser(msgspec.Struct, gc=False):
    """A user as Graph answers the preflight's `$select` (or fewer fields: unselected ones are None).

    Pages decode straight into it, types checked on the way. No reference cycles can form through
    strings and booleans, so the cyclic collector skips it."""

    id: str
    userPrincipalName: str | None = None
    mail: str | None = None
    givenName: str | None = None
    surname: str | None = None
    displayName: str | None = None
    accountEnabled: bool | None = None


def _present(value: str | None) -> TypeGuard[str]:
    return value is not None and bool(value.strip())


def _mail_domain(mail: str) -> tuple[bool, str]:
    """Whether `mail` has an "@", and what follows its last one (the whole address when it has none)."""
    _, at, domain = mail.strip().rpartition("@")
    return bool(at), domain


def user_problems(user: GraphUser, domains: frozenset[str]) -> tuple[str, ...]:
    """The problem codes of one user, in the order of PROBLEMS (empty when the user will get in).

    `domains` are lower case."""
    problems = []
    mail = user.mail
    if not _present(mail):
        problems.append("missing_mail")
    else:
        has_at, domain = _mail_domain(mail)
        if not has_at or domain.lower() not in domains:
            problems.append("mail_domain_not_allowed")
    if not _present(user.givenName):
        problems.append("missing_given_name")
    if not _present(user.surname):
        problems.append("missing_surname")
    if not _present(user.displayName):
        problems.append("missing_display_name")
    if user.accountEnabled is False:
        problems.append("account_disabled")
    return tuple(problems)


def is_ready(user: GraphUser, domains: frozenset[str]) -> bool:
    """True only when `user_problems(user, domains)` is empty; False also for a user it must judge.

    The common case in few operations: non-empty strings, not whitespace only (`isspace` is what
    `strip` removes), and the mail taken as it is: one with spaces around it goes to user_problems."""
    mail, given, surname, display = user.mail, user.givenName, user.surname, user.displayName
    if (mail and given and surname and display and user.accountEnabled is not False
            and not given.isspace() and not surname.isspace() and not display.isspace()):
        _, at, domain = mail.rpartition("@")
        return bool(at) and domain.lower() in domains
    return False


def describe(problems: tuple[str, ...], mail: str | None) -> str:
    """A user's problems in words, for the table: the labels, the mail's domain named when it is not allowed."""
    parts = []
    for code in problems:
        if code == "mail_domain_not_allowed":
            domain = _mail_domain(mail or "")[1] or mail
            parts.append(f"mail domain {domain} not in sekoia.domains")
        else:
            parts.append(PROBLEMS[code])
    return ", ".join(parts)
