"""One environment owns one Sekoia.io community: the checks that keep it so.

    require_distinct_communities(environments)   # ConfigError (exit 2) naming both files
    owner_of(project_dir, client_id, exclude=env.name)  # "environment staging" / "no environment ..."
    foreign_holder(held_client_id, ours)          # the client ID SSO holds when it is not one of ours
    refuse_foreign(target, plan, owner_lookup(project_dir, env.name))   # ForeignSSOError, exit 1

Two environments naming the same `sekoia.community_uuid` would take the community's SSO from
each other at every apply (Sekoia.io holds one client ID per community), and a `destroy` of one
would disable the other's SSO. Loading several environments refuses that outright; at run time,
before any write to a community's SSO, the client ID Sekoia.io holds is compared with the
environment's own application (`SekoiaPlan.foreign_client_id`), and a write that would replace
another application's needs `--take-over`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from orchestrator.errors import ConfigError, ForeignSSOError, SekoiaSSOError


def shared_communities(environments: Iterable[Any]) -> dict[str, list[Any]]:
    """The Sekoia.io communities (lower case) that more than one of `environments` names, with those environments."""
    holders: dict[str, list[Any]] = {}
    for env in environments:
        holders.setdefault(str(env.config.sekoia.community_uuid).lower(), []).append(env)
    return {community: envs for community, envs in holders.items() if len(envs) > 1}


def require_distinct_communities(environments: Iterable[Any]) -> None:
    """ConfigError naming every pair of files that name the same Sekoia.io community."""
    problems = [f"{first.path} and {env.path} both name sekoia.community_uuid {community}"
                for community, (first, *others) in shared_communities(environments).items() for env in others]
    if problems:
        raise ConfigError(
            "; ".join(problems) + ": one environment owns one Sekoia.io community (its SSO holds one client ID, "
            "so each apply would take it from the other and a destroy would disable the other's SSO). Give each "
            "environment its own community, or remove the copy.")


def owner_of(project_dir: Path, client_id: str, *, exclude: str) -> str:
    """Which environment of the project has `client_id` in its Terraform outputs, in words for a message.

    Reads the outputs of every other environment; one whose state cannot be read (not applied, no
    credentials for its backend) is named as such rather than guessed."""
    from orchestrator.config.envfile import environment_names
    from orchestrator.config.loading import load_environment
    from orchestrator.terraform.workspace import Workspace

    unreadable = []
    for name in environment_names(project_dir):
        if name == exclude:
            continue
        try:
            env = load_environment(project_dir, name)
            outputs = Workspace(env, project_dir).initialised_runner().outputs()
        except (SekoiaSSOError, OSError):
            unreadable.append(name)
            continue
        if str(outputs.get("client_id") or "").lower() == client_id.lower():
            return f"environment {name} of this project ({env.path})"
    if unreadable:
        return ("no environment of this project whose Terraform outputs could be read; could not tell for "
                + ", ".join(unreadable))
    return "no environment of this project"


def foreign_sso_message(community: str, held_client_id: str, owner: str, *, env_name: str) -> str:
    return (f"Sekoia.io community {community} has SSO configured for another application: client ID "
            f"{held_client_id} ({owner}), not environment {env_name}'s. One environment owns one community, so "
            f"nothing was changed. For {env_name} to own it from now on (the other application's users lose "
            f"SSO), re-run with --take-over (`sekoia-sso apply {env_name} --take-over`, or `connect`); "
            f"otherwise give {env_name} its own sekoia.community_uuid.")


def foreign_holder(held_client_id: str | None, ours: Iterable[str]) -> str | None:
    """The client ID the community's SSO holds when it is none of `ours` (the environment's applications)."""
    mine = {client_id.lower() for client_id in ours}
    return held_client_id if held_client_id and held_client_id.lower() not in mine else None


def owner_lookup(project_dir: Path, env_name: str) -> Callable[[str], str]:
    """`owner_of` for environment `env_name`: which other environment has a client ID, in words."""
    return lambda client_id: owner_of(project_dir, client_id, exclude=env_name)


def refuse_foreign(target: Any, plan: Any, lookup: Callable[[str], str] | None) -> ForeignSSOError:
    """The error for SSO that points at another application (a SekoiaPlan's foreign_client_id); `lookup`
    (owner_lookup's) names the environment that has it, when given."""
    held = str(plan.foreign_client_id)
    owner = "could not tell which environment has it"
    if lookup is not None:
        try:
            owner = lookup(held)
        except Exception:  # noqa: BLE001 - the refusal matters, not why its detail could not be read
            pass
    return ForeignSSOError(foreign_sso_message(f"{plan.community_name} ({plan.community_uuid})", held, owner,
                                               env_name=target.environment))
