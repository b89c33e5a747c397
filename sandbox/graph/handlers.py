"""Handlers of the emulated Microsoft Graph v1.0 API (everything under /v1.0 except $batch; routes: routes.py).

Layers: `GraphApi.dispatch` matches a route (method + path segments), checks the caller's Graph
application permissions (a 403 Authorization_RequestDenied like Entra's when a role is missing), and
calls a handler; handlers read and change `TenantState` and answer Graph's JSON shapes. Errors are
`GraphError`s, rendered by the server as `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sandbox.graph.entities import (
    APP_ROLE_ASSIGNMENT,
    APPLICATION,
    DOMAIN,
    GROUP,
    OAUTH2_PERMISSION_GRANT,
    ORGANIZATION,
    PASSWORD_CREDENTIAL,
    SERVICE_PRINCIPAL,
    SUBSCRIBED_SKU,
    USER,
)
from sandbox.graph.licences import subscribed_skus
from sandbox.graph.odata import (
    EntityType,
    GraphError,
    bad_request,
    compile_filter,
    insufficient_privileges,
    is_advanced_query,
    not_found,
    parse_select,
    unsupported_query,
)
from sandbox.graph.paging import PageTokens, page_of, parse_top
from sandbox.graph.routes import KeyRef, first_unknown_segment, match_route, split_path
from sandbox.graph.state import TenantState

_LIST_OPTIONS = {"$select", "$filter", "$top", "$skiptoken", "$count"}
_ENTITY_OPTIONS = {"$select"}
_CASTS = {"microsoft.graph.user": "user", "microsoft.graph.group": "group",
          "microsoft.graph.serviceprincipal": "servicePrincipal"}
_TYPES_BY_KIND = {"user": USER, "group": GROUP, "servicePrincipal": SERVICE_PRINCIPAL,
                  "application": APPLICATION}


@dataclass(frozen=True)
class Caller:
    """Who an access token stands for: the client's service principal and its Graph app roles."""

    client_app_id: str
    service_principal_id: str | None
    roles: frozenset[str]


@dataclass
class Call:
    method: str
    path: str                      # after /v1.0, percent-decoded segments joined by "/"
    query: dict[str, str]
    headers: Mapping[str, str]     # names in lower case
    body: Any                      # parsed JSON, or None
    base_url: str
    caller: Caller


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Knobs:
    """The parts of the emulator's fault configuration the handlers need."""

    replication_delay_s: float = 0.0
    replication_delay_writes: bool = True


class GraphApi:
    def __init__(self, state: TenantState, tokens: PageTokens, knobs: Knobs):
        self.state = state
        self.tokens = tokens
        self.knobs = knobs

    # ------------------------------------------------------------------ dispatch

    def dispatch(self, call: Call) -> Answer:
        segments = split_path(call.path)
        if not segments:
            raise bad_request("Invalid version.", code="BadRequest")
        routes, params = match_route(segments)
        if not routes:
            raise bad_request(f"Resource not found for the segment '{first_unknown_segment(segments)}'.",
                              code="BadRequest")
        route = next((r for r in routes if r.method == call.method), None)
        if route is None:
            raise GraphError(405, "Request_BadRequest", "Specified HTTP method is not allowed for the request "
                                                        "uri.")
        if route.roles is not None and not (call.caller.roles & route.roles):
            raise insufficient_privileges()
        allowed = _LIST_OPTIONS if route.handler.startswith("list_") else _ENTITY_OPTIONS
        self._check_options(call.query, allowed)
        return getattr(self, route.handler)(call, **params)

    @staticmethod
    def _check_options(query: Mapping[str, str], allowed: set[str]) -> None:
        for name in query:
            lowered = name.lower()
            if not lowered.startswith("$"):
                continue
            if lowered == "$skip":
                raise bad_request("'$skip' is not supported by the service.")
            if lowered in ("$orderby", "$search", "$expand", "$apply", "$format"):
                raise unsupported_query(f"The query option '{name}' is not supported by this Graph emulator.")
            if lowered not in allowed:
                raise bad_request(f"Query option '{name}' is not allowed on this resource.", code="BadRequest")

    # ------------------------------------------------------------------ shared helpers

    def _visible(self, call: Call, object_id: str) -> bool:
        if call.method != "GET" and not self.knobs.replication_delay_writes:
            return True
        return self.state.is_visible(object_id)

    def _check_write(self, call: Call, object_id: str | None) -> None:
        """Application.ReadWrite.OwnedBy only opens the objects its caller owns."""
        roles = call.caller.roles
        if "Application.ReadWrite.All" in roles:
            return
        if "Application.ReadWrite.OwnedBy" in roles and (
                object_id is None or call.caller.service_principal_id in self.state.owners.get(object_id, ())):
            return
        raise insufficient_privileges()

    def _writable(self, call: Call, found: dict) -> dict:
        """`found`, once the caller may change it."""
        self._check_write(call, found["id"])
        return found

    def _resolve(self, call: Call, table: Mapping[str, dict], key: str | KeyRef, by_app_id) -> dict:
        if isinstance(key, KeyRef):
            if key.name.lower() != "appid":
                raise bad_request(f"Invalid key '{key.name}'.", code="BadRequest")
            found = by_app_id(key.value)
            reference = key.value
        else:
            found = table.get(key)
            reference = key
        if found is None or not self._visible(call, found["id"]):
            raise not_found(reference)
        return found

    def _app(self, call: Call, key) -> dict:
        return self._resolve(call, self.state.applications, key, self.state.application_by_app_id)

    def _sp(self, call: Call, key) -> dict:
        return self._resolve(call, self.state.service_principals, key,
                             self.state.service_principal_by_app_id)

    @staticmethod
    def _plain(key: str | KeyRef) -> str:
        if isinstance(key, KeyRef):
            raise bad_request(f"Invalid key '{key.name}'.", code="BadRequest")
        return key

    @staticmethod
    def _context(call: Call, fragment: str, select: Sequence[str] | None = None) -> str:
        suffix = f"({','.join(select)})" if select else ""
        return f"{call.base_url}/v1.0/$metadata#{fragment}{suffix}"

    def _entity(self, call: Call, entity: EntityType, stored: Mapping[str, Any], fragment: str | None = None,
                status: int = 200) -> Answer:
        select = parse_select(call.query.get("$select"), [entity])
        body = {"@odata.context": self._context(call, fragment or entity.entity_set, select) + "/$entity"}
        body.update(entity.render(stored, select))
        return Answer(status, body)

    def _collection(self, call: Call, entity: EntityType, items: Sequence[Any], *,
                    fragment: str | None = None, render: Callable[[Any, list[str] | None], dict] | None = None,
                    keep: Callable[[Any], bool] | None = None, to_object: Callable[[Any], Any] | None = None,
                    lookup: Callable[[str, list[Any]], Iterable[int] | None] | None = None,
                    select_types: Sequence[EntityType] | None = None, filter_needs_advanced: bool = False,
                    needs_advanced: bool = False) -> Answer:
        """A page of a collection with Graph's $select/$filter/$top/$count/$skiptoken rules."""
        query = call.query
        select = parse_select(query.get("$select"), select_types or [entity])
        top = parse_top(query.get("$top"))
        advanced = is_advanced_query(call.headers, query)
        if needs_advanced and not advanced:
            raise unsupported_query("Request with $count=true and ConsistencyLevel: eventual header required "
                                    "for this query.")
        count_requested = query.get("$count", "").lower() == "true"
        if count_requested and not advanced:
            raise bad_request("$count is not currently supported.")
        to_object = to_object or (lambda item: item)
        predicate: Callable[[Any], bool] | None = None
        candidates: Iterable[int] | None = None
        filter_text = query.get("$filter")
        if filter_text is not None:
            compiled = compile_filter(filter_text, entity)
            if (compiled.advanced or filter_needs_advanced) and not advanced:
                raise unsupported_query("Unsupported Query.")
            predicate = compiled.predicate
            if compiled.lookup and lookup is not None:
                candidates = lookup(*compiled.lookup)

        def keep_item(item: Any) -> bool:
            if keep is not None and not keep(item):
                return False
            return predicate is None or predicate(to_object(item))

        page, link = page_of(self.tokens, items, keep_item, path=call.path, base_url=call.base_url, query=query,
                             top=top, filter_text=filter_text, candidates=candidates)
        render = render or (lambda item, sel: entity.render(item, sel))
        body: dict[str, Any] = {"@odata.context": self._context(call, fragment or entity.entity_set, select)}
        if count_requested:
            body["@odata.count"] = sum(1 for item in items if keep_item(item))
        if link is not None:
            body["@odata.nextLink"] = link
        body["value"] = [render(item, select) for item in page]
        return Answer(200, body)

    # ------------------------------------------------------------------ users and groups

    def list_users(self, call: Call) -> Answer:
        state = self.state

        def lookup(prop: str, values: list[Any]) -> list[int] | None:
            if prop == "id":
                positions = (state.user_positions.get(str(v)) for v in values)
            elif prop == "userPrincipalName":
                positions = (state.upn_positions.get(str(v).casefold()) for v in values)
            else:
                return None
            return sorted({p for p in positions if p is not None})

        return self._collection(call, USER, state.users, lookup=lookup)

    def get_user(self, call: Call, user: str | KeyRef) -> Answer:
        found = self.state.user(self._plain(user))
        if found is None:
            raise not_found(self._plain(user))
        return self._entity(call, USER, found)

    def get_manager(self, call: Call, user: str | KeyRef) -> Answer:
        """The fixture may name a user's manager by object id (`"manager": "<id>"`); Graph 404s when there is none."""
        found = self.state.user(self._plain(user))
        if found is None:
            raise not_found(self._plain(user))
        manager = self.state.users_by_id.get(found.get("manager") or "")
        if manager is None:
            raise not_found("manager")
        select = parse_select(call.query.get("$select"), [USER])
        return Answer(200, {"@odata.context": self._context(call, "directoryObjects/$entity"),
                            "@odata.type": USER.odata_type, **USER.render(manager, select)})

    def list_groups(self, call: Call) -> Answer:
        return self._collection(call, GROUP, self.state.groups)

    def _group(self, key: str | KeyRef) -> dict:
        group = self.state.groups_by_id.get(self._plain(key))
        if group is None:
            raise not_found(self._plain(key))
        return group

    def get_group(self, call: Call, group: str | KeyRef) -> Answer:
        return self._entity(call, GROUP, self._group(group))

    def _members(self, call: Call, member_ids: Sequence[str], cast: str | KeyRef | None, *,
                 transitive: bool) -> Answer:
        state = self.state
        kind = None
        if cast is not None:
            kind = _CASTS.get(self._plain(cast).lower())
            if kind is None:
                raise bad_request(f"Resource not found for the segment '{self._plain(cast)}'.", code="BadRequest")
        lookup_object = state.directory_object

        def to_object(member_id: str) -> dict:
            found = lookup_object(member_id)
            return found[1] if found else {}

        def keep(member_id: str) -> bool:
            found = lookup_object(member_id)
            return found is not None and (kind is None or found[0] == kind)

        def render(member_id: str, select: list[str] | None) -> dict:
            member_kind, stored = lookup_object(member_id)
            entity = _TYPES_BY_KIND[member_kind]
            rendered = entity.render(stored, select) if select is not None else entity.render(stored)
            if kind is not None:
                return rendered
            return {"@odata.type": entity.odata_type, **rendered}

        entity = _TYPES_BY_KIND[kind] if kind else USER
        select_types = [entity] if kind else [USER, GROUP, SERVICE_PRINCIPAL]
        fragment = f"{entity.entity_set}" if kind else "directoryObjects"
        return self._collection(call, entity, member_ids, fragment=fragment, render=render, keep=keep,
                                to_object=to_object, select_types=select_types, filter_needs_advanced=True,
                                needs_advanced=transitive and kind is not None)

    def list_members(self, call: Call, group: str | KeyRef, cast: str | KeyRef | None = None) -> Answer:
        group_object = self._group(group)
        return self._members(call, self.state.group_members.get(group_object["id"], []), cast, transitive=False)

    def list_transitive_members(self, call: Call, group: str | KeyRef, cast: str | KeyRef | None = None) -> Answer:
        group_object = self._group(group)
        return self._members(call, self.state.transitive_members(group_object["id"]), cast, transitive=True)

    # ------------------------------------------------------------------ applications

    def list_applications(self, call: Call) -> Answer:
        return self._collection(call, APPLICATION, list(self.state.applications.values()),
                                keep=lambda app: self.state.is_visible(app["id"]))

    def create_application(self, call: Call) -> Answer:
        self._check_write(call, None)
        owned_by_only = "Application.ReadWrite.All" not in call.caller.roles
        app = self.state.create_application(call.body, creator_id=call.caller.service_principal_id,
                                            creator_is_owner=owned_by_only,
                                            replication_delay_s=self.knobs.replication_delay_s)
        return self._created(call, APPLICATION, app)

    def _created(self, call: Call, entity: EntityType, stored: Mapping[str, Any]) -> Answer:
        body = {"@odata.context": self._context(call, f"{entity.entity_set}/$entity")}
        body.update(entity.render(stored))
        return Answer(201, body, {"Location": f"{call.base_url}/v2/{self.state.tenant_id}/directoryObjects/"
                                              f"{stored['id']}/Microsoft.DirectoryServices.{entity.name[0].upper()}"
                                              f"{entity.name[1:]}"})

    def get_application(self, call: Call, app: str | KeyRef) -> Answer:
        return self._entity(call, APPLICATION, self._app(call, app))

    def update_application(self, call: Call, app: str | KeyRef) -> Answer:
        self.state.update_application(self._writable(call, self._app(call, app)), call.body)
        return Answer(204)

    def delete_application(self, call: Call, app: str | KeyRef) -> Answer:
        self.state.delete_application(self._writable(call, self._app(call, app)))
        return Answer(204)

    def _credential_owner(self, call: Call, app: str | KeyRef | None, sp: str | KeyRef | None) -> dict:
        return self._writable(call, self._app(call, app) if app is not None else self._sp(call, sp))

    def add_password(self, call: Call, app: str | KeyRef | None = None, sp: str | KeyRef | None = None) -> Answer:
        owner = self._credential_owner(call, app, sp)
        credential = self.state.add_password(owner, call.body)
        body = {"@odata.context": self._context(call, "microsoft.graph.passwordCredential")}
        body.update(PASSWORD_CREDENTIAL.render(credential))
        return Answer(200, body)

    def remove_password(self, call: Call, app: str | KeyRef | None = None,
                        sp: str | KeyRef | None = None) -> Answer:
        owner = self._credential_owner(call, app, sp)
        self.state.remove_password(owner, call.body)
        return Answer(204)

    def _owned(self, call: Call, app: str | KeyRef | None, sp: str | KeyRef | None,
               group: str | KeyRef | None = None) -> dict:
        if group is not None:
            return self._group(group)
        return self._app(call, app) if app is not None else self._sp(call, sp)

    def list_owners(self, call: Call, app: str | KeyRef | None = None, sp: str | KeyRef | None = None,
                    group: str | KeyRef | None = None) -> Answer:
        found = self._owned(call, app, sp, group)
        state = self.state

        def render(owner_id: str, select: list[str] | None) -> dict:
            kind, stored = state.directory_object(owner_id)
            entity = _TYPES_BY_KIND[kind]
            return {"@odata.type": entity.odata_type, **entity.render(stored, select)}

        return self._collection(call, USER, list(state.owners.get(found["id"], ())), fragment="directoryObjects",
                                render=render, keep=lambda owner_id: state.directory_object(owner_id) is not None,
                                to_object=lambda owner_id: state.directory_object(owner_id)[1],
                                select_types=[USER, SERVICE_PRINCIPAL])

    def add_owner(self, call: Call, app: str | KeyRef | None = None, sp: str | KeyRef | None = None) -> Answer:
        found = self._owned(call, app, sp)
        self._check_write(call, found["id"])
        self.state.add_owner(found["id"], call.body)
        return Answer(204)

    def remove_owner(self, call: Call, owner: str | KeyRef, app: str | KeyRef | None = None,
                     sp: str | KeyRef | None = None) -> Answer:
        found = self._owned(call, app, sp)
        self._check_write(call, found["id"])
        self.state.remove_owner(found["id"], self._plain(owner))
        return Answer(204)

    # ------------------------------------------------------------------ service principals

    def list_service_principals(self, call: Call) -> Answer:
        return self._collection(call, SERVICE_PRINCIPAL, list(self.state.service_principals.values()),
                                keep=lambda sp: self.state.is_visible(sp["id"]))

    def create_service_principal(self, call: Call) -> Answer:
        self._check_write(call, None)
        owned_by_only = "Application.ReadWrite.All" not in call.caller.roles
        if owned_by_only and isinstance(call.body, dict):
            app = self.state.application_by_app_id(str(call.body.get("appId", "")))
            if app is not None and call.caller.service_principal_id not in self.state.owners.get(app["id"], ()):
                raise insufficient_privileges()
        sp = self.state.create_service_principal(
            call.body, creator_id=call.caller.service_principal_id, creator_is_owner=owned_by_only,
            replication_delay_s=self.knobs.replication_delay_s,
            check_visibility=self.knobs.replication_delay_writes)
        return self._created(call, SERVICE_PRINCIPAL, sp)

    def get_service_principal(self, call: Call, sp: str | KeyRef) -> Answer:
        return self._entity(call, SERVICE_PRINCIPAL, self._sp(call, sp))

    def update_service_principal(self, call: Call, sp: str | KeyRef) -> Answer:
        self.state.update_service_principal(self._writable(call, self._sp(call, sp)), call.body)
        return Answer(204)

    def delete_service_principal(self, call: Call, sp: str | KeyRef) -> Answer:
        self.state.delete_service_principal(self._writable(call, self._sp(call, sp)))
        return Answer(204)

    # ------------------------------------------------------------------ app role assignments

    def _assignments(self, call: Call, field_name: str, object_id: str) -> Answer:
        items = [a for a in self.state.app_role_assignments.values() if a[field_name] == object_id]
        return self._collection(call, APP_ROLE_ASSIGNMENT, items,
                                fragment=f"{field_name}/appRoleAssignments",
                                keep=lambda a: self.state.is_visible(a["id"]))

    def list_assigned_to(self, call: Call, sp: str | KeyRef) -> Answer:
        found = self._sp(call, sp)
        answer = self._assignments(call, "resourceId", found["id"])
        answer.body["@odata.context"] = self._context(call, f"servicePrincipals('{found['id']}')/appRoleAssignedTo")
        return answer

    def list_principal_assignments(self, call: Call, sp: str | KeyRef | None = None,
                                   user: str | KeyRef | None = None, group: str | KeyRef | None = None) -> Answer:
        if sp is not None:
            object_id, set_name = self._sp(call, sp)["id"], "servicePrincipals"
        elif user is not None:
            found = self.state.user(self._plain(user))
            if found is None:
                raise not_found(self._plain(user))
            object_id, set_name = found["id"], "users"
        else:
            object_id, set_name = self._group(group)["id"], "groups"
        answer = self._assignments(call, "principalId", object_id)
        answer.body["@odata.context"] = self._context(call, f"{set_name}('{object_id}')/appRoleAssignments")
        return answer

    def create_assigned_to(self, call: Call, sp: str | KeyRef) -> Answer:
        found = self._sp(call, sp)
        assignment = self.state.create_app_role_assignment(
            call.body, resource_id=found["id"], replication_delay_s=self.knobs.replication_delay_s)
        body = {"@odata.context": self._context(call, f"servicePrincipals('{found['id']}')/appRoleAssignedTo/"
                                                      "$entity")}
        body.update(APP_ROLE_ASSIGNMENT.render(assignment))
        return Answer(201, body)

    def create_assignment_of(self, call: Call, sp: str | KeyRef) -> Answer:
        found = self._sp(call, sp)
        assignment = self.state.create_app_role_assignment(
            call.body, principal_id=found["id"], replication_delay_s=self.knobs.replication_delay_s)
        body = {"@odata.context": self._context(call, f"servicePrincipals('{found['id']}')/appRoleAssignments/"
                                                      "$entity")}
        body.update(APP_ROLE_ASSIGNMENT.render(assignment))
        return Answer(201, body)

    def _assignment(self, call: Call, field_name: str, owner_id: str, key: str | KeyRef) -> dict:
        assignment_id = self._plain(key)
        found = self.state.app_role_assignments.get(assignment_id)
        if found is None or found[field_name] != owner_id or not self._visible(call, assignment_id):
            raise not_found(assignment_id)
        return found

    def get_assigned_to(self, call: Call, sp: str | KeyRef, assignment: str | KeyRef) -> Answer:
        owner = self._sp(call, sp)
        return self._entity(call, APP_ROLE_ASSIGNMENT, self._assignment(call, "resourceId", owner["id"], assignment),
                            fragment=f"servicePrincipals('{owner['id']}')/appRoleAssignedTo")

    def get_assignment_of(self, call: Call, sp: str | KeyRef, assignment: str | KeyRef) -> Answer:
        owner = self._sp(call, sp)
        return self._entity(call, APP_ROLE_ASSIGNMENT,
                            self._assignment(call, "principalId", owner["id"], assignment),
                            fragment=f"servicePrincipals('{owner['id']}')/appRoleAssignments")

    def delete_assigned_to(self, call: Call, sp: str | KeyRef, assignment: str | KeyRef) -> Answer:
        owner = self._sp(call, sp)
        found = self._assignment(call, "resourceId", owner["id"], assignment)
        del self.state.app_role_assignments[found["id"]]
        return Answer(204)

    def delete_assignment_of(self, call: Call, sp: str | KeyRef, assignment: str | KeyRef) -> Answer:
        owner = self._sp(call, sp)
        found = self._assignment(call, "principalId", owner["id"], assignment)
        del self.state.app_role_assignments[found["id"]]
        return Answer(204)

    # ------------------------------------------------------------------ delegated permission grants

    def list_grants(self, call: Call) -> Answer:
        return self._collection(call, OAUTH2_PERMISSION_GRANT, list(self.state.oauth2_permission_grants.values()),
                                keep=lambda grant: self.state.is_visible(grant["id"]))

    def create_grant(self, call: Call) -> Answer:
        grant = self.state.create_grant(call.body, replication_delay_s=self.knobs.replication_delay_s)
        return Answer(201, {"@odata.context": self._context(call, "oauth2PermissionGrants/$entity"),
                            **OAUTH2_PERMISSION_GRANT.render(grant)})

    def _grant(self, call: Call, key: str | KeyRef) -> dict:
        grant_id = self._plain(key)
        found = self.state.oauth2_permission_grants.get(grant_id)
        if found is None or not self._visible(call, grant_id):
            raise not_found(grant_id)
        return found

    def get_grant(self, call: Call, grant: str | KeyRef) -> Answer:
        return self._entity(call, OAUTH2_PERMISSION_GRANT, self._grant(call, grant))

    def update_grant(self, call: Call, grant: str | KeyRef) -> Answer:
        self.state.update_grant(self._grant(call, grant), call.body)
        return Answer(204)

    def delete_grant(self, call: Call, grant: str | KeyRef) -> Answer:
        found = self._grant(call, grant)
        del self.state.oauth2_permission_grants[found["id"]]
        return Answer(204)

    # ------------------------------------------------------------------ tenant

    def list_organization(self, call: Call) -> Answer:
        return self._collection(call, ORGANIZATION, [self.state.organization()])

    def list_subscribed_skus(self, call: Call) -> Answer:
        if "$filter" in call.query or "$top" in call.query:  # subscribedSkus supports $select only
            raise bad_request("Query option is not supported on subscribedSkus.", code="BadRequest")
        return self._collection(call, SUBSCRIBED_SKU, subscribed_skus(self.state.tenant, self.state.entra_id_premium))

    def list_domains(self, call: Call) -> Answer:
        return self._collection(call, DOMAIN, list(self.state.tenant.get("domains", ())))

    def get_domain(self, call: Call, domain: str | KeyRef) -> Answer:
        name = self._plain(domain).lower()
        found = next((d for d in self.state.tenant.get("domains", ()) if d["id"].lower() == name), None)
        if found is None:
            raise not_found(self._plain(domain))
        return self._entity(call, DOMAIN, found)

    def get_directory_object(self, call: Call, object: str | KeyRef) -> Answer:  # noqa: A002 - route name
        object_id = self._plain(object)
        found = self.state.directory_object(object_id)
        if found is None or not self._visible(call, object_id):
            raise not_found(object_id)
        kind, stored = found
        entity = _TYPES_BY_KIND[kind]
        select = parse_select(call.query.get("$select"), [entity])
        return Answer(200, {"@odata.context": self._context(call, "directoryObjects/$entity"),
                            "@odata.type": entity.odata_type, **entity.render(stored, select)})
