"""The manual steps: what to do in Sekoia.io's UI when the API offers no domain or SSO route.

    manual_steps(target, plan, domains=True, sso=True, show_secret=False, to_terminal=False)
    output_command("prod", "client_secret")   # "sekoia-sso output prod client_secret"

Every value to paste is in the steps; the client secret only when asked (`show_secret`) AND the
steps go to a terminal, otherwise the command that prints it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.secret import reveal
from orchestrator.sekoia.settings import SekoiaTarget

if TYPE_CHECKING:
    from orchestrator.sekoia.plan import SekoiaPlan


def manual_steps(target: SekoiaTarget, plan: SekoiaPlan, *, domains: bool, sso: bool, show_secret: bool,
                 to_terminal: bool) -> list[str]:
    """The UI steps, numbered, with every value to paste. The secret only if shown AND to a terminal."""
    steps: list[str] = []
    where = (f"In Sekoia.io ({target.app_url}), open \"Managed communities\" (your profile, top right > "
             f"\"Community settings\"), community {plan.community_name}, then \"Security\".")
    steps.append(where)
    if domains:
        names = plan.domains_not_verified or tuple(target.domains)
        steps.append("\"Verify your domains\" > \"+ Domain\": for each of these domains not listed yet, type it "
                     "and click \"Send for verification\": " + ", ".join(names) + ".")
        steps.append("Wait until each shows \"Verified\" (Sekoia.io's team checks it: hours to days).")
    if sso:
        if show_secret and to_terminal:
            secret_line = f"    Your client secret: {reveal(target.client_secret)}"
        else:
            why = ("" if not show_secret else
                   " (--show-secret prints it to a terminal only, and this output is not one)")
            how = target.secret_hint or output_command(target.environment, "client_secret")
            secret_line = (f"    Your client secret: not shown{why}; read it yourself with: {how} "
                           f"(in a terminal; key ID {target.client_secret_key_id}), or re-run with --show-secret "
                           "in a terminal")
        role = target.default_role or "(leave as is)"
        steps.append("\n".join([
            "\"Configure single Sign-on (SSO)\" > \"Configure\", and fill in:",
            f"    URL of your authentication provider: {target.provider_url}",
            f"    Your client ID: {target.client_id}",
            secret_line,
            "    Create an account for users accessing the platform for the first time using SSO: "
            + ("checked" if target.jit_provisioning else "unchecked"),
            f"    Role by default: {role if target.jit_provisioning or target.default_role else '(none)'}",
        ]))
        steps.append("Click \"Enable SSO\", then share the Single Sign-on URL shown on that page with your users.")
    return [f"{number}. {text}" for number, text in enumerate(steps, start=1)]


def output_command(env_name: str, name: str) -> str:
    """The command that prints one Terraform output of an environment, as the user can type it anywhere."""
    return f"sekoia-sso output {env_name} {name}"
