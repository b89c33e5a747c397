"""The OData part of the Microsoft Graph emulator: errors, entity types, $select, $filter (paging: paging.py).

Graph v1.0 applies a small, strict subset of OData to directory collections; this module reproduces
that subset and its refusals (the error codes and messages a client sees against the real service):

- `$select`: case-insensitive property names, unknown ones refused with 400 Request_BadRequest.
- `$filter`: `eq`, `in`, `startswith`, `and`, `or`, parentheses. `ne`, `not`, `endswith` and
  comparisons with `null` are "advanced queries": refused with 400 Request_UnsupportedQuery unless
  the request carries `ConsistencyLevel: eventual` and `$count=true`. String comparisons ignore case.
- `$top` and paging (sandbox/graph/paging.py): `$top` 1..999, anything else 400 Request_UnsupportedQuery
  ("Invalid page size specified"); `@odata.nextLink` carries the original query plus an opaque
  `$skiptoken` that is only valid for the same collection and filter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class GraphError(Exception):
    """An error answer of the Graph API: HTTP status and the `{"error": {"code", "message"}}` body."""

    def __init__(self, status: int, code: str, message: str, *, headers: Mapping[str, str] | None = None,
                 details: list[dict] | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})
        self.details = details


def not_found(reference: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{reference}' does not exist or one of its queried reference-property "
                      "objects are not present.")


def bad_request(message: str, code: str = "Request_BadRequest") -> GraphError:
    return GraphError(400, code, message)


def unsupported_query(message: str = "Unsupported Query.") -> GraphError:
    return GraphError(400, "Request_UnsupportedQuery", message)


def insufficient_privileges() -> GraphError:
    return GraphError(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")


# --------------------------------------------------------------------------------------------------
# Entity types


EMPTY: tuple = ()  # default of collection-valued properties; serialises as []


@dataclass(frozen=True)
class EntityType:
    """What the emulator knows of one Graph type: its properties (with the value an absent one shows)."""

    name: str                       # "user"
    entity_set: str                 # "users", for @odata.context
    resource_label: str             # "User", as Graph names it in filter errors
    properties: Mapping[str, Any]   # canonical name -> value shown when the stored object lacks it
    default_select: tuple[str, ...] | None = None   # None: every property
    filterable: frozenset[str] = frozenset()
    by_lower: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "by_lower", {name.lower(): name for name in self.properties})

    @property
    def odata_type(self) -> str:
        return f"#microsoft.graph.{self.name}"

    def canonical(self, name: str) -> str | None:
        return self.by_lower.get(name.strip().lower())

    def render(self, stored: Mapping[str, Any], select: Sequence[str] | None = None) -> dict[str, Any]:
        names = select if select is not None else (self.default_select or tuple(self.properties))
        rendered = {}
        for name in names:
            if name in self.properties:
                value = stored.get(name, self.properties[name])
                rendered[name] = list(value) if isinstance(value, tuple) else value
        return rendered


def parse_select(raw: str | None, types: Sequence[EntityType]) -> list[str] | None:
    """`$select` as canonical property names; a name no candidate type knows is a 400 like Graph's."""
    if raw is None or not raw.strip():
        return None
    selected: list[str] = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        name = next((t.canonical(part) for t in types if t.canonical(part)), None)
        if name is None:
            raise bad_request(f"Could not find a property named '{part}' on type "
                              f"'microsoft.graph.{types[0].name}'.")
        if name not in selected:
            selected.append(name)
    return selected


# --------------------------------------------------------------------------------------------------
# $filter


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<punct>[(),])|(?P<word>[^\s(),']+))")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_MISSING = object()


@dataclass
class CompiledFilter:
    predicate: Callable[[Mapping[str, Any]], bool]
    advanced: bool                     # needs ConsistencyLevel: eventual + $count=true
    # a top-level `prop eq v` / `prop in (...)`: lets a collection use an index instead of scanning
    lookup: tuple[str, list[Any]] | None = None


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


class _FilterParser:
    def __init__(self, text: str, entity: EntityType):
        self.text = text
        self.entity = entity
        self.tokens: list[tuple[str, Any]] = []
        self.pos = 0
        self.advanced = False
        index = 0
        while index < len(text):
            match = _TOKEN.match(text, index)
            if not match or match.end() == index:
                if text[index:].strip() == "":
                    break
                if text[index:].lstrip().startswith("'"):
                    # a quote left open: what an unescaped apostrophe in a name (`'O'Brien'`) leaves
                    position = len(text) - len(text[index:].lstrip())
                    raise self._syntax(f"There is an unterminated string literal at position {position} in "
                                       f"'{text}'")
                raise self._syntax(f"unexpected text at position {index}")
            index = match.end()
            if match.group("str") is not None:
                self.tokens.append(("lit", match.group("str")[1:-1].replace("''", "'")))
            elif match.group("punct") is not None:
                self.tokens.append(("punct", match.group("punct")))
            else:
                self.tokens.append(("word", match.group("word")))

    def _syntax(self, detail: str) -> GraphError:
        return bad_request(f"Invalid filter clause: {detail}.", code="BadRequest")

    def _peek(self) -> tuple[str, Any] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _next(self) -> tuple[str, Any]:
        token = self._peek()
        if token is None:
            raise self._syntax("unexpected end of expression")
        self.pos += 1
        return token

    def _expect(self, punct: str) -> None:
        kind, value = self._next()
        if kind != "punct" or value != punct:
            raise self._syntax(f"expected '{punct}' but found '{value}'")

    def _keyword(self, *words: str) -> str | None:
        token = self._peek()
        if token and token[0] == "word" and token[1].lower() in words:
            self.pos += 1
            return token[1].lower()
        return None

    def parse(self) -> CompiledFilter:
        if not self.tokens:
            raise self._syntax("empty expression")
        lookup = self._simple_lookup()
        predicate = self._or()
        if self._peek() is not None:
            raise self._syntax(f"unexpected '{self._peek()[1]}'")
        return CompiledFilter(predicate, self.advanced, lookup)

    def _simple_lookup(self) -> tuple[str, list[Any]] | None:
        kinds = [kind for kind, _ in self.tokens]
        words = [value for _, value in self.tokens]
        if kinds == ["word", "word", "lit"] and words[1].lower() == "eq":
            name = self.entity.canonical(words[0])
            return (name, [words[2]]) if name else None
        if (len(kinds) >= 5 and kinds[:2] == ["word", "word"] and words[1].lower() == "in"
                and words[2] == "(" and words[-1] == ")"):
            inner = self.tokens[3:-1]
            values = [value for kind, value in inner[0::2]]
            if all(kind == "lit" for kind, _ in inner[0::2]) and all(
                    token == ("punct", ",") for token in inner[1::2]):
                name = self.entity.canonical(words[0])
                return (name, values) if name else None
        return None

    def _or(self):
        return self._chain("or", self._and, lambda a, b: lambda obj: a(obj) or b(obj))

    def _and(self):
        return self._chain("and", self._unary, lambda a, b: lambda obj: a(obj) and b(obj))

    def _chain(self, keyword: str, operand: Callable[[], Any], combine: Callable[[Any, Any], Any]):
        """operand (keyword operand)*, folded from the left."""
        left = operand()
        while self._keyword(keyword):
            left = combine(left, operand())
        return left

    def _unary(self):
        if self._keyword("not"):
            self.advanced = True
            inner = self._unary()
            return lambda obj: not inner(obj)
        return self._primary()

    def _property(self, word: str) -> str:
        if "/" in word:
            raise unsupported_query(f"Unsupported or invalid query filter clause specified for property "
                                    f"'{word.split('/')[0]}' of resource '{self.entity.resource_label}'.")
        name = self.entity.canonical(word)
        if name is None:
            raise bad_request(f"Could not find a property named '{word}' on type "
                              f"'microsoft.graph.{self.entity.name}'.")
        if name not in self.entity.filterable:
            raise unsupported_query(f"Unsupported or invalid query filter clause specified for property "
                                    f"'{name}' of resource '{self.entity.resource_label}'.")
        return name

    def _literal(self) -> Any:
        kind, value = self._next()
        if kind == "lit":
            return value
        if kind == "word":
            lowered = value.lower()
            if lowered in ("true", "false"):
                return lowered == "true"
            if lowered == "null":
                return None
            if _NUMBER.match(value):
                return float(value) if "." in value else int(value)
            if _GUID.match(value):
                return value
        raise self._syntax(f"'{value}' is not a literal")

    def _primary(self):
        kind, value = self._next()
        if kind == "punct" and value == "(":
            inner = self._or()
            self._expect(")")
            return inner
        if kind != "word":
            raise self._syntax(f"unexpected '{value}'")
        function = value.lower()
        following = self._peek()
        if following == ("punct", "(") and function in ("startswith", "endswith", "contains"):
            if function == "contains":
                raise unsupported_query()
            if function == "endswith":
                self.advanced = True
            self._expect("(")
            prop = self._property(self._next()[1])
            self._expect(",")
            needle = self._literal()
            self._expect(")")
            if not isinstance(needle, str):
                raise self._syntax(f"{function} takes a string")
            folded = needle.casefold()
            if function == "startswith":
                return lambda obj: isinstance(obj.get(prop), str) and obj[prop].casefold().startswith(folded)
            return lambda obj: isinstance(obj.get(prop), str) and obj[prop].casefold().endswith(folded)
        prop = self._property(value)
        operator = self._keyword("eq", "ne", "in", "gt", "ge", "lt", "le")
        if operator is None:
            found = self._peek()
            raise self._syntax(f"expected an operator after '{value}'"
                               + (f", found '{found[1]}'" if found else ""))
        if operator in ("gt", "ge", "lt", "le"):
            raise unsupported_query(f"Unsupported or invalid query filter clause specified for property "
                                    f"'{prop}' of resource '{self.entity.resource_label}'.")
        if operator == "in":
            self._expect("(")
            values = [self._literal()]
            while self._peek() == ("punct", ","):
                self.pos += 1
                values.append(self._literal())
            self._expect(")")
            folded = {_fold(v) for v in values}
            return lambda obj: _fold(obj.get(prop)) in folded
        literal = self._literal()
        if literal is None or operator == "ne":
            self.advanced = True
        target = _fold(literal)
        if operator == "eq":
            return lambda obj: _fold(obj.get(prop)) == target
        return lambda obj: _fold(obj.get(prop)) != target


def compile_filter(text: str, entity: EntityType) -> CompiledFilter:
    return _FilterParser(text, entity).parse()


def is_advanced_query(headers: Mapping[str, str], query: Mapping[str, str]) -> bool:
    return (headers.get("consistencylevel", "").strip().lower() == "eventual"
            and query.get("$count", "").strip().lower() == "true")
