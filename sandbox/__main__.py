"""`python -m sandbox up [--dir DIR]`: the whole sandbox on 127.0.0.1 until Ctrl-C or SIGTERM.

Example:
    python -m sandbox up                       # .sandbox/ here, or $SEKOIA_SSO_SANDBOX_DIR
    python -m sandbox up --dir /tmp/sandbox
    python -m sandbox up --profile reality     # replication lag, secret delay, latency, throttling
    jq -r '.env | to_entries[] | "export \\(.key)=\\(.value)"' .sandbox/endpoints.json
"""

from __future__ import annotations

import argparse
import sys

from sandbox.profiles import DEFAULT_PROFILE, PROFILES
from sandbox.up import DEFAULT_DOMAIN_VERIFICATION_SECONDS, ENDPOINTS_FILE, SANDBOX_DIR_ENV, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox",
                                     description="Emulated Microsoft Graph, azuread provider and Sekoia.io API.")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up",
        help="start the sandbox and run until stopped",
        description=f"Start the Graph and Sekoia.io emulators and the provider mirror, write "
                    f"<dir>/{ENDPOINTS_FILE}, run until SIGINT/SIGTERM.",
    )
    up.add_argument("--dir", default=None,
                    help=f"sandbox directory (default: ${SANDBOX_DIR_ENV}, else .sandbox in the current directory)")
    up.add_argument("--domain-verification-delay", type=float, default=DEFAULT_DOMAIN_VERIFICATION_SECONDS,
                    metavar="SECONDS",
                    help="seconds after which the emulated Sekoia.io verifies a new domain "
                         f"(default {DEFAULT_DOMAIN_VERIFICATION_SECONDS:g}; negative: never, domains stay pending)")
    up.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                    help="how strict the emulated Entra ID is: "
                         + "; ".join(f"{p.name}: {p.summary}" for p in PROFILES.values())
                         + f" (default {DEFAULT_PROFILE})")
    up.add_argument("--secret-propagation-delay", default=None, metavar="SECONDS|LOW-HIGH",
                    help="seconds during which the login emulator refuses a new client secret, as Entra ID "
                         "does until it reaches every replica; LOW-HIGH draws each secret's delay, seeded "
                         "(4-18 s are reported; default: the profile's, 0 on fast)")
    args = parser.parse_args(argv)
    if args.command == "up":
        delay = args.domain_verification_delay
        propagation = None
        if args.secret_propagation_delay is not None:
            propagation = _seconds_or_range(args.secret_propagation_delay)
            if propagation is None:
                parser.error(f"--secret-propagation-delay: {args.secret_propagation_delay!r} is not SECONDS or "
                             "LOW-HIGH (numbers, 0 or more, LOW <= HIGH), e.g. 10 or 4-18")
        return run(args.dir, domain_verification_delay=None if delay < 0 else delay, profile=args.profile,
                   secret_propagation_delay=propagation)
    return 2


def _seconds_or_range(text: str) -> float | tuple[float, float] | None:
    """'10' → 10.0, '4-18' → (4.0, 18.0); None when it is neither (negative, LOW > HIGH, not numbers)."""
    low_text, dash, high_text = text.strip().partition("-")
    try:
        low = float(low_text)
        high = float(high_text) if dash else low
    except ValueError:
        return None
    if not (0 <= low <= high) or high != high or high == float("inf"):  # noqa: PLR0124 - NaN check
        return None
    return (low, high) if dash else low


if __name__ == "__main__":
    sys.exit(main())
