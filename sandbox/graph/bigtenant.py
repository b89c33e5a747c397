"""Large generated tenants for benchmarks, in the fixture format of sandbox/fixtures/tenant.json.

    tenant = generate_tenant(users=100_000, groups=10, incomplete_share=0.05, seed=0)
    emulator = GraphEmulator(tenant).start()

    with TenantProcess(users=100_000, groups=10, latency_ms=20) as served:   # the same, in a child process
        served.info["url"], served.log()["per_user"]

The tenant id, the Terraform principal, the Microsoft Graph service principal and the principal's
permissions are those of the default fixture, so everything that works against the small tenant works
here. Users are spread round-robin over the groups; the first group is "SOC Analysts" (so a config
naming that group works unchanged), the others "Team 01", "Team 02", ... A seeded `incomplete_share`
of the users lack a profile field the way real directories do: null, empty or whitespace-only
givenName, surname or mail. Their ids are listed under `generated.incompleteUserIds`.

Memory: each user is one small dict whose repeated strings (names, job titles) are shared and whose
mail is the same string object as its userPrincipalName. 100,000 users: about 50 MB for the dict,
generated in about 0.5 s, and about as much again for the emulator's working copy.

`TenantProcess` serves a generated tenant from a child process (`python -m sandbox.graph.bigtenant`), so that
a benchmark or a memory test of the client in this process counts neither the emulator's CPU nor its
memory.
"""

from __future__ import annotations

import gc
import json
import os
import random
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from sandbox.graph.emulator import load_default_tenant

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


# GET /users/{id or upn}, in or out of a $batch: the requests a preflight must never make per user.
_PER_USER_PATH = re.compile(r"^/v1\.0/users/[^/]+$|^/v1\.0/users\('.*'\)$")


class TenantProcess:
    """A Graph emulator serving `generate_tenant(...)` in a child process; a context manager.

    `info`: url, tenant_id, client_id, client_secret (the Terraform principal's), group_sizes (by display
    name), incomplete_ids. `log()`: a summary of the requests since the previous `log()`: requests, cpu
    (the child's CPU seconds), per_user (count of per-user GETs), statuses.
    """

    def __init__(self, *, users: int, groups: int, latency_ms: float = 0.0, incomplete_share: float = 0.05,
                 seed: int = 0, cache_reads: bool = False):
        argv = [sys.executable, "-m", "sandbox.graph.bigtenant", str(users), str(groups), str(latency_ms),
                str(incomplete_share), str(seed), "cache" if cache_reads else "nocache"]
        self.process = subprocess.Popen(argv, cwd=Path(__file__).resolve().parent.parent,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            raise RuntimeError(f"the Graph emulator process failed to start (exit {self.process.returncode})")
        self.info: dict[str, Any] = json.loads(line)

    def log(self) -> dict[str, Any]:
        self.process.stdin.write("log\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def stop(self) -> None:
        try:
            self.process.stdin.write("stop\n")
            self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> TenantProcess:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _serve(argv: list[str]) -> None:
    """The child of `TenantProcess`: serve the tenant, answer "log" lines, stop on "stop" or end of input."""
    from sandbox.graph.emulator import GraphEmulator

    users, groups, latency_ms, share, seed, cache = argv
    tenant = generate_tenant(users=int(users), groups=int(groups), incomplete_share=float(share), seed=int(seed))
    emulator = GraphEmulator(tenant).start()
    emulator.configure(latency_ms=float(latency_ms), cache_reads=cache == "cache")
    # A server tuning, as for any server with a big static heap: the tenant never changes, and the cyclic
    # collector would otherwise rescan it now and then, stalling every answer for tens of ms.
    gc.freeze()
    print(json.dumps({"url": emulator.url, "tenant_id": emulator.tenant_id, "client_id": emulator.principal_client_id,
                      "client_secret": emulator.principal_client_secret,
                      "group_sizes": {g["displayName"]: len(g["members"]) for g in tenant["groups"]},
                      "incomplete_ids": tenant["generated"]["incompleteUserIds"]}), flush=True)
    cpu = sum(os.times()[:2])
    for line in sys.stdin:
        if line.strip() == "log":
            records = emulator.requests
            emulator.clear_requests()
            cpu, spent = sum(os.times()[:2]), sum(os.times()[:2]) - cpu
            print(json.dumps({"requests": len(records), "cpu": spent,
                              "per_user": sum(1 for r in records if _PER_USER_PATH.match(r.path)),
                              "statuses": sorted({r.status for r in records})}), flush=True)
        elif line.strip() == "stop":
            break
    emulator.stop()


if __name__ == "__main__":
    _serve(sys.argv[1:])
