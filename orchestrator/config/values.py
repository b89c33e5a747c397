"""The rules on single values of an environment file: what a secret looks like, which characters
and URLs are allowed. The schema (schema.py) and the loader (loading.py) both apply them.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from orchestrator.errors import shorten

GUID_PATTERN = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
GUID_RE = re.compile(GUID_PATTERN)
ENV_VAR_RE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# The top-level domain is letters, or an internationalised one in punycode (`contoso.xn--p1ai`).
DOMAIN_RE = re.compile(r"^(?=.{1,253}$)(?!-)([a-z0-9-]{1,63}(?<!-)\.)+([a-z]{2,63}|xn--[a-z0-9-]{1,59}(?<!-))$")
UPN_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_YAML_DEPTH = 32

# Keys whose value must never sit in YAML: the tool reads them from the environment.
SECRET_KEY_RE = re.compile(r"(secret|password|api_?key|token|access_key|sas)", re.IGNORECASE)
# An Entra client secret: 3 characters, a digit, "Q~", then 34 more (40 in all; older ones vary a little).
ENTRA_SECRET_RE = re.compile(r"[A-Za-z0-9_.~-]{3}\dQ~[A-Za-z0-9_.~-]{30,40}")
# Credentials with a known prefix or shape: JWTs, provider tokens, SAS signatures, connection strings, PEM keys.
KNOWN_SECRET_RE = re.compile(
    r"eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}|\b(sk|pk|rk)_(live|test)_[A-Za-z0-9]{8,}|\bgh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|\bxox[abposr]-[A-Za-z0-9-]{10,}|\bAKIA[0-9A-Z]{16}\b|[?&]sig=[A-Za-z0-9%+/=]{16,}"
    r"|AccountKey=|SharedAccessKey=|SharedAccessSignature|-----BEGIN [A-Z ]*PRIVATE KEY"
)
# A long opaque token (an API key, a storage key): base64/base64url/hex characters only, no spaces.
OPAQUE_TOKEN_RE = re.compile(r"[A-Za-z0-9+/=_.~:-]{20,}")
# Names are words between separators (`rg-security-operations-sso-prod-westeurope`, `resourceGroups`,
# `SOCAnalysts2024`): read as words, a run of a name gives words of 4 or more characters on average,
# a random token (base64, base62) words of about 2.
NAME_SEPARATORS_RE = re.compile(r"[-_./:@+=~]+")
WORD_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
HEX_RE = re.compile(r"[0-9a-fA-F]+")
ALLOWED_SECRETISH_KEYS = {"api_key_env", "secret", "use_azuread_auth"}
# Variables that hold the credentials of Terraform, the azuread provider or this tool: naming one in
# sekoia.api_key_env would send that credential to Sekoia.io as the API key.
CREDENTIAL_VARIABLE_PREFIXES = ("ARM_", "AZURE_", "TF_", "MSI_", "IDENTITY_", "ACTIONS_ID_TOKEN_")
CREDENTIAL_VARIABLES = {"SYSTEM_ACCESSTOKEN", "GITHUB_TOKEN", "TERRAFORM_BIN"}
# Bidirectional overrides and isolates: they make a name read differently from what it is (CVE-2021-42574).
BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Printable ASCII holds none of the characters refused below: most values are checked by one match.
_PRINTABLE_ASCII = re.compile(r"[ -~]*")
_PRINTABLE_ASCII_LINES = re.compile(r"[ -~\n\t]*")


def bad_characters(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` cannot be written as it is (a NUL byte, a control character, ...); None when it can."""
    if (_PRINTABLE_ASCII_LINES if multiline else _PRINTABLE_ASCII).fullmatch(value):
        return None
    import unicodedata

    for char in value:
        if char == "\0":
            return "contains a NUL byte; allowed: printable text"
        if multiline and char in "\n\t":
            continue
        if char in BIDI_CONTROLS:
            return f"contains the bidirectional control U+{ord(char):04X}: it would display differently from what it is"
        category = unicodedata.category(char)
        if category in ("Cc", "Zl", "Zp", "Cs"):
            name = {"\n": "a newline", "\t": "a tab", "\r": "a carriage return"}.get(char, f"U+{ord(char):04X}")
            return f"contains a control character ({name}); write it on one line, in printable characters"
    return None


def looks_like_secret(value: str) -> bool:
    """True for a value shaped like a credential (Entra client secret, API key, token), not like a name.

    Azure names, state keys, paths and URLs are runs of words between '-', '_', '.', '/' or ':'
    (`rg-security-operations-sekoia-sso-prod-westeurope`, `platform/security/sso/prod.tfstate`);
    a secret is a long run of mixed case and digits (`Abc8Q~…`, base64 API keys) or a known shape.
    """
    if ENTRA_SECRET_RE.search(value) or KNOWN_SECRET_RE.search(value):
        return True
    for token in OPAQUE_TOKEN_RE.findall(value):
        letters = words = 0
        for run in NAME_SEPARATORS_RE.split(token):
            if HEX_RE.fullmatch(run) and len(run) <= 12:
                continue  # a part of a GUID, a short number
            if HEX_RE.fullmatch(run) and len(run) >= 32 and not run.isdigit() and not run.isalpha():
                return True  # a hex key (a GUID is written with dashes)
            count = len(WORD_RE.findall(run))
            if run.lower() == run and len(run) < 32:
                continue  # `m5xqkc3xnqgz4`, Azure's uniqueString(): a name's random part, not a key
            if len(run) >= 16 and count and len(run) / count < 3.2:
                return True
            letters, words = letters + len(run), words + count
        if letters >= 24 and words and letters / words < 2.6:
            return True
    return False


# Entra ID's rules on a redirect URI (identity-platform reply-url.md): at most 256 characters, none of these
# characters, no IPv6 loopback, and a wildcard only for work-account audiences (Sekoia.io calls back one exact
# URL, so none here). The tool checks the URIs it registers (sekoia.callback_url, or app_url + /user/callback).
MAX_REDIRECT_URI_LENGTH = 256
FORBIDDEN_REDIRECT_CHARACTERS = "!$'(),;"


def redirect_uri_problem(uri: str) -> str | None:
    """Why Entra ID would refuse `uri` as a redirect URI (what is allowed, in words), or None."""
    if len(uri) > MAX_REDIRECT_URI_LENGTH:
        return (f"is {len(uri)} characters long; Entra ID accepts redirect URIs of at most {MAX_REDIRECT_URI_LENGTH} "
                "characters")
    bad = [char for char in FORBIDDEN_REDIRECT_CHARACTERS if char in uri]
    if bad:
        return (f"contains {' '.join(repr(c) for c in bad)}; Entra ID refuses redirect URIs with any of "
                f"{' '.join(FORBIDDEN_REDIRECT_CHARACTERS)}")
    host = urlsplit(uri).netloc.rsplit("@", 1)[-1]
    if host.startswith("["):
        return "points at an IPv6 address; Entra ID refuses IPv6 loopback ([::1]) and IP literals here: use a host name"
    if "*" in uri:
        return ("contains a wildcard (*): Sekoia.io calls back one exact URL, and Entra ID accepts wildcards only "
                "for work-account audiences; write the URL out")
    return None


def _redacted(value: str) -> str:
    """The URL for a message: user info (a password?) replaced, shortened."""
    scheme, sep, rest = value.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return shorten(scheme + sep + rest)


def _private_host(host: str) -> str | None:
    """What a host is when it is not a public address: loopback, private, link-local, ..."""
    import ipaddress

    if host == "localhost" or host.endswith((".localhost", ".local", ".internal")):
        return "a local host name"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return None
    for kind in ("loopback", "link_local", "private", "unspecified", "reserved", "multicast"):
        if getattr(address, f"is_{kind}"):
            return f"a {kind.replace('_', '-')} address"
    return None


def _https_url(value: str, *, field: str, sandbox: bool = True) -> str:
    problem = bad_characters(value) or (" " in value and "contains a space")
    if problem:
        raise ValueError(f"{field} {problem}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"{field} is not a valid URL ({exc}), got {_redacted(value)}") from None
    if parts.scheme != "https" or not parts.hostname:
        raise ValueError(f"{field} must be an https:// URL, got {_redacted(value)}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise ValueError(f"{field} must not hold a user name or password (user info before '@'), got "
                         f"{_redacted(value)}; the API key comes from sekoia.api_key_env")
    if parts.fragment or value.endswith("#"):
        raise ValueError(f"{field} must not have a #fragment (Entra ID refuses it in a redirect URI), got "
                         f"{_redacted(value)}")
    private = _private_host(parts.hostname)
    if private and not sandbox:
        raise ValueError(f"{field} points at {parts.hostname}, {private}: only a sandbox environment "
                         "(sandbox: true) may use one; allowed: a public https:// host")
    return value.rstrip("/")
