# Values the azuread provider computes, for `mock_provider "azuread" { source = "./tests/mocks" }`.
# GUIDs where the provider validates a GUID (owners, client IDs, object IDs); each test overrides
# what it looks at (a group's or a secret slot's own values) with override_data/override_resource.

mock_data "azuread_client_config" {
  defaults = {
    tenant_id = "7e1f0c4a-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
    object_id = "0b5e3c1d-9f2a-4b6c-8d7e-1f0a2b3c4d5e"
    client_id = "c3d4e5f6-a7b8-4c9d-8e0f-1a2b3c4d5e6f"
  }
}

mock_data "azuread_group" {
  defaults = {
    object_id = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"
  }
}

mock_data "azuread_user" {
  defaults = {
    object_id = "4d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b1a"
  }
}

mock_data "azuread_service_principal" {
  defaults = {
    object_id = "6e7f8a9b-0c1d-4e2f-8a3b-4c5d6e7f8a9b"
  }
}

mock_resource "azuread_application" {
  defaults = {
    id        = "/applications/1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
    object_id = "1f2e3d4c-5b6a-4978-8695-a4b3c2d1e0f9"
    client_id = "2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d"
  }
}

mock_resource "azuread_service_principal" {
  defaults = {
    id        = "/servicePrincipals/5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
    object_id = "5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f"
  }
}

mock_resource "azuread_application_password" {
  defaults = {
    key_id     = "8f9e0d1c-2b3a-4c4d-9e5f-6a7b8c9d0e1f"
    start_date = "2026-01-01T00:00:00Z"
    value      = "mock-secret-value"
  }
}
