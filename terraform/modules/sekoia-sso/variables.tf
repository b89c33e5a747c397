variable "display_name" {
  description = "Display name of the Entra ID application Sekoia.io signs users in with."
  type        = string

  validation {
    condition     = length(trimspace(var.display_name)) > 0 && length(var.display_name) <= 120
    error_message = "display_name must be 1 to 120 characters and not blank."
  }
}

variable "sign_in_audience" {
  description = "Who may sign in: AzureADMyOrg (this tenant only) or AzureADMultipleOrgs."
  type        = string
  default     = "AzureADMyOrg"

  validation {
    condition     = contains(["AzureADMyOrg", "AzureADMultipleOrgs"], var.sign_in_audience)
    error_message = "sign_in_audience must be AzureADMyOrg or AzureADMultipleOrgs."
  }
}

variable "redirect_uris" {
  description = "Web redirect URIs: the Sekoia.io region's callback, e.g. https://app.sekoia.io/user/callback."
  type        = list(string)

  validation {
    condition     = length(var.redirect_uris) > 0 && alltrue([for uri in var.redirect_uris : can(regex("^https://[^/]+/", uri))])
    error_message = "redirect_uris must hold at least one https:// URL with a path."
  }

  # Entra ID refuses a redirect URI longer than 256 characters.
  validation {
    condition     = alltrue([for uri in var.redirect_uris : length(uri) <= 256])
    error_message = "redirect_uris must each be at most 256 characters (Entra ID's limit)."
  }
}

variable "owners" {
  description = "Object IDs of the application's owners. Empty means the identity running Terraform."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.owners : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))])
    error_message = "owners must be object IDs (GUIDs)."
  }

  # Entra ID compares object IDs without case: two spellings of one would be added twice, which it refuses.
  validation {
    condition     = length(distinct([for value in var.owners : lower(value)])) == length(var.owners)
    error_message = "owners must not name one object ID twice (they are compared without case)."
  }
}

variable "notes" {
  description = "Free text shown on the application in Entra ID."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags set on the application and its service principal."
  type        = list(string)
  default     = []
}

variable "admin_consent" {
  description = "Grant tenant-wide admin consent for the delegated Graph permissions (openid, profile, email, User.Read). Needs DelegatedPermissionGrant.ReadWrite.All."
  type        = bool
  default     = false
}

variable "active_secret_key_id" {
  description = "Key ID of the client secret your consumer (Sekoia.io) uses: client_secret outputs that secret. Null, or a key ID no slot has: the newest secret. sekoia-sso sets it from its record of what Sekoia.io holds."
  type        = string
  default     = null
}

variable "secret_validity_days" {
  description = "How long each new client secret is valid, in days (1 to 730)."
  type        = number
  default     = 180

  validation {
    condition     = var.secret_validity_days >= 1 && var.secret_validity_days <= 730 && floor(var.secret_validity_days) == var.secret_validity_days
    error_message = "secret_validity_days must be a whole number from 1 to 730."
  }
}

variable "assignment_required" {
  description = "Only assigned users and groups may sign in (app_role_assignment_required on the service principal)."
  type        = bool
  default     = true
}

variable "group_names" {
  description = "Display names of the groups whose DIRECT members may sign in (nested groups get nothing). Each must match exactly one group."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for name in var.group_names : length(trimspace(name)) > 0 && length(name) <= 256])
    error_message = "group_names must each be 1 to 256 characters and not blank."
  }

  # Entra ID looks display names up without case: two spellings find one group, assigned twice, which it refuses.
  validation {
    condition     = length(distinct([for name in var.group_names : lower(name)])) == length(var.group_names)
    error_message = "group_names must not name one group twice (they are compared without case)."
  }
}

variable "group_object_ids" {
  description = "Object IDs of further groups whose direct members may sign in."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.group_object_ids : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))])
    error_message = "group_object_ids must be object IDs (GUIDs)."
  }

  # Entra ID compares object IDs without case: two spellings of one would be assigned twice, which it refuses.
  validation {
    condition     = length(distinct([for value in var.group_object_ids : lower(value)])) == length(var.group_object_ids)
    error_message = "group_object_ids must not name one object ID twice (they are compared without case)."
  }
}

variable "user_principal_names" {
  description = "User principal names (name@domain) of users who may sign in."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for upn in var.user_principal_names : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", upn))])
    error_message = "user_principal_names must each be name@domain, without spaces."
  }

  # User principal names are not case-sensitive in Entra ID: two spellings are one user, assigned twice.
  validation {
    condition     = length(distinct([for upn in var.user_principal_names : lower(upn)])) == length(var.user_principal_names)
    error_message = "user_principal_names must not name one user twice (they are compared without case)."
  }
}

variable "user_object_ids" {
  description = "Object IDs of further users who may sign in."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for id in var.user_object_ids : can(regex("^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$", id))])
    error_message = "user_object_ids must be object IDs (GUIDs)."
  }

  # Entra ID compares object IDs without case: two spellings of one would be assigned twice, which it refuses.
  validation {
    condition     = length(distinct([for value in var.user_object_ids : lower(value)])) == length(var.user_object_ids)
    error_message = "user_object_ids must not name one object ID twice (they are compared without case)."
  }
}

variable "login_url" {
  description = "Login host of the cloud, used to build the tenant endpoint: https://login.microsoftonline.com (public), https://login.microsoftonline.us (usgovernment), https://login.chinacloudapi.cn (china)."
  type        = string
  default     = "https://login.microsoftonline.com"

  validation {
    condition     = can(regex("^https://[^/]+$", var.login_url))
    error_message = "login_url must be an https:// origin without a trailing slash."
  }
}
