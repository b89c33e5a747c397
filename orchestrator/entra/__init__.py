"""The Entra ID side: Microsoft Graph, its tokens, and what the tool reads and fixes in the tenant.

    credentials.py  Graph tokens from the ARM_* variables, in the azuread provider's order
    graph.py        the Graph client: paging, $batch, retries and throttling, typed errors
    pages.py        Graph's JSON bodies and collection pages, decoded with msgspec (no httpx)
    discovery.py    the tenant's OpenID Connect discovery document, checked before Sekoia.io trusts it
    login.py        login readiness: token and authorize endpoints take Sekoia.io's secret, client ID, redirect
    adopt.py        objects an interrupted run left in Entra ID outside Terraform's state
    licences.py     whether the tenant may assign groups at all (Entra ID P1/P2, from subscribedSkus)
    preflight/      will every user who may sign in get in (its __init__ says what lives where)

This package imports nothing, so `sekoia-sso --help` loads neither httpx nor azure-identity.
"""
