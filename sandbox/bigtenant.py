"""Large generated tenants for benchmarks, in the fixture format of sandbox/fixtures/tenant.json.

    tenant = generate_tenant(users=100_000, groups=10, incomplete_share=0.05, seed=0)
    emulator = GraphEmulator(tenant).start()

The tenant id, the Terraform principal, the Microsoft Graph service principal and the principal's
permissions are those of the default fixture, so everything that works against the small tenant works
here. Users are spread round-robin over the groups; the first group is "SOC Analysts" (so a config
naming that group works unchanged), the others "Team 01", "Team 02", ... A seeded `incomplete_share`
of the users lack a profile field the way real directories do: null, empty or whitespace-only
givenName, surname or mail. Their ids are listed under `generated.incompleteUserIds`.

Memory: each user is one small dict whose repeated strings (names, job titles) are shared and whose
mail is the same string object as its userPrincipalName. 100,000 users: about 50 MB for the dict,
generated in about 0.5 s, and about as much again for the emulator's working copy.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from sandbox.graph import load_default_tenant

_GIVEN_NAMES = ("Liam", "Olivia", "Noah", "Emma", "Lucas", "Chloe", "Hugo", "Lea", "Louis", "Manon", "Jules",
                "Camille", "Arthur", "Ines", "Gabriel", "Sarah", "Raphael", "Jade", "Adam", "Zoe", "Nathan",
                "Alice", "Ethan", "Lina", "Tom", "Rose", "Paul", "Anna", "Leo", "Eva")
_SURNAMES = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
             "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent",
             "Fournier", "Morel", "Girard", "Andre", "Mercier", "Dupont", "Lambert", "Bonnet", "Francois",
             "Martinez", "Legrand")
_JOB_TITLES = ("Security Analyst", "Engineer", "Consultant", "Manager", "Specialist", "Administrator")
# (field, value) pairs that make a profile incomplete, as the preflight check must catch them
_DEFECTS = (("givenName", None), ("givenName", "   "), ("givenName", ""), ("surname", None), ("surname", " "),
            ("mail", None), ("mail", ""))


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def generate_tenant(users: int = 100_000, groups: int = 10, incomplete_share: float = 0.05,
                    seed: int = 0) -> dict[str, Any]:
    """A tenant dict with `users` users over `groups` security groups, `incomplete_share` of them incomplete."""
    if users < 0 or groups < 1:
        raise ValueError("users must be >= 0 and groups >= 1")
    if not 0 <= incomplete_share <= 1:
        raise ValueError("incomplete_share must be between 0 and 1")
    rng = random.Random(f"bigtenant:{seed}")
    tenant = load_default_tenant()
    domain = tenant["tenant"]["defaultDomain"]
    created = "2024-03-04T09:15:00Z"
    incomplete = set(rng.sample(range(users), round(users * incomplete_share)))
    display_names: dict[tuple[str, str], str] = {}
    generated_users: list[dict[str, Any]] = []
    incomplete_ids: list[str] = []
    group_ids = [_guid(rng) for _ in range(groups)]
    members: list[list[str]] = [[] for _ in range(groups)]
    for index in range(users):
        given = _GIVEN_NAMES[rng.randrange(len(_GIVEN_NAMES))]
        surname = _SURNAMES[rng.randrange(len(_SURNAMES))]
        upn = f"{given.lower()}.{surname.lower()}.{index:06d}@{domain}"
        display = display_names.setdefault((given, surname), f"{given} {surname}")
        user: dict[str, Any] = {
            "id": _guid(rng), "userPrincipalName": upn, "displayName": display, "givenName": given,
            "surname": surname, "mail": upn, "accountEnabled": True,
            "jobTitle": _JOB_TITLES[index % len(_JOB_TITLES)], "createdDateTime": created,
        }
        if index in incomplete:
            field, value = _DEFECTS[rng.randrange(len(_DEFECTS))]
            user[field] = value
            incomplete_ids.append(user["id"])
        generated_users.append(user)
        members[index % groups].append(user["id"])
    tenant["users"] = generated_users
    tenant["groups"] = [
        {"id": group_ids[g], "displayName": "SOC Analysts" if g == 0 else f"Team {g:02d}",
         "description": "Generated for benchmarks", "mailNickname": "soc-analysts" if g == 0 else f"team-{g:02d}",
         "mail": None, "mailEnabled": False, "securityEnabled": True, "groupTypes": [], "createdDateTime": created,
         "members": members[g]}
        for g in range(groups)
    ]
    tenant["generated"] = {"seed": seed, "users": users, "groups": groups, "incompleteShare": incomplete_share,
                           "incompleteUserIds": incomplete_ids}
    return tenant
