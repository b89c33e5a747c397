# Every value a variable refuses, one run each: a plan that fails on that validation alone.
# `terraform test` (mock provider: no tenant, no credentials). Each run starts from the valid
# `variables` below and changes one input.

mock_provider "azuread" {
  source = "./tests/mocks"
}

variables {
  display_name  = "Sekoia.io"
  redirect_uris = ["https://app.sekoia.io/user/callback"]
}

run "the_valid_inputs_plan" {
  command = plan
}

run "display_name_blank" {
  command = plan
  variables { display_name = "   " }
  expect_failures = [var.display_name]
}

run "display_name_empty" {
  command = plan
  variables { display_name = "" }
  expect_failures = [var.display_name]
}

run "display_name_over_120_characters" {
  command = plan
  variables { display_name = join("", [for i in range(121) : "a"]) }
  expect_failures = [var.display_name]
}

run "display_name_of_120_characters_is_accepted" {
  command = plan
  variables { display_name = join("", [for i in range(120) : "a"]) }
}

run "sign_in_audience_personal_accounts" {
  command = plan
  variables { sign_in_audience = "AzureADandPersonalMicrosoftAccount" }
  expect_failures = [var.sign_in_audience]
}

run "sign_in_audience_wrong_case" {
  command = plan
  variables { sign_in_audience = "azureadmyorg" }
  expect_failures = [var.sign_in_audience]
}

run "redirect_uris_empty" {
  command = plan
  variables { redirect_uris = [] }
  expect_failures = [var.redirect_uris]
}

run "redirect_uris_plain_http" {
  command = plan
  variables { redirect_uris = ["http://app.sekoia.io/user/callback"] }
  expect_failures = [var.redirect_uris]
}

run "redirect_uris_without_a_path" {
  command = plan
  variables { redirect_uris = ["https://app.sekoia.io"] }
  expect_failures = [var.redirect_uris]
}

run "redirect_uris_one_bad_among_good" {
  command = plan
  variables { redirect_uris = ["https://app.sekoia.io/user/callback", "app.sekoia.io/user/callback"] }
  expect_failures = [var.redirect_uris]
}

run "redirect_uris_over_256_characters" {
  command = plan
  variables { redirect_uris = ["https://app.sekoia.io/${join("", [for i in range(235) : "a"])}"] }
  expect_failures = [var.redirect_uris]
}

run "owners_not_a_guid" {
  command = plan
  variables { owners = ["alice@contoso.example"] }
  expect_failures = [var.owners]
}

run "owners_one_id_twice_in_two_cases" {
  command = plan
  variables { owners = ["0b5e3c1d-9f2a-4b6c-8d7e-1f0a2b3c4d5e", "0B5E3C1D-9F2A-4B6C-8D7E-1F0A2B3C4D5E"] }
  expect_failures = [var.owners]
}

run "secret_validity_days_zero" {
  command = plan
  variables { secret_validity_days = 0 }
  expect_failures = [var.secret_validity_days]
}

run "secret_validity_days_over_730" {
  command = plan
  variables { secret_validity_days = 731 }
  expect_failures = [var.secret_validity_days]
}

run "secret_validity_days_fractional" {
  command = plan
  variables { secret_validity_days = 1.5 }
  expect_failures = [var.secret_validity_days]
}

run "secret_validity_days_negative" {
  command = plan
  variables { secret_validity_days = -30 }
  expect_failures = [var.secret_validity_days]
}

run "group_names_blank" {
  command = plan
  variables { group_names = ["SOC Analysts", " "] }
  expect_failures = [var.group_names]
}

run "group_names_over_256_characters" {
  command = plan
  variables { group_names = [join("", [for i in range(257) : "g"])] }
  expect_failures = [var.group_names]
}

run "group_names_one_group_twice_in_two_cases" {
  command = plan
  variables { group_names = ["SOC Analysts", "soc analysts"] }
  expect_failures = [var.group_names]
}

run "group_names_one_group_twice" {
  command = plan
  variables { group_names = ["SOC Analysts", "SOC Analysts"] }
  expect_failures = [var.group_names]
}

run "group_object_ids_not_a_guid" {
  command = plan
  variables { group_object_ids = ["SOC Analysts"] }
  expect_failures = [var.group_object_ids]
}

run "group_object_ids_one_id_twice_in_two_cases" {
  command = plan
  variables { group_object_ids = ["9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", "9A8B7C6D-5E4F-4A3B-8C2D-1E0F9A8B7C6D"] }
  expect_failures = [var.group_object_ids]
}

run "user_principal_names_without_a_domain" {
  command = plan
  variables { user_principal_names = ["ivan"] }
  expect_failures = [var.user_principal_names]
}

run "user_principal_names_with_a_space" {
  command = plan
  variables { user_principal_names = ["ivan petrov@contoso.example"] }
  expect_failures = [var.user_principal_names]
}

run "user_principal_names_one_user_twice_in_two_cases" {
  command = plan
  variables { user_principal_names = ["ivan@contoso.example", "Ivan@Contoso.example"] }
  expect_failures = [var.user_principal_names]
}

run "user_object_ids_not_a_guid" {
  command = plan
  variables { user_object_ids = ["4d3c2b1a0f9e4d8c8b7a6f5e4d3c2b1a"] }
  expect_failures = [var.user_object_ids]
}

run "user_object_ids_one_id_twice_in_two_cases" {
  command = plan
  variables { user_object_ids = ["4d3c2b1a-0f9e-4d8c-8b7a-6f5e4d3c2b1a", "4D3C2B1A-0F9E-4D8C-8B7A-6F5E4D3C2B1A"] }
  expect_failures = [var.user_object_ids]
}

run "login_url_with_a_trailing_slash" {
  command = plan
  variables { login_url = "https://login.microsoftonline.com/" }
  expect_failures = [var.login_url]
}

run "login_url_plain_http" {
  command = plan
  variables { login_url = "http://login.microsoftonline.com" }
  expect_failures = [var.login_url]
}

run "login_url_with_a_tenant_path" {
  command = plan
  variables { login_url = "https://login.microsoftonline.com/organizations" }
  expect_failures = [var.login_url]
}
