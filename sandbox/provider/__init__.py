"""An emulated hashicorp/azuread 3.7.0 Terraform provider, talking to the Graph emulator.

A real provider process (plugin protocol 6 over gRPC, written with the PyPI `tf` framework) that
serves the full azuread 3.7.0 schema of the types the sekoia-sso module uses, generated from
orchestrator/data/azuread-3.7.0-schema.json, and implements them over Microsoft Graph v1.0 routes
with the real provider's IDs, mappings, retries and SDKv2 plan semantics.

Terraform finds it through a filesystem mirror (sandbox/mirror.py). At run time it reads:
- AZUREAD_SANDBOX_GRAPH_URL: the Graph emulator's URL, which also serves the token endpoint;
- AZUREAD_SANDBOX_LOGIN_URL (optional): another URL for the token endpoint;
- AZUREAD_SANDBOX_POLL_SECONDS (optional): the interval of the provider's state-change polls (the wait
  for a new password; the real provider's is 1 s, the default; the sandbox's fast profile sets less);
- ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ... like the real provider.

Modules (nothing is imported here but the constants below):
__main__.py                    `python -m sandbox.provider`: the process Terraform starts (mirror's wrapper)
server.py                      the plugin protocol 6 servicer, with SDKv2 behaviour; serve()
provider.py                    AzureADProvider: provider configuration and the Graph client
schema.py                      the azuread 3.7.0 schema of the types served, from orchestrator/data
validate.py                    config validation (the real provider's ValidateFunc per attribute)
planning.py                    SDKv2 plan semantics (plan, same_value) and unknown-aware reads of planned values
graph_client.py                the provider's Graph client: token, retries, replication waits
errors.py                      ProviderError, turned into Terraform diagnostics; graph_failure
graph_resource.py              GraphType, GraphResource and the helpers every type shares
owners.py                      the owners of an application or service principal, added and reconciled
mapping.py                     app roles, scopes and feature tags, Graph <-> state
resources.py                   RESOURCES: the resource types served, one module each:
application.py                   azuread_application
application_password.py          azuread_application_password
service_principal.py             azuread_service_principal (and the state its data source reads)
app_role_assignment.py           azuread_app_role_assignment
delegated_permission_grant.py    azuread_service_principal_delegated_permission_grant
data_sources.py                the data source types (azuread_client_config, _user, _group, _service_principal)
"""

PROVIDER_HOST = "registry.terraform.io"
PROVIDER_NAMESPACE = "hashicorp"
PROVIDER_TYPE = "azuread"
PROVIDER_VERSION = "3.7.0"
PROVIDER_ADDRESS = f"{PROVIDER_HOST}/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}"

GRAPH_URL_ENV = "AZUREAD_SANDBOX_GRAPH_URL"
LOGIN_URL_ENV = "AZUREAD_SANDBOX_LOGIN_URL"
POLL_SECONDS_ENV = "AZUREAD_SANDBOX_POLL_SECONDS"
