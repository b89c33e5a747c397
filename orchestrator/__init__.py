"""sekoia-sso: Sekoia.io single sign-on through Microsoft Entra ID, as code."""

__version__ = "0.1.0"
