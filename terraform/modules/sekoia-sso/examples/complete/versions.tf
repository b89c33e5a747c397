terraform {
  # The module's own constraints (its versions.tf), said again so this root can be copied on its own.
  required_version = ">= 1.5.0"

  required_providers {
    azuread = {
      source  = "hashicorp/azuread"
      version = ">= 3.7, < 4.0"
    }
  }
}
