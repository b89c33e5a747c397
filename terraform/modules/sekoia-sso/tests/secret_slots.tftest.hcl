# The two client secret slots through a rotation, as a consumer (Sekoia.io) lives it. The runs
# share one state, in order: first apply, the consumer records the secret it holds, the standby is
# replaced (`-replace`), the consumer moves to it. client_secret follows active_secret_key_id,
# else the newest secret; no run ever deletes the slot in use.

mock_provider "azuread" {
  source = "./tests/mocks"
}

variables {
  display_name         = "Sekoia.io"
  redirect_uris        = ["https://app.sekoia.io/user/callback"]
  secret_validity_days = 90
}

run "first_apply_creates_two_slots_and_outputs_the_newest" {
  override_resource {
    target = azuread_application_password.this["blue"]
    values = { key_id = "b1b1b1b1-0000-4000-8000-000000000001", start_date = "2026-01-01T10:00:00Z", value = "blue-secret-1" }
  }
  override_resource {
    target = azuread_application_password.this["green"]
    values = { key_id = "a2a2a2a2-0000-4000-8000-000000000002", start_date = "2026-01-01T10:00:01Z", value = "green-secret-1" }
  }

  assert {
    condition     = keys(azuread_application_password.this) == ["blue", "green"]
    error_message = "The module must keep exactly two secret slots, blue and green."
  }
  assert {
    condition     = [for slot in azuread_application_password.this : slot.display_name] == ["sekoia-sso-blue", "sekoia-sso-green"]
    error_message = "Each secret must be named after its slot."
  }
  assert {
    condition     = output.active_secret_slot == "green" && output.client_secret == "green-secret-1"
    error_message = "With active_secret_key_id null, client_secret is the newest secret (green, one second younger)."
  }
  assert {
    condition     = output.client_secret_key_id == "a2a2a2a2-0000-4000-8000-000000000002"
    error_message = "client_secret_key_id is not the newest slot's key ID."
  }
  assert {
    condition     = timecmp(azuread_application_password.this["blue"].end_date, timeadd(plantimestamp(), "2159h")) > 0 && timecmp(azuread_application_password.this["blue"].end_date, timeadd(plantimestamp(), "2161h")) < 0
    error_message = "A new secret must end secret_validity_days (90) after the plan."
  }
}

run "the_consumer_holds_green" {
  variables {
    active_secret_key_id = "a2a2a2a2-0000-4000-8000-000000000002"
  }

  assert {
    condition     = output.active_secret_slot == "green" && output.client_secret == "green-secret-1"
    error_message = "client_secret must be the secret whose key ID is active_secret_key_id."
  }
}

run "a_new_validity_leaves_existing_secrets_alone" {
  variables {
    active_secret_key_id = "a2a2a2a2-0000-4000-8000-000000000002"
    secret_validity_days = 30
  }

  assert {
    condition     = output.secrets == run.first_apply_creates_two_slots_and_outputs_the_newest.secrets
    error_message = "Changing secret_validity_days must not touch the secrets in place (their end date is fixed at creation)."
  }
}

run "rotation_replaces_the_standby_and_the_consumer_keeps_its_secret" {
  variables {
    active_secret_key_id = "a2a2a2a2-0000-4000-8000-000000000002"
  }

  plan_options {
    replace = [azuread_application_password.this["blue"]]
  }

  override_resource {
    target = azuread_application_password.this["blue"]
    values = { key_id = "b3b3b3b3-0000-4000-8000-000000000003", start_date = "2026-06-01T10:00:00Z", value = "blue-secret-2" }
  }

  assert {
    condition     = output.active_secret_slot == "green" && output.client_secret == "green-secret-1"
    error_message = "While the consumer holds green, client_secret stays green's even though blue is newer."
  }
  assert {
    condition     = output.secrets["blue"].key_id == "b3b3b3b3-0000-4000-8000-000000000003" && output.secrets["green"].key_id == "a2a2a2a2-0000-4000-8000-000000000002"
    error_message = "A rotation replaces the standby only: the secret in use keeps its key ID."
  }
  assert {
    condition     = output.secret_values["blue"] == "blue-secret-2"
    error_message = "secret_values must hand the new standby secret over before the consumer moves."
  }
}

run "the_consumer_moves_to_blue" {
  variables {
    active_secret_key_id = "b3b3b3b3-0000-4000-8000-000000000003"
  }

  assert {
    #checkov:skip=CKV_SECRET_6: a mock provider's made-up secret, compared with the output, not a credential
    condition     = output.active_secret_slot == "blue" && output.client_secret == "blue-secret-2"
    error_message = "client_secret must follow active_secret_key_id to blue."
  }
  assert {
    condition     = output.client_secret_end_date == output.secrets["blue"].end_date
    error_message = "client_secret_end_date must be the active slot's."
  }
}

run "the_key_id_is_compared_without_case" {
  command = plan

  variables {
    active_secret_key_id = "B3B3B3B3-0000-4000-8000-000000000003"
  }

  assert {
    condition     = output.active_secret_slot == "blue"
    error_message = "active_secret_key_id must match a slot's key ID whatever its case."
  }
}

run "the_old_key_id_names_green_while_green_holds_it" {
  command = plan

  variables {
    active_secret_key_id = "a2a2a2a2-0000-4000-8000-000000000002"
  }

  assert {
    condition     = output.active_secret_slot == "green"
    error_message = "The old key ID still names green while green holds it."
  }
}

run "a_key_id_no_slot_has_means_the_newest" {
  command = plan

  variables {
    active_secret_key_id = "00000000-0000-4000-8000-00000000dead"
  }

  assert {
    condition     = output.active_secret_slot == "blue"
    error_message = "A key ID no slot has must give the newest secret (blue, replaced last)."
  }
}

run "after_green_is_replaced_too_its_old_key_id_falls_back_to_the_newest" {
  variables {
    active_secret_key_id = "a2a2a2a2-0000-4000-8000-000000000002"
  }

  plan_options {
    replace = [azuread_application_password.this["green"]]
  }

  override_resource {
    target = azuread_application_password.this["green"]
    values = { key_id = "a4a4a4a4-0000-4000-8000-000000000004", start_date = "2026-06-01T10:05:00Z", value = "green-secret-2" }
  }

  assert {
    condition     = output.active_secret_slot == "green" && output.client_secret == "green-secret-2"
    error_message = "A key ID no slot holds any more must give the newest secret."
  }
  assert {
    condition     = length(output.secrets) == 2
    error_message = "Both slots must still exist."
  }
}
