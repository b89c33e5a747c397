"""Route matching of the Sekoia.io emulator, over `orchestrator.sekoia.routes.ROUTES` (the client's table too).

The emulator has no path of its own: a route added to the table needs a handler (sandbox/sekoia/handlers.py
refuses to import otherwise), and an operation listed in `missing_routes` answers as if it did not exist.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from orchestrator.sekoia.routes import ROUTES, SekoiaRoute


def _compile(route: SekoiaRoute) -> re.Pattern[str]:
    pattern = re.sub(r"\\\{([a-z_]+)\\\}", r"(?P<\1>[^/]+)", re.escape(route.path))
    return re.compile(f"^{pattern}/?$")


PATTERNS: dict[str, re.Pattern[str]] = {name: _compile(route) for name, route in ROUTES.items()}


def relative_path(base_path: str, path: str) -> str | None:
    """`path` under the API base (e.g. '/api'), or None when it lies outside."""
    if not base_path:
        return path
    if path == base_path or path.startswith(base_path + "/"):
        return path[len(base_path):] or "/"
    return None


def match_route(method: str, path: str | None,
                missing: Collection[str]) -> tuple[SekoiaRoute | None, dict[str, str], set[str]]:
    """The route for method+path, or None with the methods the path does answer (405 vs 404)."""
    allowed: set[str] = set()
    if path is None:
        return None, {}, allowed
    for name, route in ROUTES.items():
        if name in missing:
            continue
        found = PATTERNS[name].match(path)
        if found is None:
            continue
        if route.method == method:
            return route, found.groupdict(), allowed
        allowed.add(route.method)
    return None, {}, allowed


def addresses(operation: str, method: str, path: str | None) -> bool:
    """Whether a request (method, path under the API base) addressed `operation`."""
    route = ROUTES[operation]
    return method == route.method and PATTERNS[operation].match(path or "") is not None
