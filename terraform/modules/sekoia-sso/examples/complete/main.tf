# Every input: explicit owners, groups and users by name and by object ID, the key ID of the
# secret the consumer uses (client_secret follows it), admin consent, legacy FRA2 callback.
terraform {
  # Terraform >= 1.5 is required by the module (its versions.tf): said once, there.
  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = "~> 3.7"
    }
  }
}

provider "azuread" {}

variable "owner_object_ids" {
  description = "Object IDs of the application's owners (empty: the identity running Terraform)."
  type        = list(string)
  default     = []
}

variable "extra_group_object_ids" {
  description = "Groups given by object ID."
  type        = list(string)
  default     = []
}

module "sekoia_sso" {
  source = "../.."

  display_name     = "Sekoia.io (FRA2)"
  sign_in_audience = "AzureADMyOrg"
  redirect_uris    = ["https://app.fra2.sekoia.io/user/callback", "https://fra2.app.sekoia.io/user/callback"]
  owners           = var.owner_object_ids
  notes            = "Sekoia.io single sign-on; managed by Terraform."
  tags             = ["sekoia-sso"]
  admin_consent    = true
  login_url        = "https://login.microsoftonline.com"

  secret_validity_days = 90
  active_secret_key_id = var.active_secret_key_id

  assignment_required  = true
  group_names          = ["SOC Analysts", "SOC Leads"]
  group_object_ids     = var.extra_group_object_ids
  user_principal_names = ["ivan@contoso.example"]
}

variable "active_secret_key_id" {
  description = "Key ID of the secret Sekoia.io holds (see the module README's rotation section); null: the newest."
  type        = string
  default     = null
}

output "client_id" {
  value = module.sekoia_sso.client_id
}

output "tenant_endpoint" {
  value = module.sekoia_sso.tenant_endpoint
}

output "discovery_url" {
  value = module.sekoia_sso.discovery_url
}

output "client_secret" {
  value     = module.sekoia_sso.client_secret
  sensitive = true
}

output "client_secret_key_id" {
  value = module.sekoia_sso.client_secret_key_id
}

output "secrets" {
  value = module.sekoia_sso.secrets
}

output "service_principal_object_id" {
  value = module.sekoia_sso.service_principal_object_id
}
