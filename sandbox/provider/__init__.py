"""An emulated hashicorp/azuread 3.7.0 Terraform provider, talking to the Graph emulator.

A real provider process (plugin protocol 6 over gRPC, written with the PyPI `tf` framework) that
serves the full azuread 3.7.0 schema of the types the sekoia-sso module uses, generated from
orchestrator/data/azuread-3.7.0-schema.json, and implements them over Microsoft Graph v1.0 routes
with the real provider's IDs, mappings, retries and SDKv2 plan semantics.

Terraform finds it through a filesystem mirror (sandbox/mirror.py). At run time it reads:
- AZUREAD_SANDBOX_GRAPH_URL: the Graph emulator's URL, which also serves the token endpoint;
- AZUREAD_SANDBOX_LOGIN_URL (optional): another URL for the token endpoint;
- ARM_TENANT_ID, ARM_CLIENT_ID, ARM_CLIENT_SECRET, ... like the real provider.
"""

PROVIDER_HOST = "registry.terraform.io"
PROVIDER_NAMESPACE = "hashicorp"
PROVIDER_TYPE = "azuread"
PROVIDER_VERSION = "3.7.0"
PROVIDER_ADDRESS = f"{PROVIDER_HOST}/{PROVIDER_NAMESPACE}/{PROVIDER_TYPE}"

GRAPH_URL_ENV = "AZUREAD_SANDBOX_GRAPH_URL"
LOGIN_URL_ENV = "AZUREAD_SANDBOX_LOGIN_URL"
