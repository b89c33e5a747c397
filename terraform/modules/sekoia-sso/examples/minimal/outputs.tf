# What Sekoia.io's SSO form asks for: `terraform output -raw tenant_endpoint`, `client_id`, `client_secret`.

output "tenant_endpoint" {
  description = "Sekoia.io's \"URL of your authentication provider\"."
  value       = module.sekoia_sso.tenant_endpoint
}

output "client_id" {
  description = "Sekoia.io's \"Your client ID\"."
  value       = module.sekoia_sso.client_id
}

output "client_secret" {
  description = "Sekoia.io's \"Your client secret\" (sensitive: read it with terraform output -raw client_secret)."
  value       = module.sekoia_sso.client_secret
  sensitive   = true
}
