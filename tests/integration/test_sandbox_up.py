"""`python -m sandbox up` as a real process: it starts, says where things are, serves, and stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.up import start_sandbox

pytestmark = pytest.mark.timeout(120)

ENV_KEYS = {"TF_CLI_CONFIG_FILE", "AZUREAD_SANDBOX_GRAPH_URL", "ARM_TENANT_ID", "ARM_CLIENT_ID", "ARM_CLIENT_SECRET",
            "AZUREAD_SANDBOX_POLL_SECONDS",
            "SEKOIA_SANDBOX_API_KEY"}


def start_up(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    environ = {k: v for k, v in os.environ.items() if k != "SEKOIA_SSO_SANDBOX_DIR"}
    environ.update(env or {})
    return subprocess.Popen([sys.executable, "-m", "sandbox", "up", *args], cwd=cwd, env=environ,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 20) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return json.loads(path.read_text())
        if process.poll() is not None:
            pytest.fail(f"sandbox up exited {process.returncode}:\n{process.stdout.read()}\n{process.stderr.read()}")
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"{path} did not appear within {timeout} s")


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[str, str]:
    process.send_signal(sig)
    try:
        out, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"sandbox up did not stop on signal {sig}:\n{out}\n{err}")
    return out, err


def test_up_writes_endpoints_serves_and_stops_on_sigterm(tmp_path):
    directory = tmp_path / "sb"
    process = start_up(["--dir", str(directory)], cwd=tmp_path)
    endpoints_file = directory / "endpoints.json"
    try:
        endpoints = wait_for(endpoints_file, process)
        assert stat.S_IMODE(endpoints_file.stat().st_mode) == 0o600
        assert set(endpoints) == {"graph_url", "login_url", "sekoia_url", "terraform_cli_config", "env"}
        env = endpoints["env"]
        assert set(env) == ENV_KEYS
        assert env["AZUREAD_SANDBOX_GRAPH_URL"] == endpoints["graph_url"] == endpoints["login_url"]
        assert env["TF_CLI_CONFIG_FILE"] == endpoints["terraform_cli_config"]
        assert Path(env["TF_CLI_CONFIG_FILE"]).read_text().count(str(directory.resolve() / "providers")) == 1
        provider = (directory / "providers/registry.terraform.io/hashicorp/azuread/3.7.0/linux_amd64"
                    / "terraform-provider-azuread_v3.7.0")
        assert os.access(provider, os.X_OK)

        # The Graph emulator logs the Terraform principal in with the credentials written down...
        token = httpx.post(f"{endpoints['login_url']}/{env['ARM_TENANT_ID']}/oauth2/v2.0/token", data={
            "grant_type": "client_credentials", "client_id": env["ARM_CLIENT_ID"],
            "client_secret": env["ARM_CLIENT_SECRET"], "scope": "https://graph.microsoft.com/.default"})
        assert token.status_code == 200, token.text
        users = httpx.get(f"{endpoints['graph_url']}/v1.0/users",
                          headers={"Authorization": f"Bearer {token.json()['access_token']}"})
        assert users.status_code == 200 and users.json()["value"]
        # ... and the Sekoia.io emulator knows the API key.
        me = httpx.get(f"{endpoints['sekoia_url']}/v1/me",
                       headers={"Authorization": f"Bearer {env['SEKOIA_SANDBOX_API_KEY']}"})
        assert me.status_code == 200, me.text
    finally:
        out, err = stop(process)
    assert process.returncode == 0, err
    assert endpoints["graph_url"] in out and endpoints["sekoia_url"] in out
    for secret in (env["ARM_CLIENT_SECRET"], env["SEKOIA_SANDBOX_API_KEY"]):
        assert secret not in out + err
    assert not endpoints_file.exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(endpoints["graph_url"], timeout=2)


def test_up_defaults_to_the_sandbox_dir_variable_and_stops_on_sigint(tmp_path):
    directory = tmp_path / "from-env"
    process = start_up([], cwd=tmp_path, env={"SEKOIA_SSO_SANDBOX_DIR": str(directory)})
    try:
        wait_for(directory / "endpoints.json", process)
    finally:
        stop(process, signal.SIGINT)
    assert process.returncode == 0
    assert not (directory / "endpoints.json").exists()
    assert not (tmp_path / ".sandbox").exists()


def test_up_defaults_to_dot_sandbox_in_the_current_directory(tmp_path):
    process = start_up([], cwd=tmp_path)
    try:
        wait_for(tmp_path / ".sandbox" / "endpoints.json", process)
    finally:
        stop(process)
    assert process.returncode == 0


def test_start_sandbox_in_process(tmp_path):
    with start_sandbox(tmp_path) as running:
        sekoia_url = running.sekoia.url
        endpoints = json.loads((tmp_path / "endpoints.json").read_text())
        assert endpoints["env"] == running.env
        assert endpoints["graph_url"] == running.graph.url
        assert httpx.get(f"{running.graph.url}/{running.graph.tenant_id}/v2.0/.well-known/openid-configuration"
                         ).status_code == 200
    assert not (tmp_path / "endpoints.json").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(sekoia_url, timeout=2)


def test_a_restarted_sandbox_keeps_the_provider_package_byte_identical(tmp_path):
    # Terraform's lock file holds the package hash: a sandbox restarted elsewhere must keep matching it.
    with start_sandbox(tmp_path / "a") as first:
        content = first.mirror.executable.read_bytes()
    with start_sandbox(tmp_path / "b") as second:
        assert second.mirror.executable.read_bytes() == content


@pytest.mark.parametrize("delay, verified", [("0", True), ("-1", False)])
def test_up_verifies_new_domains_after_the_given_delay(tmp_path, delay, verified):
    process = start_up(["--dir", str(tmp_path), "--domain-verification-delay", delay], cwd=tmp_path)
    try:
        endpoints = wait_for(tmp_path / "endpoints.json", process)
        key = endpoints["env"]["SEKOIA_SANDBOX_API_KEY"]
        domains = f"{endpoints['sekoia_url']}/v1/communities/3b1c6a52-7e0f-4f9a-9d2e-6c4b8a1f0e21/domains"
        headers = {"Authorization": f"Bearer {key}"}
        httpx.post(domains, json={"name": "contoso.example"}, headers=headers).raise_for_status()
        time.sleep(0.3)
        items = httpx.get(domains, headers=headers).json()["items"]
        assert [item["status"] for item in items] == ["verified" if verified else "pending"]
    finally:
        stop(process)


def test_the_reality_profile_turns_on_lag_secret_delay_latency_and_throttling(tmp_path):
    from sandbox.profiles import PROFILES

    directory = tmp_path / "sb"
    process = start_up(["--dir", str(directory), "--profile", "reality"], cwd=tmp_path)
    try:
        endpoints = wait_for(directory / "endpoints.json", process)
        assert endpoints["env"]["AZUREAD_SANDBOX_POLL_SECONDS"] == "1"
    finally:
        out, _ = stop(process)
    assert "profile                   reality: replication lag" in out
    faults = PROFILES["reality"].graph_faults
    assert faults["replication_delay_ms"] > 0 and 3000 <= faults["secret_propagation_ms"] <= 18000
    assert faults["latency_ms"] == 25 and 0 < faults["throttle_rate"] < 0.1
    with start_sandbox(tmp_path / "in-process", profile="reality") as sandbox:
        assert sandbox.graph.faults.replication_lag_share == faults["replication_lag_share"]
        assert sandbox.env["AZUREAD_SANDBOX_POLL_SECONDS"] == "1"
    with start_sandbox(tmp_path / "fast") as sandbox:
        assert sandbox.graph.faults.replication_delay_ms == 0 and sandbox.profile.name == "fast"


def test_an_unknown_profile_is_refused_naming_the_known_ones(tmp_path):
    done = subprocess.run([sys.executable, "-m", "sandbox", "up", "--profile", "slow"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "argument --profile: invalid choice: 'slow'" in done.stderr
    assert "fast" in done.stderr.splitlines()[-1] and "reality" in done.stderr.splitlines()[-1]
    with pytest.raises(ValueError, match="unknown sandbox profile 'slow'; known: fast, reality"):
        start_sandbox(tmp_path / "x", profile="slow")
    assert not (tmp_path / "x").exists(), "nothing made for a refused profile"


def test_up_refuses_a_new_client_secret_for_the_given_propagation_delay(tmp_path):
    process = start_up(["--dir", str(tmp_path), "--secret-propagation-delay", "1.5"], cwd=tmp_path)
    try:
        endpoints = wait_for(tmp_path / "endpoints.json", process)
        env, graph = endpoints["env"], endpoints["graph_url"]
        token_url = f"{graph}/{env['ARM_TENANT_ID']}/oauth2/v2.0/token"

        def token(client_id: str, secret: str) -> httpx.Response:
            return httpx.post(token_url, data={"grant_type": "client_credentials", "client_id": client_id,
                                               "client_secret": secret,
                                               "scope": "https://graph.microsoft.com/.default"})

        admin = token(env["ARM_CLIENT_ID"], env["ARM_CLIENT_SECRET"]).json()["access_token"]
        with httpx.Client(base_url=f"{graph}/v1.0", headers={"Authorization": f"Bearer {admin}"}) as portal:
            app = portal.post("/applications", json={"displayName": "propagation"}).json()
            portal.post("/servicePrincipals", json={"appId": app["appId"]}).raise_for_status()
            secret = portal.post(f"/applications/{app['id']}/addPassword", json={}).json()["secretText"]
        early = token(app["appId"], secret)
        assert early.status_code == 401 and "AADSTS7000215" in early.text
        time.sleep(1.6)
        assert token(app["appId"], secret).status_code == 200
    finally:
        stop(process)


@pytest.mark.parametrize("value", ["-1", "18-4", "abc", "nan", "4-"])
def test_up_refuses_a_bad_propagation_delay_naming_the_forms_it_takes(tmp_path, value):
    done = subprocess.run([sys.executable, "-m", "sandbox", "up", "--dir", str(tmp_path),
                           f"--secret-propagation-delay={value}"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "SECONDS or LOW-HIGH" in done.stderr and "4-18" in done.stderr
    assert not (tmp_path / "endpoints.json").exists()


def test_a_propagation_range_draws_each_secrets_delay_from_the_seed(graph_emulator, graph_client):
    def delays() -> list[float]:
        graph_emulator.configure(secret_propagation_ms=4000, secret_propagation_jitter_ms=14000)
        app = graph_client.post("/v1.0/applications", json={"displayName": "draws"}).json()
        before = time.monotonic()
        keys = [graph_client.post(f"/v1.0/applications/{app['id']}/addPassword", json={}).json()["keyId"]
                for _ in range(5)]
        return [round(graph_emulator.state.secret_usable_at[k] - before) for k in keys]

    first = delays()
    assert all(4 <= d <= 18 for d in first) and len(set(first)) > 1
    graph_emulator.reset()  # the same seed: the same draws
    assert delays() == first
