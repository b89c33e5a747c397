"""The resource types the emulated provider serves, in the order it lists them (one module per type)."""

from sandbox.provider.app_role_assignment import AppRoleAssignment
from sandbox.provider.application import Application
from sandbox.provider.application_password import ApplicationPassword
from sandbox.provider.delegated_permission_grant import DelegatedPermissionGrant
from sandbox.provider.service_principal import ServicePrincipal

RESOURCES = (Application, ApplicationPassword, ServicePrincipal, AppRoleAssignment, DelegatedPermissionGrant)
