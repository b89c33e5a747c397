"""Where a rendered root takes the sekoia-sso module from: `terraform.module_source` and `module_version`.

Three kinds, each pinned so that a render means the same module tomorrow:

- omitted: the vendored copy, `../../modules/sekoia-sso` (what `sekoia-sso init` writes beside envs/);
  a local path of your own (`./…` or `../…`, relative to terraform/envs/<env>/) is taken as it is;
- a git source with a pinned ref: `git::https://host/repo.git//path?ref=v1.0.0` (or `git::ssh://`);
- a module registry source with an exact version: `namespace/name/provider` or
  `host/namespace/name/provider`, with `module_version: 1.0.0`.

A branch (`?ref=main`), a missing ref, a version constraint (`~> 1.0`) or credentials in the URL are
refused: the message names the key and what is allowed, and never echoes user info (a token?).
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from orchestrator.config.values import bad_characters
from orchestrator.errors import shorten

VENDORED_SOURCE = "../../modules/sekoia-sso"
ALLOWED = ("a local path (./… or ../…), git::https://host/repo.git//path?ref=<tag or commit>, or a registry "
           "source namespace/name/provider (optionally host/namespace/name/provider) with module_version")
REGISTRY_RE = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*[a-z0-9](?::[0-9]{1,5})?/)?"
                         r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}/[A-Za-z0-9][A-Za-z0-9_-]{0,63}/[a-z0-9]{1,64}$")
EXACT_VERSION_RE = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
# Names that always move: a ref that is one of them is a branch, not a pin.
MOVING_REFS = frozenset({"main", "master", "head", "develop", "development", "trunk", "latest", "stable"})
GIT_QUERY_KEYS = frozenset({"ref", "depth"})


def source_kind(source: str | None) -> str:
    """`vendored`, `local`, `git` or `registry` (for a value module_source already accepted)."""
    if source is None:
        return "vendored"
    if source.startswith(("./", "../")):
        return "local"
    return "git" if source.startswith("git::") else "registry"


def _redacted(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    host, slash, path = rest.partition("/")
    if "@" in host:
        host = "***@" + host.rsplit("@", 1)[1]
    return shorten(scheme + sep + host + slash + path)


def _check_git(source: str) -> None:
    url = source.removeprefix("git::")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"is not a valid git URL ({exc}), got {_redacted(url)}") from None
    if parts.scheme not in ("https", "ssh") or not parts.hostname:
        raise ValueError(f"a git source must be git::https://… or git::ssh://…, got {_redacted(url)}; allowed: "
                         f"{ALLOWED}")
    if parts.password is not None or (parts.username is not None and parts.scheme == "https"):
        raise ValueError(f"must not hold a user name or token (user info before '@'), got {_redacted(url)}; "
                         "let git authenticate (a credential helper, GIT_ASKPASS or an SSH key)")
    query = parse_qsl(parts.query, keep_blank_values=True)
    unknown = sorted({key for key, _ in query} - GIT_QUERY_KEYS)
    if unknown:
        raise ValueError(f"unknown query parameter {', '.join(map(shorten, unknown))}; allowed: ref, depth")
    refs = [value for key, value in query if key == "ref"]
    if not refs or not refs[-1].strip():
        raise ValueError("a git source must pin a ref: end it with ?ref=<tag or commit> (e.g. ?ref=v1.0.0); "
                         "without one, every init takes whatever the default branch holds")
    if refs[-1].lower() in MOVING_REFS:
        raise ValueError(f"ref={shorten(refs[-1])} names a branch, which moves; pin a tag (ref=v1.0.0) or a commit")


def check_module_source(value: str) -> str:
    """The value of terraform.module_source when it is allowed; else ValueError saying what is allowed."""
    problem = bad_characters(value) or (any(c.isspace() or c in "\"'\\" for c in value)
                                        and "contains a space, quote or backslash")
    if problem:
        raise ValueError(problem)
    if not value:
        raise ValueError(f"must not be empty; omit it for the vendored module ({VENDORED_SOURCE}), or give "
                         f"{ALLOWED}")
    if value.startswith(("./", "../")):
        return value
    if value.startswith("git::"):
        _check_git(value)
        return value
    if REGISTRY_RE.fullmatch(value):
        return value
    shown = _redacted(value) if "://" in value else shorten(value)
    raise ValueError(f"got {shown}; allowed: {ALLOWED}")


def check_module_version(version: str | None, source: str | None) -> str | None:
    """terraform.module_version: an exact version, for a registry source only (required there)."""
    kind = source_kind(source)
    if version is None:
        if kind == "registry":
            raise ValueError(f"required for the registry source {shorten(source)}: an exact version such as "
                             "1.0.0, so that every render means the same module")
        return None
    if kind != "registry":
        how = {"git": "its ?ref= pins it", "local": "a path takes no version",
               "vendored": "the vendored copy takes no version"}[kind]
        raise ValueError(f"applies to a registry source only; terraform.module_source is {kind} ({how}): "
                         "remove module_version")
    if not EXACT_VERSION_RE.fullmatch(version):
        raise ValueError(f"got {shorten(version)}; allowed: an exact version such as 1.0.0 (no constraint like "
                         "~> 1.0 or >= 1.0: a render must mean one module)")
    return version


def module_source_arguments(source: str | None, version: str | None) -> list[tuple[str, str]]:
    """The `source` (and `version`) arguments of the rendered `module "sekoia_sso"` block."""
    return [("source", source or VENDORED_SOURCE), *([("version", version)] if version else [])]
