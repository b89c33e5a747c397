# What the module outputs, from a mocked tenant: the values Sekoia.io's SSO form asks for, the
# objects' IDs, and where each comes from (the provider's computed values or the inputs).

mock_provider "azuread" {
  source = "./tests/mocks"
}

variables {
  display_name  = "Sekoia.io"
  redirect_uris = ["https://app.sekoia.io/user/callback", "https://app.usa1.sekoia.io/user/callback"]
}

run "outputs_of_a_public_cloud_tenant" {
  assert {
    condition     = output.client_id == "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
    error_message = "client_id is not the application's client ID."
  }
  assert {
    condition     = output.application_object_id == "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
    error_message = "application_object_id is not the application's object ID."
  }
  assert {
    condition     = output.service_principal_object_id == "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
    error_message = "service_principal_object_id is not the service principal's object ID."
  }
  assert {
    condition     = output.tenant_id == "7e1f0c4a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
    error_message = "tenant_id is not the tenant of the identity running Terraform."
  }
  assert {
    condition     = output.tenant_endpoint == "https://login.microsoftonline.com/7e1f0c4a-2b3d-4e5f-8a9b-0c1d2e3f4a5b/"
    error_message = "tenant_endpoint is not login host / tenant ID / (what Sekoia.io's form asks for)."
  }
  assert {
    condition     = output.discovery_url == "https://login.microsoftonline.com/7e1f0c4a-2b3d-4e5f-8a9b-0c1d2e3f4a5b/v2.0/.well-known/openid-configuration"
    error_message = "discovery_url is not the tenant's OpenID Connect v2 discovery document."
  }
  assert {
    condition     = output.redirect_uris == tolist(var.redirect_uris)
    error_message = "redirect_uris is not the input, in its order."
  }
  assert {
    condition     = output.module_version == "1.0.0"
    error_message = "module_version is not the version of CHANGELOG.md."
  }
  assert {
    #checkov:skip=CKV_SECRET_6: a mock provider's made-up secret, compared with the output, not a credential
    condition     = output.client_secret == "mock-secret-value" && output.client_secret_key_id == "8f9e0d1c-2b3a-4c4d-9e5f-6a7b8c9d0e1f"
    error_message = "client_secret / client_secret_key_id are not the active slot's."
  }
  assert {
    condition     = output.client_secret_end_date == azuread_application_password.this[output.active_secret_slot].end_date
    error_message = "client_secret_end_date is not the active slot's end date."
  }
  assert {
    condition     = keys(output.secrets) == ["blue", "green"] && alltrue([for slot in output.secrets : keys(slot) == ["end_date", "key_id", "start_date"]])
    error_message = "secrets must list both slots with key_id, start_date and end_date, and nothing else (no value)."
  }
  assert {
    condition     = keys(output.secret_values) == ["blue", "green"]
    error_message = "secret_values must hold both slots."
  }
}

run "the_application_asks_for_what_sekoia_needs" {
  command = plan

  assert {
    condition     = azuread_application.this.sign_in_audience == "AzureADMyOrg" && azuread_application.this.owners == toset(["0b5e3c1d-9f2a-4b6c-8d7e-1f0a2b3c4d5e"])
    error_message = "By default the application is single-tenant and owned by the identity running Terraform."
  }
  assert {
    condition     = azuread_application.this.web[0].redirect_uris == toset(var.redirect_uris)
    error_message = "The application's web redirect URIs are not the input."
  }
  assert {
    condition     = !azuread_application.this.web[0].implicit_grant[0].access_token_issuance_enabled && !azuread_application.this.web[0].implicit_grant[0].id_token_issuance_enabled
    error_message = "The implicit grant must stay off (Sekoia.io uses the authorization code flow)."
  }
  assert {
    condition     = toset([for claim in azuread_application.this.optional_claims[0].id_token : claim.name if claim.essential]) == toset(["email", "family_name", "given_name"])
    error_message = "The ID token must carry email, family_name and given_name, as essential claims."
  }
  assert {
    condition     = length(azuread_service_principal_delegated_permission_grant.this) == 0
    error_message = "Without admin_consent no tenant-wide consent is granted."
  }
}

run "outputs_of_a_us_government_tenant_with_admin_consent_and_owners" {
  command = plan

  variables {
    login_url     = "https://login.microsoftonline.us"
    admin_consent = true
    owners        = ["3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b"]
  }

  assert {
    condition     = output.tenant_endpoint == "https://login.microsoftonline.us/7e1f0c4a-2b3d-4e5f-8a9b-0c1d2e3f4a5b/"
    error_message = "tenant_endpoint must follow login_url."
  }
  assert {
    condition     = azuread_application.this.owners == toset(["3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b"]) && azuread_service_principal.this.owners == toset(["3e4f5a6b-7c8d-4e9f-8a0b-1c2d3e4f5a6b"])
    error_message = "Explicit owners replace the identity running Terraform, on the application and the service principal."
  }
  assert {
    condition     = azuread_service_principal_delegated_permission_grant.this[0].claim_values == toset(["openid", "profile", "email", "User.Read"])
    error_message = "admin_consent grants exactly openid, profile, email and User.Read."
  }
}
