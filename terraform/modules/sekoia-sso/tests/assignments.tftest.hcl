# Who may sign in: one app role assignment (default access) per group and user, by name or by
# object ID, on the service principal, keyed by what the inputs say (so a lookup never churns them).

mock_provider "azuread" {
  source = "./tests/mocks"
}

variables {
  display_name  = "Sekoia.io"
  redirect_uris = ["https://app.sekoia.io/user/callback"]
}

override_data {
  target = data.azuread_group.by_name["SOC Analysts"]
  values = { object_id = "aaaaaaaa-1111-4111-8111-111111111111" }
}

override_data {
  target = data.azuread_group.by_name["SOC Leads"]
  values = { object_id = "aaaaaaaa-2222-4222-8222-222222222222" }
}

override_data {
  target = data.azuread_user.by_upn["Ivan@Contoso.example"]
  values = { object_id = "bbbbbbbb-1111-4111-8111-111111111111" }
}

run "nobody_is_assigned_by_default_and_assignment_is_required" {
  command = plan

  assert {
    condition     = length(azuread_app_role_assignment.this) == 0
    error_message = "Without groups or users there must be no assignment."
  }
  assert {
    condition     = azuread_service_principal.this.app_role_assignment_required
    error_message = "assignment_required defaults to true: only assigned principals may sign in."
  }
}

run "groups_and_users_by_name_and_by_object_id" {
  # Every assignment created here carries this ID; one created again later would get a mock's random one.
  override_resource {
    target = azuread_app_role_assignment.this
    values = { id = "created-by-the-first-apply" }
  }

  variables {
    group_names          = ["SOC Analysts", "SOC Leads"]
    group_object_ids     = ["CCCCCCCC-1111-4111-8111-111111111111"]
    user_principal_names = ["Ivan@Contoso.example"]
    user_object_ids      = ["dddddddd-1111-4111-8111-111111111111"]
  }

  assert {
    condition = toset(keys(azuread_app_role_assignment.this)) == toset([
      "group:SOC Analysts", "group:SOC Leads", "group:cccccccc-1111-4111-8111-111111111111",
      "user:ivan@contoso.example", "user:dddddddd-1111-4111-8111-111111111111",
    ])
    error_message = "One assignment per group and user, keyed by name or lower-case ID."
  }
  assert {
    condition = { for key, assignment in azuread_app_role_assignment.this : key => assignment.principal_object_id } == {
      "group:SOC Analysts"                         = "aaaaaaaa-1111-4111-8111-111111111111"
      "group:SOC Leads"                            = "aaaaaaaa-2222-4222-8222-222222222222"
      "group:cccccccc-1111-4111-8111-111111111111" = "CCCCCCCC-1111-4111-8111-111111111111"
      "user:ivan@contoso.example"                  = "bbbbbbbb-1111-4111-8111-111111111111"
      "user:dddddddd-1111-4111-8111-111111111111"  = "dddddddd-1111-4111-8111-111111111111"
    }
    error_message = "Each assignment must go to the object the name was looked up to, or to the object ID given."
  }
  assert {
    condition     = alltrue([for assignment in azuread_app_role_assignment.this : assignment.app_role_id == "00000000-0000-0000-0000-000000000000"])
    error_message = "Every assignment must be of the default access role (the application defines no role)."
  }
  assert {
    condition     = alltrue([for assignment in azuread_app_role_assignment.this : assignment.resource_object_id == output.service_principal_object_id])
    error_message = "Every assignment must be on the module's service principal."
  }
  assert {
    condition     = alltrue([for group in data.azuread_group.by_name : group.security_enabled])
    error_message = "Groups are looked up among security groups only."
  }
  assert {
    condition     = data.azuread_user.by_upn["Ivan@Contoso.example"].user_principal_name == "Ivan@Contoso.example"
    error_message = "A user is looked up by the user principal name as given."
  }
}

run "reordered_inputs_keep_every_assignment" {
  variables {
    group_names          = ["SOC Leads", "SOC Analysts"]
    group_object_ids     = ["CCCCCCCC-1111-4111-8111-111111111111"]
    user_principal_names = ["Ivan@Contoso.example"]
    user_object_ids      = ["dddddddd-1111-4111-8111-111111111111"]
  }

  assert {
    condition     = length(azuread_app_role_assignment.this) == 5 && alltrue([for assignment in azuread_app_role_assignment.this : assignment.id == "created-by-the-first-apply"])
    error_message = "Reordering the inputs must keep each assignment (none created again)."
  }
}

run "assignment_not_required" {
  command = plan

  variables {
    assignment_required = false
  }

  assert {
    condition     = !azuread_service_principal.this.app_role_assignment_required
    error_message = "assignment_required = false must reach the service principal."
  }
}
