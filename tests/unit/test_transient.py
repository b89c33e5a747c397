"""The table of transient Terraform failures against the texts Terraform prints for them.

The first three texts were captured from real Terraform 1.11 runs against the emulated provider (which
uses the real provider's error texts, sandbox/README.md's fidelity list); the others are built the same way
from the summaries in the azuread 3.7.0 source they cite."""

from __future__ import annotations

import pytest

from orchestrator.terraform.diagnostics import error_blocks
from orchestrator.terraform.transient import TRANSIENT_PATTERNS, TransientRetry, transient_failure

# An application's object ID as the emulator made it in the captured run: an identifier, not a credential.
APPLICATION_ID = "baeaff52-849e-4a0f-bb97-5af6a522aee0"
NOT_FOUND = ("unexpected status 404 (404 Not Found) with error: Request_ResourceNotFound:\n"
             "Resource '81baed9f-4c81-47eb-a315-bc554392f8f4' does not exist or one of its\n"
             "queried reference-property objects are not present.")


def block(summary: str, address: str = "", detail: str = NOT_FOUND) -> str:
    where = (f"\n  with {address},\n  on main.tf line 75, in resource \"{address.split('.')[0]}\" "
             f"\"{address.split('.')[-1]}\":\n  75: resource \"x\" \"y\" {{\n") if address else ""
    return f"\nError: {summary}\n{where}\n{detail}\n"


# (label, Terraform's stderr, the pattern's name)
TRANSIENT_TEXTS = [
    ("service principal PATCH 404 (captured)",
     block("Timed out whilst waiting for new service principal to be replicated in Azure AD",
           "azuread_service_principal.sso"), "new service principal not replicated yet"),
    ("read after create dropped the object (captured)",
     "\nError: Provider returned invalid result object after apply\n\nAfter applying a Create plan, the provider "
     "returned a null object for\nazuread_application.dropped. Only destroying should always produce a null\n"
     "value, so this is always a bug in the provider and should be reported in the\nprovider's own repository.\n",
     "new object dropped by the read after its create"),
    ("password's application read (captured)",
     block(f'Application (Application: "{APPLICATION_ID}") was not found',
           "azuread_application_password.p", detail=""), "application not replicated yet (password)"),
    ("older Terraform: inconsistent result",
     "\nError: Provider produced inconsistent result after apply\n\nWhen applying changes to "
     "azuread_service_principal.sso, provider\n\"provider[\\\"registry.terraform.io/hashicorp/azuread\\\"]\" produced "
     "an unexpected new\nvalue: Root object was present, but now absent.\n\nThis is a bug in the provider, which "
     "should be reported in the provider's own\nissue tracker.\n", "new object dropped by the read after its create"),
    ("application PATCH retries ran out",
     block("Timed out whilst waiting for new application to be replicated in Azure AD", "azuread_application.sso"),
     "new application not replicated yet"),
    ("password sightings met a 404",
     block(f'Waiting for password credential for Application (Application: "{APPLICATION_ID}")',
           "azuread_application_password.p"), "new password not listed yet"),
    ("assignment's service principal check",
     block('Service principal not found for resource (Object ID: "81baed9f-4c81-47eb-a315-bc554392f8f4")',
           "azuread_app_role_assignment.groups"), "service principal not replicated yet (assignment or grant)"),
    ("grant's service principal check",
     block('Service Principal (Object ID: "81baed9f-4c81-47eb-a315-bc554392f8f4") was not found',
           "azuread_service_principal_delegated_permission_grant.sso"),
     "service principal not replicated yet (assignment or grant)"),
    ("service principal POST retries ran out",
     block("Could not create service principal", "azuread_service_principal.sso",
           detail="unexpected status 400 (400 Bad Request) with error: Request_BadRequest: The appId\n"
                  "'0f1c...' of the service principal does not reference a valid application object."),
     "application not replicated yet (service principal)"),
]

NOT_TRANSIENT = [
    ("no permission", block("Could not create application", "azuread_application.sso",
                            detail="unexpected status 403 (403 Forbidden) with error: Authorization_RequestDenied:\n"
                                   "Insufficient privileges to complete the operation.")),
    ("already exists", block('A resource with the ID "81baed9f-4c81-47eb-a315-bc554392f8f4" already exists',
                             "azuread_service_principal.sso",
                             detail="To be managed via Terraform, this resource needs to be imported into the State.")),
    ("a 404 of the password wait is not a timeout of something else",
     block("Waiting for password credential for Application (Application: \"x\")", "azuread_application_password.p",
           detail="unexpected status 403 (403 Forbidden) with error: Authorization_RequestDenied: no")),
    ("an unrelated null object", "\nError: Provider returned invalid result object after apply\n\nAfter applying a "
                                 "Create plan, the provider returned a null object for\nrandom_id.x.\n"),
]


def paragraphs(stderr: str) -> list[str]:
    return [b.paragraph() for b in error_blocks(stderr)]


@pytest.mark.parametrize(("label", "stderr", "name"), TRANSIENT_TEXTS, ids=[t[0] for t in TRANSIENT_TEXTS])
def test_each_known_transient_text_is_recognised(label, stderr, name):
    found = transient_failure(paragraphs(stderr))
    assert found is not None and found.name == name, label


@pytest.mark.parametrize(("label", "stderr"), NOT_TRANSIENT, ids=[t[0] for t in NOT_TRANSIENT])
def test_other_failures_are_not_transient(label, stderr):
    assert transient_failure(paragraphs(stderr)) is None, label


def test_one_lasting_error_among_transient_ones_makes_the_failure_lasting():
    lag, lasting = TRANSIENT_TEXTS[0][1], NOT_TRANSIENT[0][1]
    assert transient_failure(paragraphs(lag + lag)) is not None
    assert transient_failure(paragraphs(lag + lasting)) is None
    assert transient_failure([]) is None


def test_every_pattern_is_exercised_by_a_real_text():
    covered = {t[2] for t in TRANSIENT_TEXTS}
    assert covered == {p.name for p in TRANSIENT_PATTERNS}


def test_retry_policy_backs_off_bounded_and_parses_its_setting():
    policy = TransientRetry(attempts=5, first_wait=5, max_wait=12)
    assert [policy.wait_before(n) for n in (2, 3, 4, 5)] == [5, 10, 12, 12]
    assert TransientRetry.from_text("3, 0.5, 2", source="X") == TransientRetry(3, 0.5, 2.0)
    for bad in ("", "3", "3,1", "a,b,c", "0,1,2", "3,5,1", "3,1,2,4", "30,1,2"):
        with pytest.raises(ValueError, match="^X"):
            TransientRetry.from_text(bad, source="X")
