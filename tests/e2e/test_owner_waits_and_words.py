"""End to end on the sandbox (issue 14): one owner per community, waiting means waiting, `--json`
always answers, and the words users read (the manual steps, the waiting line, -q, the help).

Each test runs `sekoia-sso` as processes, with real Terraform through the emulated provider and the
Graph and Sekoia.io emulators over HTTP; what they print is scanned for secrets at the end.
"""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

import pytest

from sandbox.sekoia.state import DEMO_COMMUNITY_UUID
from tests.harness.e2e import CLI_TIMEOUT, apply, tenant_counts
from tests.harness.project import REPO

pytestmark = pytest.mark.timeout(600)


def make_copy(runs, name: str = "copy") -> None:
    """What a team does: envs/sandbox.yaml copied, its region changed, its community kept; then rendered."""
    text = (runs.project / "envs" / "sandbox.yaml").read_text()
    (runs.project / "envs" / f"{name}.yaml").write_text(text.replace("region: FRA1", "region: FRA2"))
    rendered = runs("render", name)
    assert rendered.returncode == 0, rendered.err


def one_document(done) -> dict:
    """The run's stdout is exactly one JSON document (json.loads refuses anything before or after it)."""
    assert done.out.strip(), f"exit {done.returncode}: nothing on stdout\n{done.err[-2000:]}"
    return json.loads(done.out)


def last_line(text: str) -> str:
    return text.rstrip("\n").rsplit("\n", 1)[-1]


def on_terminal(runs, *args: str) -> tuple[int, str, str]:
    """The CLI with its stdout on a pseudo-terminal, as a person runs it; (exit code, stdout, stderr)."""
    main, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "orchestrator", *args], cwd=runs.project, env=runs.env(),
                               stdin=subprocess.DEVNULL, stdout=terminal, stderr=subprocess.PIPE)
    os.close(terminal)
    chunks = []
    while True:
        try:
            data = os.read(main, 4096)
        except OSError:  # EIO: the terminal's other end is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(main)
    err = process.stderr.read().decode()
    process.stderr.close()
    process.wait(timeout=CLI_TIMEOUT)
    return process.returncode, b"".join(chunks).decode(), err


# ---- ownership of a community ---------------------------------------------------------------------


def test_two_environments_naming_one_community_are_refused_when_loaded_together(runs):
    make_copy(runs)
    for command in ("check", "render"):
        done = runs(command, "--all")
        assert done.returncode == 2, (command, done.err)
        assert "envs/copy.yaml and envs/sandbox.yaml both name sekoia.community_uuid" in done.err
        assert DEMO_COMMUNITY_UUID in done.err and "one environment owns one Sekoia.io community" in done.err
    assert runs("check", "copy").returncode == 0  # one environment alone is fine


def test_apply_of_a_copy_never_takes_the_community_of_another_environment_without_take_over(
        runs, graph_emulator, sekoia_emulator):
    assert apply(runs).returncode == 0
    sandbox_client_id = runs.outputs()["client_id"]
    make_copy(runs)
    sekoia_emulator.clear_requests()

    refused = runs("apply", "copy", "--yes", "--warn-only", "--timeout", "30s", "--json")
    assert refused.returncode == 1, refused.err
    message = last_line(refused.err)
    assert message.startswith("Error: Sekoia.io community Contoso SOC")
    assert f"has SSO configured for another application: client ID {sandbox_client_id}" in message
    assert "(environment sandbox of this project (envs/sandbox.yaml))" in message
    assert "--take-over" in message and "nothing was changed" in message
    assert f"configured for ANOTHER application (client ID {sandbox_client_id})" in refused.err
    document = one_document(refused)
    assert document["status"] == "failed" and document["exit_code"] == 1
    assert document["environment"] == "copy" and document["command"] == "apply"
    assert sandbox_client_id in document["message"] and document["step"]
    # nothing written: not in Sekoia.io, not in Entra ID
    assert sekoia_emulator.write_requests == []
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["client_id"] == sandbox_client_id
    assert tenant_counts(graph_emulator)["applications"] == 1

    # destroy of the copy tears down its own objects only: the other application's SSO stays
    gone = runs("destroy", "copy", "--yes", "--confirm", "copy", "--json")
    assert gone.returncode == 0, gone.err
    assert (f"points at another application (client ID {sandbox_client_id}, environment sandbox of this project"
            in gone.err)
    assert "going on with this environment's own teardown" in gone.err
    assert one_document(gone)["foreign_client_id"] == sandbox_client_id
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["client_id"] == sandbox_client_id
    assert sekoia_emulator.sso_secret(DEMO_COMMUNITY_UUID) == runs.outputs()["client_secret"].reveal()

    # --take-over is explicit, and the combined plan says what it takes
    taken = runs("apply", "copy", "--yes", "--warn-only", "--timeout", "30s", "--take-over", "--json")
    assert taken.returncode == 0, taken.err
    assert f"TAKEN OVER (--take-over) from the application with client ID {sandbox_client_id}" in taken.err
    summary = one_document(taken)
    assert summary["status"] == "done"
    assert summary["sekoia"]["plan"]["sso"]["foreign_client_id"] == sandbox_client_id
    assert summary["sekoia"]["plan"]["sso"]["take_over"] is True
    held = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["client_id"]
    assert held == summary["client_id"] != sandbox_client_id

    # now sandbox is the other one: connect refuses, naming the copy; its destroy leaves the copy's SSO
    connect = runs("connect", "sandbox", "--json")
    assert connect.returncode == 1, connect.err
    assert f"client ID {held} (environment copy of this project (envs/copy.yaml))" in last_line(connect.err)
    assert one_document(connect)["exit_code"] == 1
    destroyed = runs("destroy", "sandbox", "--yes", "--confirm", "sandbox")
    assert destroyed.returncode == 0, destroyed.err
    assert f"points at another application (client ID {held}" in destroyed.err
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["client_id"] == held
    assert tenant_counts(graph_emulator)["applications"] == 1  # the copy's


def test_sso_set_by_hand_for_an_unknown_application_is_refused_saying_no_environment_has_it(
        runs, sekoia_emulator):
    assert apply(runs).returncode == 0
    import httpx

    stranger = "0e9b6f4e-2a4f-4c1e-9d51-7a3c2b1d0f99"
    sso = sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)
    httpx.put(f"{sekoia_emulator.url}/v1/communities/{DEMO_COMMUNITY_UUID}/sso",
              headers={"Authorization": f"Bearer {sekoia_emulator.demo_api_key}"},
              json={**{k: sso[k] for k in ("enabled", "provider_url", "jit_provisioning", "default_role_uuid")},
                    "client_id": stranger, "client_secret": "set-by-hand-in-the-ui"}).raise_for_status()
    refused = apply(runs)
    assert refused.returncode == 1, refused.err
    assert f"client ID {stranger} (no environment of this project)" in last_line(refused.err)
    assert sekoia_emulator.sso_configuration(DEMO_COMMUNITY_UUID)["client_id"] == stranger


# ---- waiting means waiting ------------------------------------------------------------------------


def test_apply_connect_and_status_all_exit_3_while_a_domain_waits_and_never_say_configured(
        runs, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = None  # Sekoia.io's team has not looked yet
    first = apply(runs, "--no-wait", "--json")
    assert first.returncode == 3, first.err
    document = one_document(first)
    assert document["status"] == "waiting" and document["exit_code"] == 3
    assert document["pending_domains"] == ["contoso.example"] and document["step"]
    again = apply(runs, "--timeout", "2s", "--json")
    assert again.returncode == 3, again.err
    assert one_document(again)["status"] == "waiting"
    assert "is configured" not in again.err and last_line(again.err).startswith("Error: Waiting for Sekoia.io")

    # SSO configured, then a second domain that Sekoia.io has not verified: still not done
    sekoia_emulator.verify_domain("contoso.example")
    assert apply(runs).returncode == 0
    yaml_path = runs.project / "envs" / "sandbox.yaml"
    yaml_path.write_text(yaml_path.read_text().replace("    - contoso.example\n",
                                                       "    - contoso.example\n    - fabrikam.example\n"))
    assert runs("render", "sandbox").returncode == 0
    assert apply(runs, "--no-wait").returncode == 3
    waiting = apply(runs, "--timeout", "2s", "--json")
    assert waiting.returncode == 3, waiting.err
    assert "Nothing to do" not in waiting.err and "is configured" not in waiting.err
    assert "fabrikam.example still waits for Sekoia.io's verification" in waiting.err
    assert last_line(waiting.err).startswith("Error: Waiting for Sekoia.io to verify fabrikam.example")
    document = one_document(waiting)
    assert document["status"] == "waiting" and document["status"] != "done"
    assert document["pending_domains"] == ["fabrikam.example"]
    connect = runs("connect", "sandbox", "--timeout", "1s")
    assert connect.returncode == 3, connect.err
    assert last_line(connect.err).startswith("Error: Waiting for Sekoia.io to verify fabrikam.example")
    assert runs("status", "sandbox").returncode == 3

    sekoia_emulator.verify_domain("fabrikam.example")
    done = apply(runs, "--json")
    assert done.returncode == 0, done.err
    assert one_document(done)["status"] == "done" and "Environment sandbox is configured." in done.err


def test_without_a_terminal_the_waiting_line_prints_once_and_the_sekoia_plan_once(runs, sekoia_emulator):
    sekoia_emulator.domain_verification_delay = None
    waiting = apply(runs, "--timeout", "4s")
    assert waiting.returncode == 3, waiting.err
    lines = [line for line in waiting.err.splitlines() if line.startswith("Waiting for Sekoia.io to verify")]
    assert len(lines) == 1, lines  # polled every second for 4 s: one line, not one per poll
    assert "next check in" not in lines[0] and "gives up after 4s" in lines[0]
    assert len(sekoia_emulator.requests_for("list_domains")) >= 3
    printed = waiting.out + waiting.err
    assert printed.count("Sekoia.io community Contoso SOC (") == 1, printed  # the combined plan only


# ---- --json always answers ------------------------------------------------------------------------


def test_every_command_with_json_prints_one_document_whatever_its_exit_code(runs, graph_emulator):
    cases = [
        # (arguments, exit code, words in the message)
        (("apply", "sandbox", "--warn-only", "--json"), 2, "--yes"),  # no terminal to confirm on
        (("apply", "sandbox", "--json", "--no-such-option"), 2, "No such option"),
        (("apply", "nosuch", "--yes", "--json"), 2, "no environment 'nosuch'"),
        (("connect", "sandbox", "--json"), 2, "has not been applied"),
        (("destroy", "sandbox", "--yes", "--json"), 2, "--confirm sandbox"),
        (("rotate", "nosuch", "--yes", "--json"), 2, "no environment 'nosuch'"),
        (("status", "nosuch", "--json"), 2, "no environment 'nosuch'"),
        (("plan", "nosuch", "--json"), 2, "no environment 'nosuch'"),
    ]
    for args, code, words in cases:
        done = runs(*args)
        assert done.returncode == code, (args, done.err)
        document = one_document(done)
        assert document["exit_code"] == code and document["status"] == "failed", (args, document)
        assert words in document["message"] and words in done.err, (args, document)
        assert document["command"] == args[0] and document["step"], (args, document)
    assert one_document(runs("apply", "nosuch", "--yes", "--json"))["step"] == "loading envs/nosuch.yaml"
    assert one_document(runs("destroy", "sandbox", "--yes", "--json"))["environment"] == "sandbox"

    main_tf = runs.project / "terraform/envs/sandbox/main.tf"
    main_tf.write_text(main_tf.read_text().replace("secret_validity_days = 180", "secret_validity_days = 90"))
    stale = apply(runs, "--json")
    assert stale.returncode == 1, stale.err
    document = one_document(stale)
    assert document["status"] == "failed" and "sekoia-sso render sandbox" in document["message"]
    assert document["step"].startswith("Planning")  # the step that was running when the check failed
    assert tenant_counts(graph_emulator)["applications"] == 0


# ---- words and output -----------------------------------------------------------------------------


def test_manual_steps_point_at_an_output_command_that_works_as_printed(runs, sekoia_emulator):
    assert apply(runs).returncode == 0
    outputs = runs.outputs()
    sekoia_emulator.missing_routes = {"read_sso", "write_sso"}
    manual = runs("connect", "sandbox")
    assert manual.returncode == 3, manual.err
    command = re.search(r"read it yourself with: (sekoia-sso output sandbox client_secret) \(in a terminal",
                        manual.out)
    assert command, manual.out
    message = last_line(manual.err)
    assert "answered as missing" not in manual.err and "answered the" not in message
    assert message.startswith("Error: Sekoia.io's API has no SSO route (reading the SSO settings found no such "
                              "route): finish the SSO step in Sekoia.io's UI")
    sekoia_emulator.missing_routes = set()

    # the printed command, as printed, from the project's root: on a terminal it prints the secret
    code, out, err = on_terminal(runs, *command.group(1).split()[1:])
    assert code == 0, err
    assert out.strip() == outputs["client_secret"].reveal()
    # to a pipe, a sensitive output is refused; the others print anywhere
    piped = runs("output", "sandbox", "client_secret")
    assert piped.returncode == 2 and piped.out == ""
    assert "client_secret is sensitive: sekoia-sso prints it only to a terminal" in piped.err
    client_id = runs("output", "sandbox", "client_id")
    assert client_id.returncode == 0 and client_id.out == outputs["client_id"] + "\n"
    unknown = runs("output", "sandbox", "client_secrets")
    assert unknown.returncode == 2 and "no output 'client_secrets'" in unknown.err and "client_secret," in unknown.err


def test_rotate_and_destroy_take_q_and_then_print_no_terraform_lines(runs):
    assert apply(runs).returncode == 0
    rotated = runs("rotate", "sandbox", "--yes", "-q")
    assert rotated.returncode == 0, rotated.err
    assert "    | " not in rotated.err and len(rotated.err.splitlines()) < 60, rotated.err
    assert "Rotated: Sekoia.io now uses the secret of slot " in rotated.out  # the standby: either, as it goes
    gone = runs("destroy", "sandbox", "--yes", "--confirm", "sandbox", "--quiet")
    assert gone.returncode == 0, gone.err
    assert "    | " not in gone.err and len(gone.err.splitlines()) < 20, gone.err
    assert "Environment sandbox is destroyed" in gone.out


def test_help_examples_of_render_and_check_are_one_per_line(runs):
    for command, examples in (("render", ["sekoia-sso render prod", "sekoia-sso render --all"]),
                              ("check", ["sekoia-sso check sandbox", "sekoia-sso check --all"])):
        shown = runs(command, "--help")
        assert shown.returncode == 0
        lines = [line.strip() for line in shown.out.split("Example:")[1].splitlines() if line.strip()]
        assert lines[:2] == examples, lines


def test_the_readmes_demo_sentence_names_a_sandbox_apply_that_succeeds_by_hand(runs):
    readme = (REPO / "README.md").read_text()
    said = re.search(r"`(sekoia-sso apply sandbox --yes --warn-only)`", readme)
    assert said, "the README does not say what to run by hand on the sandbox"
    strict = runs("apply", "sandbox", "--yes")
    assert strict.returncode == 1 and "--warn-only" in last_line(strict.err)  # incomplete users, on purpose
    by_hand = runs(*said.group(1).split()[1:])
    assert by_hand.returncode == 0, by_hand.err
    assert "Environment sandbox is configured." in by_hand.out
