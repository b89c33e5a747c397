"""The emulated Microsoft Graph v1.0 and Entra login (nothing is imported here; import the module you need).

emulator.py    GraphEmulator: lifecycle, fault knobs (Faults, queue_fault), tokens, request log, request pipeline
batch.py       JSON $batch: the envelope's checks, then each sub-request as a Graph call of its own
routes.py      URL grammar: path segments, alternate keys, the route table and the app roles opening each route
handlers.py    GraphApi: one handler per route, over the tenant state; Call, Answer, Caller, Knobs
paging.py      all of the paging: $top, $skiptoken, @odata.nextLink
odata.py       GraphError, EntityType rendering, $select, $filter
entities.py    the Graph entity types (properties, defaults, writable sets)
validation.py  Entra's checks of a write body and of an application
state.py       TenantState: the in-memory tenant, reset to its fixture
licences.py    subscribedSkus and the Entra ID P1/P2 rule on group assignment (TenantState.entra_id_premium)
login.py       the token endpoint (client credentials, authorization code), OpenID discovery, keys, instance discovery
authorize.py   the authorize endpoint, its codes and the ID token's claims (X-Sandbox-User names the user)
signing.py     the RSA key that signs ID tokens RS256, as published in the JWKS
bigtenant.py   generated large tenants, served from a child process (`python -m sandbox.graph.bigtenant`)
"""
