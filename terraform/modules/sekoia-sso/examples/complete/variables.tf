variable "owner_object_ids" {
  description = "Object IDs of the application's owners (empty: the identity running Terraform)."
  type        = list(string)
  default     = []
}

variable "extra_group_object_ids" {
  description = "Further groups, by object ID, whose direct members may sign in."
  type        = list(string)
  default     = []
}

variable "extra_user_object_ids" {
  description = "Further users, by object ID, who may sign in."
  type        = list(string)
  default     = []
}

variable "active_secret_key_id" {
  description = "Key ID of the secret Sekoia.io holds (see the module README's rotation section); null: the newest."
  type        = string
  default     = null
}

variable "login_url" {
  description = "Login host of your cloud: https://login.microsoftonline.com (public), https://login.microsoftonline.us (US Government), https://login.chinacloudapi.cn (China)."
  type        = string
  default     = "https://login.microsoftonline.com"
}
