"""What the Graph emulator's directory objects look like: the Graph v1.0 entity types, with what an absent
property shows, and which properties a client may write."""

from __future__ import annotations

import re

from sandbox.graph.odata import EMPTY, EntityType

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_ACCESS_APP_ROLE_ID = "00000000-0000-0000-0000-000000000000"
MICROSOFT_SERVICES_TENANT_ID = "f8cdef31-a31e-4b4a-93e4-5f571e91255a"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")

# --------------------------------------------------------------------------------------------------
# Entity types: the properties Graph v1.0 returns for each, with what an absent one shows.

USER = EntityType(
    name="user", entity_set="users", resource_label="User",
    properties={
        "businessPhones": EMPTY, "displayName": None, "givenName": None, "jobTitle": None, "mail": None,
        "mobilePhone": None, "officeLocation": None, "preferredLanguage": None, "surname": None,
        "userPrincipalName": None, "id": None,
        "accountEnabled": True, "ageGroup": None, "city": None, "companyName": None, "country": None,
        "createdDateTime": None, "creationType": None, "deletedDateTime": None, "department": None,
        "employeeId": None, "employeeType": None, "externalUserState": None, "identities": EMPTY,
        "imAddresses": EMPTY, "mailNickname": None, "onPremisesImmutableId": None,
        "onPremisesSyncEnabled": None, "otherMails": EMPTY, "proxyAddresses": EMPTY,
        "showInAddressList": None, "state": None, "streetAddress": None, "usageLocation": None,
        "userType": "Member", "assignedLicenses": EMPTY, "assignedPlans": EMPTY,
        "consentProvidedForMinor": None, "employeeHireDate": None, "employeeLeaveDateTime": None,
        "employeeOrgData": None, "externalUserStateChangeDateTime": None, "faxNumber": None,
        "isResourceAccount": None, "lastPasswordChangeDateTime": None, "legalAgeGroupClassification": None,
        "licenseAssignmentStates": EMPTY, "onPremisesDistinguishedName": None, "onPremisesDomainName": None,
        "onPremisesExtensionAttributes": None, "onPremisesLastSyncDateTime": None,
        "onPremisesProvisioningErrors": EMPTY, "onPremisesSamAccountName": None,
        "onPremisesSecurityIdentifier": None, "onPremisesUserPrincipalName": None, "passwordPolicies": None,
        "passwordProfile": None, "postalCode": None, "preferredDataLocation": None, "provisionedPlans": EMPTY,
        "securityIdentifier": None, "serviceProvisioningErrors": EMPTY, "signInSessionsValidFromDateTime": None,
    },
    default_select=("businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                    "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"),
    filterable=frozenset({"id", "userPrincipalName", "mail", "displayName", "accountEnabled", "givenName",
                          "surname", "jobTitle", "userType", "department", "companyName", "employeeId",
                          "mailNickname", "usageLocation", "city", "country", "createdDateTime",
                          "onPremisesSyncEnabled"}),
)

GROUP = EntityType(
    name="group", entity_set="groups", resource_label="Group",
    properties={
        "id": None, "deletedDateTime": None, "classification": None, "createdDateTime": None,
        "creationOptions": EMPTY, "description": None, "displayName": None, "expirationDateTime": None,
        "groupTypes": EMPTY, "isAssignableToRole": None, "mail": None, "mailEnabled": False,
        "mailNickname": None, "membershipRule": None, "membershipRuleProcessingState": None,
        "onPremisesDomainName": None, "onPremisesLastSyncDateTime": None, "onPremisesNetBiosName": None,
        "onPremisesSamAccountName": None, "onPremisesSecurityIdentifier": None,
        "onPremisesSyncEnabled": None, "preferredDataLocation": None, "preferredLanguage": None,
        "proxyAddresses": EMPTY, "renewedDateTime": None, "resourceBehaviorOptions": EMPTY,
        "resourceProvisioningOptions": EMPTY, "securityEnabled": True, "securityIdentifier": None,
        "theme": None, "visibility": None, "onPremisesProvisioningErrors": EMPTY,
        "serviceProvisioningErrors": EMPTY,
    },
    filterable=frozenset({"id", "displayName", "mail", "mailEnabled", "securityEnabled", "mailNickname",
                          "onPremisesSyncEnabled", "createdDateTime"}),
)

_WEB_DEFAULT = {"homePageUrl": None, "logoutUrl": None, "redirectUris": EMPTY,
                "implicitGrantSettings": {"enableAccessTokenIssuance": False, "enableIdTokenIssuance": False},
                "redirectUriSettings": EMPTY}
_API_DEFAULT = {"acceptMappedClaims": None, "knownClientApplications": EMPTY,
                "requestedAccessTokenVersion": None, "oauth2PermissionScopes": EMPTY,
                "preAuthorizedApplications": EMPTY}
_INFO_DEFAULT = {"logoUrl": None, "marketingUrl": None, "privacyStatementUrl": None, "supportUrl": None,
                 "termsOfServiceUrl": None}

APPLICATION = EntityType(
    name="application", entity_set="applications", resource_label="Application",
    properties={
        "id": None, "deletedDateTime": None, "applicationTemplateId": None, "disabledByMicrosoftStatus": None,
        "createdDateTime": None, "displayName": None, "description": None, "groupMembershipClaims": None,
        "identifierUris": EMPTY, "isDeviceOnlyAuthSupported": None, "isFallbackPublicClient": None,
        "nativeAuthenticationApisEnabled": None, "notes": None, "publisherDomain": None,
        "serviceManagementReference": None, "signInAudience": "AzureADMyOrg", "tags": EMPTY,
        "tokenEncryptionKeyId": None, "uniqueName": None, "samlMetadataUrl": None,
        "defaultRedirectUri": None, "certification": None, "optionalClaims": None,
        "servicePrincipalLockConfiguration": None, "requestSignatureVerification": None,
        "addIns": EMPTY, "api": _API_DEFAULT, "appId": None, "appRoles": EMPTY, "info": _INFO_DEFAULT,
        "keyCredentials": EMPTY, "parentalControlSettings": {"countriesBlockedForMinors": EMPTY,
                                                             "legalAgeGroupRule": "Allow"},
        "passwordCredentials": EMPTY, "publicClient": {"redirectUris": EMPTY},
        "requiredResourceAccess": EMPTY, "verifiedPublisher": {"displayName": None,
                                                               "verifiedPublisherId": None,
                                                               "addedDateTime": None},
        "web": _WEB_DEFAULT, "spa": {"redirectUris": EMPTY},
    },
    filterable=frozenset({"id", "appId", "displayName", "identifierUris", "signInAudience",
                          "publisherDomain", "createdDateTime", "uniqueName"}),
)

SERVICE_PRINCIPAL = EntityType(
    name="servicePrincipal", entity_set="servicePrincipals", resource_label="ServicePrincipal",
    properties={
        "id": None, "deletedDateTime": None, "accountEnabled": True, "alternativeNames": EMPTY,
        "appDisplayName": None, "appDescription": None, "appId": None, "applicationTemplateId": None,
        "appOwnerOrganizationId": None, "appRoleAssignmentRequired": False, "createdDateTime": None,
        "description": None, "disabledByMicrosoftStatus": None, "displayName": None, "homepage": None,
        "loginUrl": None, "logoutUrl": None, "notes": None, "notificationEmailAddresses": EMPTY,
        "preferredSingleSignOnMode": None, "preferredTokenSigningKeyThumbprint": None,
        "replyUrls": EMPTY, "servicePrincipalNames": EMPTY, "servicePrincipalType": "Application",
        "signInAudience": "AzureADMyOrg", "tags": EMPTY, "tokenEncryptionKeyId": None,
        "samlSingleSignOnSettings": None, "addIns": EMPTY, "appRoles": EMPTY, "info": _INFO_DEFAULT,
        "keyCredentials": EMPTY, "oauth2PermissionScopes": EMPTY, "passwordCredentials": EMPTY,
        "resourceSpecificApplicationPermissions": EMPTY,
        "verifiedPublisher": {"displayName": None, "verifiedPublisherId": None, "addedDateTime": None},
    },
    filterable=frozenset({"id", "appId", "displayName", "accountEnabled", "servicePrincipalType",
                          "appOwnerOrganizationId", "appRoleAssignmentRequired", "tags",
                          "servicePrincipalNames", "createdDateTime"}),
)

APP_ROLE_ASSIGNMENT = EntityType(
    name="appRoleAssignment", entity_set="appRoleAssignments", resource_label="AppRoleAssignment",
    properties={"id": None, "deletedDateTime": None, "appRoleId": None, "createdDateTime": None,
                "principalDisplayName": None, "principalId": None, "principalType": None,
                "resourceDisplayName": None, "resourceId": None},
    filterable=frozenset({"principalId", "resourceId", "appRoleId", "principalType"}),
)

OAUTH2_PERMISSION_GRANT = EntityType(
    name="oAuth2PermissionGrant", entity_set="oauth2PermissionGrants", resource_label="OAuth2PermissionGrant",
    properties={"clientId": None, "consentType": None, "id": None, "principalId": None, "resourceId": None,
                "scope": None},
    filterable=frozenset({"clientId", "consentType", "principalId", "resourceId", "id"}),
)

PASSWORD_CREDENTIAL = EntityType(
    name="passwordCredential", entity_set="passwordCredentials", resource_label="PasswordCredential",
    properties={"customKeyIdentifier": None, "displayName": None, "endDateTime": None, "hint": None,
                "keyId": None, "secretText": None, "startDateTime": None},
)

DOMAIN = EntityType(
    name="domain", entity_set="domains", resource_label="Domain",
    properties={"authenticationType": "Managed", "availabilityStatus": None, "id": None,
                "isAdminManaged": True, "isDefault": False, "isInitial": False, "isRoot": True,
                "isVerified": False, "supportedServices": EMPTY, "passwordNotificationWindowInDays": None,
                "passwordValidityPeriodInDays": None, "state": None},
)

ORGANIZATION = EntityType(
    name="organization", entity_set="organization", resource_label="Organization",
    properties={"id": None, "displayName": None, "tenantType": "AAD", "verifiedDomains": EMPTY,
                "countryLetterCode": None, "createdDateTime": None},
)

SUBSCRIBED_SKU = EntityType(
    name="subscribedSku", entity_set="subscribedSkus", resource_label="SubscribedSku",
    properties={"accountId": None, "accountName": None, "appliesTo": None, "capabilityStatus": None,
                "consumedUnits": 0, "id": None, "prepaidUnits": None, "servicePlans": EMPTY, "skuId": None,
                "skuPartNumber": None, "subscriptionIds": EMPTY},
)

# Which properties a client may write, and the keys each complex property accepts.
APPLICATION_WRITABLE = frozenset(APPLICATION.properties) - {
    "id", "appId", "createdDateTime", "deletedDateTime", "publisherDomain", "passwordCredentials",
    "disabledByMicrosoftStatus", "applicationTemplateId", "verifiedPublisher", "certification",
    "defaultRedirectUri"}
SERVICE_PRINCIPAL_WRITABLE = frozenset({
    "accountEnabled", "alternativeNames", "appRoleAssignmentRequired", "description", "displayName",
    "homepage", "loginUrl", "logoutUrl", "notes", "notificationEmailAddresses", "preferredSingleSignOnMode",
    "preferredTokenSigningKeyThumbprint", "samlSingleSignOnSettings", "tags", "keyCredentials",
    "appDescription", "servicePrincipalType"})
COMPLEX_KEYS = {
    "web": frozenset(_WEB_DEFAULT),
    "api": frozenset(_API_DEFAULT),
    "info": frozenset(_INFO_DEFAULT),
    "spa": frozenset({"redirectUris"}),
    "publicClient": frozenset({"redirectUris"}),
    "parentalControlSettings": frozenset({"countriesBlockedForMinors", "legalAgeGroupRule"}),
    "optionalClaims": frozenset({"accessToken", "idToken", "saml2Token"}),
}
SIGN_IN_AUDIENCES = ("AzureADMyOrg", "AzureADMultipleOrgs", "AzureADandPersonalMicrosoftAccount",
                      "PersonalMicrosoftAccount")
GROUP_MEMBERSHIP_CLAIMS = {"none", "securitygroup", "directoryrole", "applicationgroup", "all"}
