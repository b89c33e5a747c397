output "client_id" {
  description = "Application (client) ID: Sekoia.io's \"Your client ID\"."
  value       = azuread_application.this.client_id
}

output "application_object_id" {
  description = "Object ID of the application."
  value       = azuread_application.this.object_id
}

output "service_principal_object_id" {
  description = "Object ID of the service principal (the Enterprise application)."
  value       = azuread_service_principal.this.object_id
}

output "tenant_id" {
  description = "Tenant ID the application lives in."
  value       = local.tenant_id
}

output "tenant_endpoint" {
  description = "Sekoia.io's \"URL of your authentication provider\": the authorization endpoint without /oauth2/v2.0/authorize."
  value       = local.tenant_endpoint
}

output "discovery_url" {
  description = "The tenant's OpenID Connect v2 discovery document."
  value       = "${local.tenant_endpoint}v2.0/.well-known/openid-configuration"
}

output "redirect_uris" {
  description = "Web redirect URIs registered on the application."
  value       = var.redirect_uris
}

output "active_secret_slot" {
  description = "The slot whose secret is output as client_secret: the one whose key ID is active_secret_key_id, else the newest."
  value       = local.active_slot
}

output "client_secret" {
  description = "The active client secret: Sekoia.io's \"Your client secret\"."
  value       = try(azuread_application_password.this[local.active_slot].value, null)
  sensitive   = true
}

output "client_secret_key_id" {
  description = "Key ID of the active client secret (safe to show; tells which secret is which)."
  value       = try(azuread_application_password.this[local.active_slot].key_id, null)
}

output "client_secret_end_date" {
  description = "End date of the active client secret (RFC 3339)."
  value       = try(azuread_application_password.this[local.active_slot].end_date, null)
}

output "secrets" {
  description = "Both secret slots with their key ID, start and end dates (no secret values)."
  value = {
    for slot, password in azuread_application_password.this : slot => {
      key_id     = password.key_id
      start_date = password.start_date
      end_date   = password.end_date
    }
  }
}

output "secret_values" {
  description = "Both secret slots' values, by slot: what a rotation hands to the consumer before the old secret goes."
  value       = { for slot, password in azuread_application_password.this : slot => password.value }
  sensitive   = true
}

output "module_version" {
  description = "Version of this module (its CHANGELOG.md)."
  value       = local.module_version
}
