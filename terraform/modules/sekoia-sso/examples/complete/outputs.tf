# Every output of the module, passed through (the sensitive ones stay sensitive).

output "client_id" {
  description = "Sekoia.io's \"Your client ID\"."
  value       = module.sekoia_sso.client_id
}

output "tenant_endpoint" {
  description = "Sekoia.io's \"URL of your authentication provider\"."
  value       = module.sekoia_sso.tenant_endpoint
}

output "discovery_url" {
  description = "The tenant's OpenID Connect v2 discovery document."
  value       = module.sekoia_sso.discovery_url
}

output "client_secret" {
  description = "Sekoia.io's \"Your client secret\": the secret whose key ID is active_secret_key_id, else the newest."
  value       = module.sekoia_sso.client_secret
  sensitive   = true
}

output "client_secret_key_id" {
  description = "Key ID of client_secret: what to set active_secret_key_id to once Sekoia.io holds it."
  value       = module.sekoia_sso.client_secret_key_id
}

output "client_secret_end_date" {
  description = "End date of client_secret (RFC 3339)."
  value       = module.sekoia_sso.client_secret_end_date
}

output "active_secret_slot" {
  description = "The slot (blue or green) whose secret is client_secret."
  value       = module.sekoia_sso.active_secret_slot
}

output "secrets" {
  description = "Both slots' key IDs, start and end dates (no values)."
  value       = module.sekoia_sso.secrets
}

output "secret_values" {
  description = "Both slots' secrets, by slot: what a rotation hands Sekoia.io before the old one goes."
  value       = module.sekoia_sso.secret_values
  sensitive   = true
}

output "application_object_id" {
  description = "Object ID of the application."
  value       = module.sekoia_sso.application_object_id
}

output "service_principal_object_id" {
  description = "Object ID of the service principal (the Enterprise application)."
  value       = module.sekoia_sso.service_principal_object_id
}

output "tenant_id" {
  description = "Tenant the application lives in."
  value       = module.sekoia_sso.tenant_id
}

output "redirect_uris" {
  description = "Web redirect URIs registered on the application."
  value       = module.sekoia_sso.redirect_uris
}

output "module_version" {
  description = "Version of the sekoia-sso module."
  value       = module.sekoia_sso.module_version
}
