"""The client secret's whole life, kept in the Terraform state: no run ever cuts SSO logins.

The module always declares two password slots, `blue` and `green` (the key0/key1 pattern), and
no plan of any committed revision deletes one. Which secret Sekoia.io holds is recorded in the
environment's own state, by key ID, never by value:

    terraform_data.sekoia_pushed_secret     the key ID Sekoia.io holds (the module outputs that
                                            secret as client_secret)
    terraform_data.sekoia_secret_handover   {pushing, retiring} while Sekoia.io is being moved to
                                            another secret; null otherwise

Every path that gives Sekoia.io another secret (the first apply, a recovery, a rotation, a move
away from a secret the plan would replace) is one hand-over:

    1. wait, bounded, until Entra ID's token endpoint accepts the new secret (new secrets take
       seconds to reach every replica)
    2. record {pushing: new, retiring: old}: from here Sekoia.io may hold either, so neither slot
       is touched until step 4 is recorded
    3. write Sekoia.io's OIDC settings with the new secret
    4. record pushed = new (the hand-over keeps `retiring`)
    5. replace the retiring slot, so the secret Sekoia.io no longer uses stops working, and clear
       the hand-over

A rotation is a targeted plan that `-replace`s only the standby slot (its end date is planned
afresh: today + validity_days), then a hand-over to it. Each step is read back from the state,
Entra ID and Sekoia.io, so a run killed anywhere is finished by the next one, and the committed
files never change: a CI job on a read-only checkout rotates.

Before a plan that would delete or replace the secret Sekoia.io holds is applied, Sekoia.io is
first handed over to a fresh secret in the other slot; where that cannot be done the apply
stops before anything is applied. A plan that replaces the application itself (a new client ID)
must break SSO until Sekoia.io has it, and the combined plan says so.

Targeted plans name one slot and both records: Terraform updates an output only when what it
depends on is in the target set (client_secret depends on the slots and the record), and naming
the other slot would pull in whatever the plan has pending for it, the very replacement a move
away from a threatened secret must come before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import SecretUnsafeError, SekoiaSSOError
from orchestrator.secret import Secret, reveal

SLOTS = ("blue", "green")
PASSWORDS = "module.sekoia_sso.azuread_application_password.this"
APPLICATION = "module.sekoia_sso.azuread_application.this"
PUSHED_RECORD = "terraform_data.sekoia_pushed_secret"
HANDOVER_RECORD = "terraform_data.sekoia_secret_handover"
PUSHED_VARIABLE = "sekoia_pushed_secret_key_id"
HANDOVER_VARIABLE = "sekoia_secret_handover"
ACCEPT_TIMEOUT = 120.0


def password_address(slot: str) -> str:
    return f'{PASSWORDS}["{slot}"]'


def _lower(value: Any) -> str | None:
    return str(value).lower() if value else None


def days_left(end_date: str | None, *, now: dt.datetime | None = None) -> float | None:
    end = _instant(end_date) if end_date else None
    if end is None:
        return None
    return (end - (now or dt.datetime.now(dt.UTC))).total_seconds() / 86400


# ----------------------------------------------------------------------------------------------
# What is: the two slots, the records, and Entra ID's own view of the passwords


@dataclass(frozen=True)
class Slot:
    name: str
    key_id: str | None
    start_date: str | None
    end_date: str | None
    in_entra: bool  # Entra ID has the password (read through Graph; from the state when Graph was not read)

    @property
    def days_left(self) -> float | None:
        return days_left(self.end_date)

    @property
    def expired(self) -> bool:
        left = self.days_left
        return left is not None and left <= 0

    @property
    def usable(self) -> bool:
        return bool(self.key_id) and self.in_entra and not self.expired

    def to_dict(self) -> dict[str, Any]:
        left = self.days_left
        return {"slot": self.name, "key_id": self.key_id, "end_date": self.end_date,
                "days_left": None if left is None else round(left, 1), "in_entra": self.in_entra,
                "expired": self.expired}


@dataclass(frozen=True)
class Ledger:
    """The slots and the records, read from the outputs (and Graph's passwordCredentials when given)."""

    slots: tuple[Slot, ...]
    pushed: str | None  # key ID Sekoia.io holds, as recorded
    pushing: str | None  # a hand-over under way: Sekoia.io holds this one or `pushed`
    retiring: str | None  # key ID whose slot is replaced once the hand-over is recorded

    @classmethod
    def read(cls, outputs: Mapping[str, Any], credentials: Iterable[Mapping[str, Any]] | None = None) -> Ledger:
        secrets = reveal(outputs.get("secrets"))
        secrets = secrets if isinstance(secrets, Mapping) else {}
        entra = None if credentials is None else {_lower(c.get("keyId")): c for c in credentials}
        slots = []
        for name in SLOTS:
            item = secrets.get(name)
            item = item if isinstance(item, Mapping) else {}
            key_id = str(item["key_id"]) if item.get("key_id") else None
            found = None if entra is None else entra.get(_lower(key_id))
            slots.append(Slot(
                name=name, key_id=key_id, start_date=item.get("start_date"),
                end_date=_same_or_entra(item.get("end_date"), (found or {}).get("endDateTime")),
                in_entra=bool(key_id) if entra is None else found is not None,
            ))
        handover = reveal(outputs.get("sekoia_secret_handover"))
        handover = handover if isinstance(handover, Mapping) else {}
        return cls(tuple(slots), _lower(reveal(outputs.get("sekoia_pushed_secret_key_id"))),
                   _lower(handover.get("pushing")), _lower(handover.get("retiring")))

    def slot(self, key_id: str | None) -> Slot | None:
        return next((s for s in self.slots if key_id and _lower(s.key_id) == _lower(key_id)), None)

    def named(self, name: str) -> Slot:
        return next(s for s in self.slots if s.name == name)

    def other(self, slot: Slot) -> Slot:
        return next(s for s in self.slots if s.name != slot.name)

    @property
    def held(self) -> Slot | None:
        """The slot whose secret Sekoia.io holds, as recorded; None before the first push or once it is gone."""
        return self.slot(self.pushed)

    @property
    def protected(self) -> set[str]:
        """Key IDs Sekoia.io may hold: their slots are never replaced by the tool."""
        return {key for key in (self.pushed, self.pushing) if key}

    def to_push(self) -> Slot | None:
        """The secret Sekoia.io should hold: an interrupted hand-over's, else the held one, else the newest usable."""
        for candidate in (self.slot(self.pushing), self.held):
            if candidate is not None and candidate.usable:
                return candidate
        usable = [s for s in self.slots if s.usable]
        return max(usable, key=lambda s: s.start_date or "") if usable else None

    def retiring_slot(self) -> Slot | None:
        """The slot a recorded hand-over retires, once no one can be using it."""
        slot = self.slot(self.retiring)
        return slot if slot is not None and not self.pushing and _lower(slot.key_id) not in self.protected else None

    def to_dict(self) -> dict[str, Any]:
        held = self.held
        return {"held_slot": held.name if held else None, "held_key_id": self.pushed,
                "handover": {"pushing": self.pushing, "retiring": self.retiring} if self.pushing or self.retiring
                else None, "slots": [s.to_dict() for s in self.slots]}


def _same_or_entra(recorded: str | None, entra: str | None) -> str | None:
    """Entra ID's end date where it differs from the state's (moved behind Terraform's back), else the state's
    spelling of the same instant (Graph writes 7 decimal places)."""
    if not entra:
        return recorded
    if recorded and _instant(recorded) == _instant(entra):
        return recorded
    moment = _instant(entra)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else entra


def _instant(text: str) -> dt.datetime | None:
    try:
        moment = dt.datetime.fromisoformat(re.sub(r"(\.\d{6})\d+", r"\1", str(text)).replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)).replace(microsecond=0)


def read_credentials(graph: Any, application_object_id: str) -> list[dict[str, Any]]:
    """Entra ID's password credentials of the application (key IDs and dates; never a secret)."""
    app = graph.get(f"/applications/{application_object_id}", {"$select": "id,passwordCredentials"})
    return list(app.get("passwordCredentials") or [])


def outputs_for(outputs: Mapping[str, Any], slot: Slot) -> dict[str, Any]:
    """The outputs with `slot`'s secret as the client secret: what a hand-over gives Sekoia.io."""
    values = reveal(outputs.get("secret_values"))
    value = values.get(slot.name) if isinstance(values, Mapping) else None
    if value is None:
        raise SekoiaSSOError(f"the Terraform outputs hold no secret for slot {slot.name}: run "
                             "`sekoia-sso apply` to create it")
    return {**outputs, "client_secret": Secret(value), "client_secret_key_id": slot.key_id,
            "client_secret_end_date": slot.end_date}


# ----------------------------------------------------------------------------------------------
# What a Terraform plan does to the secrets


@dataclass(frozen=True)
class SecretPlan:
    """How the secrets fare in an apply: read before anything is applied, shown in the combined plan."""

    ledger: Ledger
    threatened: bool  # the plan deletes or replaces the secret Sekoia.io holds
    application_replaced: bool  # a new client ID: SSO breaks until Sekoia.io has it
    rotation_due: bool
    lost: str | None  # why the held secret no longer logs anyone in (deleted, expired), if so
    rotate_before_days: int

    @classmethod
    def of(cls, ledger: Ledger, summary: Any, *, rotate_before_days: int, applied: bool) -> SecretPlan:
        held = ledger.held
        changes = {c.address: c.action for c in getattr(summary, "resource_changes", ())}
        threatened = held is not None and held.usable and changes.get(password_address(held.name)) in (
            "delete", "replace", "create")
        application_replaced = applied and changes.get(APPLICATION) in ("replace", "delete", "create")
        lost = None
        if held is None and ledger.pushed:
            lost = (f"the secret Sekoia.io holds (key ID {ledger.pushed}) is no longer in the Terraform state "
                    "or in Entra ID")
        elif held is not None and not held.in_entra:
            lost = f"the secret Sekoia.io holds (slot {held.name}, key ID {held.key_id}) was deleted outside Terraform"
        elif held is not None and held.expired:
            lost = f"the secret Sekoia.io holds (slot {held.name}, key ID {held.key_id}) expired on {held.end_date}"
        left = held.days_left if held is not None else None
        due = (held is not None and held.in_entra and left is not None and left <= rotate_before_days
               and not application_replaced)
        return cls(ledger, bool(threatened and not application_replaced), application_replaced, due, lost,
                   rotate_before_days)

    def lines(self) -> list[str]:
        """The combined plan's words for what happens to the client secret."""
        held = self.ledger.held
        lines = []
        if self.application_replaced:
            lines.append("THE APPLICATION IS REPLACED: it gets a new client ID and new secrets. SSO logins FAIL from "
                         "the Terraform apply until Sekoia.io has the new client ID and secret, moments later "
                         "(if this run stops in between, re-run it).")
        if self.lost:
            lines.append(f"SSO logins are broken now: {self.lost}. This apply gives Sekoia.io a working secret.")
        if self.threatened and held is not None:
            standby = self.ledger.other(held)
            lines.append(f"The plan replaces the secret Sekoia.io holds (slot {held.name}). First slot "
                         f"{standby.name} gets a fresh secret and Sekoia.io is moved to it, then the plan is applied.")
        if self.ledger.pushing or self.ledger.retiring:
            lines.append("A secret hand-over was interrupted: this apply finishes it.")
        if self.rotation_due and held is not None:
            standby = self.ledger.other(held)
            left = held.days_left or 0.0
            when = f"expired {-left:.0f} days ago" if left <= 0 else f"expires in {left:.0f} days"
            lines.append(f"Rotation: the secret of slot {held.name} {when} (window: {self.rotate_before_days} days). "
                         f"After the apply: slot {standby.name} gets a fresh secret, Entra ID is checked to accept "
                         f"it, Sekoia.io is moved to it, then slot {held.name}'s secret is replaced.")
        return lines

    @property
    def has_work(self) -> bool:
        return bool(self.lost or self.threatened or self.rotation_due or self.application_replaced
                    or self.ledger.pushing or self.ledger.retiring)


# ----------------------------------------------------------------------------------------------
# Entra ID must accept a secret before Sekoia.io gets it


def wait_until_accepted(token_url: str, client_id: str, secret: Any, *, scope: str,
                        timeout: float = ACCEPT_TIMEOUT, sleep: Callable[[float], None] = time.sleep) -> float:
    """Ask Entra ID for a token with the secret until it works; the seconds waited. SecretUnsafeError past `timeout`."""
    import httpx

    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": reveal(secret),
            "scope": scope}
    started = time.monotonic()
    delay = 0.25
    with httpx.Client(timeout=15.0, follow_redirects=False) as http:
        for tries in itertools.count():
            try:
                response = http.post(token_url, data=form)
                if response.status_code == 200:
                    return time.monotonic() - started if tries else 0.0
                status = f"HTTP {response.status_code}"
            except httpx.TransportError as exc:
                status = type(exc).__name__
            if time.monotonic() - started > timeout:
                raise SecretUnsafeError(
                    f"Entra ID does not accept the new client secret after {timeout:.0f} s ({status}); Sekoia.io "
                    "keeps the secret it holds. Re-run later: the hand-over goes on from here.")
            sleep(delay)  # a new secret takes seconds to reach every replica
            delay = min(delay * 2, 5.0)
    raise AssertionError("unreachable: the loop above returns or raises")


# ----------------------------------------------------------------------------------------------
# Doing it with Terraform: targeted plans on the slots and the records


class TerraformSecrets:
    """The slots and records of one environment, changed through targeted saved plans.

    Also the hand-over `connect` calls around its write (before_push / after_push), so every path
    that pushes a secret waits for Entra ID and records the hand-over the same way.
    """

    def __init__(self, runner: Any, plan_path: Any, *, accept: Callable[[str, Any], float],
                 note: Callable[[str], None], slot_name: str | None = None):
        self.runner = runner
        self.plan_path = plan_path
        self.accept = accept  # (client_id, secret) -> seconds waited until Entra ID accepted it
        self.note = note
        self.slot_name = slot_name  # the slot being handed over to: its outputs follow the records

    # -- the records

    def _apply_targeted(self, slot_name: str | None, *, replace: list[str], variables: dict[str, Any] | None = None,
                        allowed: Callable[[Any], bool] = lambda change: False, doing: str) -> None:
        targets = [PUSHED_RECORD, HANDOVER_RECORD, *([password_address(slot_name)] if slot_name else [])]
        plan = self.runner.plan(self.plan_path, vars=variables, replace=replace, targets=targets)
        try:
            if not plan.has_changes:
                return
            summary = self.runner.show_plan(plan.plan_path)
            foreign = [f"{c.address} ({c.action})" for c in summary.resource_changes
                       if c.address not in replace and not _harmless(c) and not allowed(c)]
            if foreign:
                raise SecretUnsafeError(
                    f"to {doing}, Terraform would also change {', '.join(foreign)}; nothing was applied. Apply the "
                    "environment's pending changes first (`sekoia-sso apply`)")
            self.runner.apply(plan.plan_path)
        finally:
            Path(plan.plan_path).unlink(missing_ok=True)

    def record(self, *, pushed: str | None = None, handover: dict[str, str | None] | None | bool = False) -> None:
        """Write the records: `pushed` when given; `handover` when not False (None clears it)."""
        replace: list[str] = []
        variables: dict[str, Any] = {}
        if pushed is not None:
            replace.append(PUSHED_RECORD)
            variables[PUSHED_VARIABLE] = pushed
        if handover is not False:
            replace.append(HANDOVER_RECORD)
            if handover is not None:
                variables[HANDOVER_VARIABLE] = handover
        self._apply_targeted(self.slot_name, replace=replace, variables=variables,
                             doing="record what Sekoia.io holds")

    # -- the slots

    def replace_slot(self, ledger: Ledger, slot: Slot, *, why: str,
                     allowed: Callable[[Any], bool] = lambda change: False) -> None:
        """A fresh secret in `slot` (today + validity_days); refused for a secret Sekoia.io may hold."""
        if _lower(slot.key_id) in ledger.protected:
            raise SecretUnsafeError(f"slot {slot.name} holds the secret Sekoia.io uses (key ID {slot.key_id}); it "
                                    "is not replaced")
        self.note(f"slot {slot.name}: a fresh secret ({why})")
        self._apply_targeted(
            slot.name, replace=[password_address(slot.name)] if slot.key_id else [],
            allowed=lambda change: change.address == password_address(slot.name) or allowed(change),
            doing=f"give slot {slot.name} a fresh secret",
        )

    # -- the hand-over, called by connect around the write

    def before_push(self, target: Any) -> None:
        waited = self.accept(target.client_id, target.client_secret)
        self.note(f"Entra ID accepts the secret with key ID {target.client_secret_key_id}"
                  + (f" (after {waited:.1f} s)" if waited else ""))
        self.record(handover={"pushing": target.client_secret_key_id, "retiring": target.pushed_secret_key_id})

    def after_push(self, target: Any) -> None:
        retiring = target.pushed_secret_key_id
        if retiring and _lower(retiring) != _lower(target.client_secret_key_id):
            handover: dict[str, str | None] | None = {"pushing": None, "retiring": retiring}
        else:
            handover = None
        self.record(pushed=target.client_secret_key_id, handover=handover)

    def finish(self, ledger: Ledger) -> bool:
        """Step 5 of a recorded hand-over: the retired slot replaced, the hand-over cleared. Whether it did anything."""
        if ledger.pushing or not ledger.retiring:
            return False
        retired = ledger.retiring_slot()
        if retired is not None:
            self.replace_slot(ledger, retired, why="Sekoia.io no longer uses its secret, which now stops working")
        self.record(handover=None)
        return True


def _harmless(change: Any) -> bool:
    """Changes a targeted plan may carry: the records, and reads."""
    return change.address in (PUSHED_RECORD, HANDOVER_RECORD) or change.action in ("no-op", "read")


# ----------------------------------------------------------------------------------------------
# The one wiring of an environment's Sekoia.io half: apply, connect and rotate all push through here


def terraform_secrets(env: Any, workspace: Any, runner: Any, note: Callable[[str], None],
                      slot_name: str | None = None) -> TerraformSecrets:
    from orchestrator.endpoints import require_https

    endpoints = workspace.endpoints
    token_url = require_https(endpoints.resolve(f"{endpoints.login_url}/{env.config.tenant_id}/oauth2/v2.0/token"),
                              what="the Entra ID token endpoint")

    def accept(client_id: str, secret: Any) -> float:
        return wait_until_accepted(token_url, client_id, secret, scope=f"{endpoints.graph_url}/.default")

    return TerraformSecrets(runner, workspace.data_dir / "secrets.tfplan", accept=accept, note=note,
                            slot_name=slot_name)


CredentialsReader = Callable[[], list[dict[str, Any]]]


def push_to_sekoia(client: Any, env: Any, workspace: Any, runner: Any, outputs: Mapping[str, Any], *,
                   credentials: CredentialsReader | None, reporter: Any, wait: bool, timeout: float, poll: Any,
                   show_secret: bool = False, slot_name: str | None = None,
                   take_over: bool = False, previous_client_ids: tuple[str, ...] = (),
                   owner_of: Callable[[str], str] | None = None, show_plan: bool = True) -> Any:
    """connect() with the secret Sekoia.io should hold and the hand-over in the state, then its last step.

    `slot_name`: the slot to hand over to (a rotation); default Ledger.to_push(). `credentials` reads
    Entra ID's passwords afresh (None: trust the state, for `connect`, which needs no Graph access)."""
    from orchestrator.entra.discovery import check_tenant_discovery
    from orchestrator.sekoia.connect import connect
    from orchestrator.sekoia.settings import SekoiaTarget

    ledger = Ledger.read(outputs, credentials() if credentials else None)
    slot = ledger.named(slot_name) if slot_name else ledger.to_push()
    target = SekoiaTarget.from_outputs(env, outputs_for(outputs, slot) if slot else outputs, take_over=take_over,
                                       previous_client_ids=previous_client_ids)
    endpoints = workspace.endpoints
    secrets = terraform_secrets(env, workspace, runner, reporter.note,
                                slot.name if slot else reveal(outputs.get("active_secret_slot")))
    result = connect(
        client, target,
        check_discovery=lambda: check_tenant_discovery(target.provider_url, target.tenant_id, endpoints=endpoints),
        handover=secrets, reporter=reporter, wait=wait, timeout=timeout, poll=poll, show_secret=show_secret,
        owner_of=owner_of, show_plan=show_plan,
    )
    secrets.finish(Ledger.read(runner.outputs()))
    return result


def rotate_secret(client: Any, env: Any, workspace: Any, runner: Any, *, credentials: CredentialsReader,
                  reporter: Any, wait: bool, timeout: float, poll: Any, why: str,
                  allowed: Callable[[Any], bool] = lambda change: False) -> Slot:
    """A fresh secret in the standby slot, handed over to Sekoia.io; the old one replaced. The new slot."""
    ledger = Ledger.read(runner.outputs(), credentials())
    held = ledger.held
    if held is None or ledger.pushing:
        raise SecretUnsafeError("Sekoia.io's secret is not recorded as held (a first push or an interrupted "
                                f"hand-over is due): run `sekoia-sso apply {env.name}` first")
    standby = ledger.other(held)
    terraform_secrets(env, workspace, runner, reporter.note).replace_slot(ledger, standby, why=why, allowed=allowed)
    push_to_sekoia(client, env, workspace, runner, runner.outputs(), credentials=credentials, reporter=reporter,
                   wait=wait, timeout=timeout, poll=poll, slot_name=standby.name)
    return Ledger.read(runner.outputs()).named(standby.name)
