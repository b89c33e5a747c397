# Every input: explicit owners, groups and users by name and by object ID, the key ID of the
# secret the consumer uses (client_secret follows it), admin consent, legacy FRA2 callback.
provider "azuread" {}

module "sekoia_sso" {
  source = "../.."

  display_name     = "Sekoia.io (FRA2)"
  sign_in_audience = "AzureADMyOrg"
  redirect_uris    = ["https://app.fra2.sekoia.io/user/callback", "https://fra2.app.sekoia.io/user/callback"]
  owners           = var.owner_object_ids
  notes            = "Sekoia.io single sign-on; managed by Terraform."
  tags             = ["sekoia-sso"]
  admin_consent    = true
  login_url        = var.login_url

  secret_validity_days = 90
  active_secret_key_id = var.active_secret_key_id

  assignment_required  = true
  group_names          = ["SOC Analysts", "SOC Leads"]
  group_object_ids     = var.extra_group_object_ids
  user_principal_names = ["ivan@contoso.example"]
  user_object_ids      = var.extra_user_object_ids
}
