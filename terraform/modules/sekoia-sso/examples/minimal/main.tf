# The smallest useful call: one group may sign in to Sekoia.io (FRA1).
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

module "sekoia_sso" {
  source = "../.."

  display_name  = "Sekoia.io"
  redirect_uris = ["https://app.sekoia.io/user/callback"]
  group_names   = ["SOC Analysts"]
}

output "client_id" {
  value = module.sekoia_sso.client_id
}

output "tenant_endpoint" {
  value = module.sekoia_sso.tenant_endpoint
}

output "client_secret" {
  value     = module.sekoia_sso.client_secret
  sensitive = true
}
