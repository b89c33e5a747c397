"""Secret: a value that prints as ******** and is reached only through reveal().

Its own module so that anything can wrap or reveal a secret without importing python-terraform.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from typing import Any


class Secret:
    """A value that must not be printed: str/repr/format/logging show `********`.

    The value is only reachable through `reveal()`. A Secret is not JSON-serialisable and
    cannot be pickled, so it cannot slip into a file by accident either.
    """

    __slots__ = ("_value",)
    MASK = "********"

    def __init__(self, value: Any):
        self._value = value

    def reveal(self) -> Any:
        return self._value

    def __str__(self) -> str:
        return self.MASK

    def __repr__(self) -> str:
        return f"Secret({self.MASK!r})"

    def __format__(self, format_spec: str) -> str:
        return format(self.MASK, format_spec)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        mine, theirs = self._value, other._value
        if isinstance(mine, str) and isinstance(theirs, str):
            return hmac.compare_digest(mine.encode(), theirs.encode())
        return bool(mine == theirs)

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


def reveal(value: Any) -> Any:
    """The value itself, whether or not it is wrapped in a Secret."""
    return value.reveal() if isinstance(value, Secret) else value


def strings_in(value: Any) -> Iterator[str]:
    """Every string in a JSON-like value (nested dicts' values, lists, tuples): all that a secret value
    could show of itself in a line of output."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from strings_in(item)
