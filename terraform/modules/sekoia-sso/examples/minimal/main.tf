# The smallest useful call: one group may sign in to Sekoia.io (FRA1).
provider "azuread" {}

module "sekoia_sso" {
  source = "../.."

  display_name  = "Sekoia.io"
  redirect_uris = ["https://app.sekoia.io/user/callback"]
  group_names   = ["SOC Analysts"]
}
