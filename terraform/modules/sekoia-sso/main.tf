locals {
  # This module's version (CHANGELOG.md): a root that vendors the module can tell which one it has.
  module_version = "1.0.0"

  microsoft_graph_app_id     = "00000003-0000-0000-c000-000000000000"
  default_access_app_role_id = "00000000-0000-0000-0000-000000000000"

  # Delegated Microsoft Graph permissions an OIDC login needs (ids: Microsoft Graph permission reference).
  graph_delegated_scopes = {
    openid      = "37f7f235-527c-4136-accd-4a02d197296e"
    profile     = "14dad69e-099b-42c9-810b-d002981feec1"
    email       = "64a6cdd6-aab1-4aaf-94b8-3cc8405e90d0"
    "User.Read" = "e1fe6dd8-ba31-4d61-89e7-88639da4683d"
  }

  # Sekoia.io needs email, first, last and full name in the ID token.
  id_token_claims = ["email", "family_name", "given_name"]

  owners = length(var.owners) > 0 ? var.owners : [data.azuread_client_config.current.object_id]

  # Two client secrets, always (the key0/key1 pattern): the one in use and a standby. A rotation
  # replaces the standby, moves the consumer to it, then replaces the old one; no plan of this
  # configuration ever deletes a slot, so no committed revision can delete the secret in use.
  secret_slots = toset(["blue", "green"])

  # try(): a slot deleted outside Terraform is absent from the state until it is planned again.
  secret_key_ids    = { for slot in local.secret_slots : slot => try(azuread_application_password.this[slot].key_id, null) }
  secret_start_date = { for slot in local.secret_slots : slot => try(azuread_application_password.this[slot].start_date, null) }
  newest_slot = try(
    timecmp(local.secret_start_date["green"], local.secret_start_date["blue"]) > 0 ? "green" : "blue",
    local.secret_start_date["blue"] != null ? "blue" : "green",
  )
  slots_with_active_key = [
    for slot, key_id in local.secret_key_ids : slot
    if var.active_secret_key_id != null && key_id != null && lower(coalesce(key_id, "-")) == lower(coalesce(var.active_secret_key_id, "-"))
  ]
  active_slot = length(local.slots_with_active_key) > 0 ? local.slots_with_active_key[0] : local.newest_slot

  # Keys are known at plan time (they come from variables), so assignments never churn.
  assignees = merge(
    { for name in var.group_names : "group:${name}" => data.azuread_group.by_name[name].object_id },
    { for id in var.group_object_ids : "group:${lower(id)}" => id },
    { for upn in var.user_principal_names : "user:${lower(upn)}" => data.azuread_user.by_upn[upn].object_id },
    { for id in var.user_object_ids : "user:${lower(id)}" => id },
  )

  tenant_id       = data.azuread_client_config.current.tenant_id
  tenant_endpoint = "${var.login_url}/${local.tenant_id}/"
}

data "azuread_client_config" "current" {}

data "azuread_group" "by_name" {
  for_each = toset(var.group_names)

  display_name     = each.value
  security_enabled = true
}

data "azuread_user" "by_upn" {
  for_each = toset(var.user_principal_names)

  user_principal_name = each.value
}

resource "azuread_application" "this" {
  display_name     = var.display_name
  sign_in_audience = var.sign_in_audience
  owners           = local.owners
  notes            = var.notes
  tags             = var.tags

  web {
    redirect_uris = var.redirect_uris

    implicit_grant {
      access_token_issuance_enabled = false
      id_token_issuance_enabled     = false
    }
  }

  optional_claims {
    dynamic "id_token" {
      for_each = local.id_token_claims
      content {
        name      = id_token.value
        essential = true
      }
    }
  }

  required_resource_access {
    resource_app_id = local.microsoft_graph_app_id

    dynamic "resource_access" {
      for_each = local.graph_delegated_scopes
      content {
        id   = resource_access.value
        type = "Scope"
      }
    }
  }
}

# Each secret's end date is fixed when it is created: plantimestamp() moves on every plan, so
# later plans ignore the new value. A secret created again (after a deletion in the portal, or
# by a rotation's -replace) is planned afresh and gets today + secret_validity_days.
resource "azuread_application_password" "this" {
  for_each = local.secret_slots

  application_id = azuread_application.this.id
  display_name   = "sekoia-sso-${each.key}"
  end_date       = timeadd(plantimestamp(), "${var.secret_validity_days * 24}h")

  lifecycle {
    ignore_changes = [end_date]
  }
}

resource "azuread_service_principal" "this" {
  client_id                    = azuread_application.this.client_id
  app_role_assignment_required = var.assignment_required
  owners                       = local.owners
  notes                        = var.notes
  tags                         = var.tags
}

resource "azuread_app_role_assignment" "this" {
  for_each = local.assignees

  app_role_id         = local.default_access_app_role_id
  principal_object_id = each.value
  resource_object_id  = azuread_service_principal.this.object_id
}

data "azuread_service_principal" "microsoft_graph" {
  count = var.admin_consent ? 1 : 0

  client_id = local.microsoft_graph_app_id
}

resource "azuread_service_principal_delegated_permission_grant" "this" {
  count = var.admin_consent ? 1 : 0

  service_principal_object_id          = azuread_service_principal.this.object_id
  resource_service_principal_object_id = data.azuread_service_principal.microsoft_graph[0].object_id
  claim_values                         = keys(local.graph_delegated_scopes)
}
