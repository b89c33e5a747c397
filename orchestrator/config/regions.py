"""Where things live: Sekoia.io regions and Microsoft clouds, as data in one place.

Sources: Sekoia.io docs/getting_started/regions.md (app and API hosts), the SSO docs (FRA1
callback `https://app.sekoia.io/user/callback`; other regions "adapt the domain", so
`https://<app host>/user/callback` is inferred), and the pre-October-2025 FRA2/MCO1 hosts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SekoiaRegion:
    name: str
    app_url: str
    api_base: str
    legacy_app_url: str | None = None  # host used before October 2025, still on old app registrations

    @property
    def callback_url(self) -> str:
        return f"{self.app_url}/user/callback"

    @property
    def legacy_callback_url(self) -> str | None:
        return f"{self.legacy_app_url}/user/callback" if self.legacy_app_url else None


SEKOIA_REGIONS: dict[str, SekoiaRegion] = {
    r.name: r
    for r in (
        SekoiaRegion("FRA1", "https://app.sekoia.io", "https://api.sekoia.io"),
        SekoiaRegion("FRA2", "https://app.fra2.sekoia.io", "https://app.fra2.sekoia.io/api",
                     legacy_app_url="https://fra2.app.sekoia.io"),
        SekoiaRegion("MCO1", "https://app.mco1.sekoia.io", "https://app.mco1.sekoia.io/api",
                     legacy_app_url="https://mco1.app.sekoia.io"),
        SekoiaRegion("UAE1", "https://app.uae1.sekoia.io", "https://app.uae1.sekoia.io/api"),
        SekoiaRegion("USA1", "https://app.usa1.sekoia.io", "https://api.usa1.sekoia.io"),
        SekoiaRegion("SGP1", "https://app.sgp1.sekoia.io", "https://api.sgp1.sekoia.io"),
    )
}


@dataclass(frozen=True)
class Cloud:
    name: str
    provider_environment: str  # the azuread provider's `environment` argument
    login_url: str
    graph_url: str


CLOUDS: dict[str, Cloud] = {
    c.name: c
    for c in (
        Cloud("public", "global", "https://login.microsoftonline.com", "https://graph.microsoft.com"),
        Cloud("usgovernment", "usgovernment", "https://login.microsoftonline.us", "https://graph.microsoft.us"),
        Cloud("china", "china", "https://login.chinacloudapi.cn", "https://microsoftgraph.chinacloudapi.cn"),
    )
}

MICROSOFT_GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
DEFAULT_ACCESS_APP_ROLE_ID = "00000000-0000-0000-0000-000000000000"
