"""Bad environment files: each gets exit 2 and a message naming the file, the field and what is allowed."""

import pytest
import yaml
from click.testing import CliRunner

from orchestrator.cli import cli
from orchestrator.config.loading import load_environment
from tests.harness.project import REPO, copy_project

GOOD = yaml.safe_load((REPO / "envs" / "sandbox.yaml").read_text())


def with_change(path: str, value, *, delete: bool = False) -> dict:
    data = yaml.safe_load(yaml.safe_dump(GOOD))
    *parents, last = path.split(".")
    node = data
    for key in parents:
        node = node[key]
    if delete:
        del node[last]
    else:
        node[last] = value
    return data


DELETE = object()

# (case id, change: (path, value) or raw YAML text, fragments the message must contain)
BAD_CONFIGS = [
    ("yaml-syntax", "tenant_id: [unclosed\n", ["not valid YAML", "line"]),
    ("yaml-tab-indent", "application:\n\tdisplay_name: x\n", ["not valid YAML"]),
    ("not-a-mapping", "- just\n- a list\n", ["must be a YAML mapping"]),
    ("empty-file", "", ["must be a YAML mapping", "NoneType"]),
    ("unknown-top-key", ("tenant", "x"), ["tenant: unknown key"]),
    ("typo-nested-key", ("application.display_nme", "x"), ["application.display_nme: unknown key"]),
    ("typo-sekoia-key", ("sekoia.jit", True), ["sekoia.jit: unknown key"]),
    ("missing-tenant", ("tenant_id", DELETE), ["tenant_id: required, missing"]),
    ("bad-guid", ("tenant_id", "not-a-guid"), ["tenant_id", "'not-a-guid'", "must match"]),
    ("guid-too-short", ("tenant_id", "8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e1"), ["tenant_id", "must match"]),
    ("bad-cloud", ("cloud", "azure"), ["cloud: got 'azure'; allowed: 'public', 'usgovernment' or 'china'"]),
    ("missing-application", ("application", DELETE), ["application: required, missing"]),
    ("blank-display-name", ("application.display_name", "   "), ["application.display_name: must not be blank"]),
    ("display-name-too-long", ("application.display_name", "x" * 121), ["application.display_name", "at most 120"]),
    ("bad-audience", ("application.sign_in_audience", "Everyone"), ["application.sign_in_audience", "AzureADMyOrg"]),
    ("owner-not-guid", ("application.owners", ["bob@contoso.example"]), ["application.owners[0]", "must match"]),
    ("validity-zero", ("secret.validity_days", 0), ["secret.validity_days", "greater than or equal to 1"]),
    ("validity-too-long", ("secret.validity_days", 1000), ["secret.validity_days", "less than or equal to 730"]),
    ("validity-not-int", ("secret.validity_days", "six months"), ["secret.validity_days", "valid integer", "six months"]),
    ("rotate-window-too-wide", ("secret.rotate_before_days", 200), ["secret", "must be less than validity_days"]),
    # the keys `rotate` used to edit: the slots now live in the module and the state (workflows/client_secret.py)
    ("legacy-slots", ("secret.slots", ["blue"]), ["secret.slots: no longer used", "sekoia-sso render",
                                                   "the secret Sekoia.io holds is kept"]),
    ("legacy-rotation-under-way", ("secret.slots", ["blue", "green"]), ["secret.slots: no longer used"]),
    ("legacy-active-slot", ("secret.active_slot", "green"), ["secret.active_slot: no longer used"]),
    ("nobody-assigned", ("access", {"assignment_required": True}), ["access: assignment_required is true", "nobody could log in"]),
    ("assignment-not-bool", ("access.assignment_required", "sometimes"), ["access.assignment_required", "valid boolean"]),
    ("bad-user-ref", ("access.users", ["ivan"]), ["access.users", "neither a user principal name"]),
    ("duplicate-group", ("access.groups", ["SOC Analysts", "soc analysts"]), ["access.groups", "listed twice"]),
    ("groups-not-list", ("access.groups", "SOC Analysts"), ["access.groups", "valid tuple"]),
    ("unknown-region", ("sekoia.region", "FRA3"), ["sekoia.region", "unknown region 'FRA3'", "FRA1, FRA2, MCO1, UAE1, USA1, SGP1"]),
    ("bad-community", ("sekoia.community_uuid", "contoso"), ["sekoia.community_uuid", "must match"]),
    ("no-domains", ("sekoia.domains", []), ["sekoia.domains", "at least 1"]),
    ("bad-domain", ("sekoia.domains", ["https://contoso.example"]), ["sekoia.domains", "not a lowercase DNS domain"]),
    ("uppercase-domain", ("sekoia.domains", ["Contoso.Example"]), ["sekoia.domains", "lowercase DNS domain"]),
    ("jit-without-role", ("sekoia.default_role", DELETE), ["default_role is required when jit_provisioning is true"]),
    ("api-key-env-lowercase", ("sekoia.api_key_env", "my key"), ["sekoia.api_key_env", "NAME of an environment variable"]),
    ("api-key-in-yaml", ("sekoia.api_key", "sk_live_0123456789abcdef0123456789abcdef"),
     ["sekoia.api_key: looks like a secret", "sekoia.api_key_env"]),
    ("client-secret-in-yaml", ("application.client_secret", "Abc8Q~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
     ["application.client_secret: looks like a secret"]),
    ("secret-shaped-value", ("application.notes", "Abc8Q~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
     ["application.notes: looks like a secret"]),
    ("api-base-http", ("sekoia.api_base", "http://api.example.com"), ["sekoia.api_base", "must be an https:// URL"]),
    ("callback-not-url", ("sekoia.callback_url", "app.sekoia.io/user/callback"), ["sekoia.callback_url", "https://"]),
    ("legacy-callback-fra1", ("sekoia.legacy_callback", True), ["legacy_callback", "only FRA2 and MCO1"]),
    ("unknown-backend", ("terraform.backend", {"type": "s3"}), ["terraform.backend", "'s3'", "'local', 'azurerm'"]),
    ("azurerm-missing-fields", ("terraform.backend", {"type": "azurerm"}),
     ["terraform.backend.resource_group_name: required", "terraform.backend.storage_account_name: required"]),
    ("azurerm-bad-account", ("terraform.backend", {"type": "azurerm", "resource_group_name": "rg",
                                                   "storage_account_name": "Bad_Name", "container_name": "tfstate",
                                                   "key": "k"}), ["terraform.backend.storage_account_name", "must match"]),
    ("azurerm-access-key", ("terraform.backend", {"type": "azurerm", "resource_group_name": "rg",
                                                  "storage_account_name": "acct", "container_name": "tfstate",
                                                  "key": "k", "access_key": "abc"}),
     ["terraform.backend.access_key: looks like a secret"]),
    ("sandbox-not-bool", ("sandbox", "maybe"), ["sandbox", "valid boolean"]),
]


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = copy_project(tmp_path / "project", envs=())
    monkeypatch.setenv("SEKOIA_SSO_PROJECT_DIR", str(root))
    return root


@pytest.mark.parametrize("case, change, fragments", BAD_CONFIGS, ids=[c[0] for c in BAD_CONFIGS])
def test_bad_config_exits_2_naming_file_field_and_allowed(project, case, change, fragments):
    if isinstance(change, str):
        text = change
    else:
        path, value = change
        text = yaml.safe_dump(with_change(path, None, delete=True) if value is DELETE else with_change(path, value))
    (project / "envs" / "broken.yaml").write_text(text)
    for command in (["check", "broken"], ["render", "broken"]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        assert "envs/broken.yaml" in result.output
        for fragment in fragments:
            assert fragment in result.output
        assert "Traceback" not in result.output
    assert not (project / "terraform" / "envs" / "broken").exists()


def test_at_least_25_bad_configs():
    assert len(BAD_CONFIGS) >= 25


def test_every_error_is_reported_at_once(project):
    data = with_change("tenant_id", "nope")
    data["cloud"] = "mars"
    data["sekoia"]["region"] = "XX9"
    data["sekoia"]["colour"] = "blue"
    (project / "envs" / "broken.yaml").write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["render", "broken"])
    assert result.exit_code == 2
    assert "4 problems" in result.output
    for field in ("tenant_id:", "cloud:", "sekoia.region:", "sekoia.colour:"):
        assert field in result.output


def test_unknown_environment_suggests_close_names(project):
    (project / "envs" / "prod.yaml").write_text(yaml.safe_dump(GOOD))
    result = CliRunner().invoke(cli, ["render", "prd"])
    assert result.exit_code == 2
    assert "no environment 'prd'" in result.output and "Did you mean: prod?" in result.output


def test_env_and_all_together_is_a_usage_error(project):
    result = CliRunner().invoke(cli, ["render", "sandbox", "--all"])
    assert result.exit_code == 2
    assert "not both" in result.output


@pytest.mark.parametrize("command", ["plan", "status"])
@pytest.mark.parametrize("jobs", [["--jobs", "4"], ["-j", "2"], ["--jobs=1"]])
def test_jobs_without_all_is_a_usage_error_not_silently_ignored(project, command, jobs):
    (project / "envs" / "sandbox.yaml").write_text(yaml.safe_dump(GOOD))
    result = CliRunner().invoke(cli, [command, "sandbox", *jobs])
    assert result.exit_code == 2
    assert "--jobs goes with --all" in result.output
    assert not (project / "terraform" / "envs" / "sandbox").exists()  # refused before anything ran


def test_local_state_outside_the_sandbox_warns_loudly(project):
    data = with_change("sandbox", False)
    (project / "envs" / "prod.yaml").write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["render", "prod"])
    assert result.exit_code == 0
    assert "WARNING envs/prod.yaml: terraform.backend.type is 'local'" in result.output
    assert "plain terraform.tfstate" in result.output


def test_sandbox_with_local_state_does_not_warn(project):
    (project / "envs" / "sandbox.yaml").write_text(yaml.safe_dump(GOOD))
    result = CliRunner().invoke(cli, ["render", "sandbox"])
    assert result.exit_code == 0 and "WARNING" not in result.output


def test_region_overrides_and_legacy_callback():
    data = with_change("sekoia.region", "FRA2")
    data["sekoia"]["legacy_callback"] = True
    from orchestrator.config.loading import parse_environment

    env = parse_environment("x", REPO / "envs/x.yaml", yaml.safe_dump(data))
    assert env.config.sekoia.redirect_uris == (
        "https://app.fra2.sekoia.io/user/callback", "https://fra2.app.sekoia.io/user/callback")
    data = with_change("sekoia.callback_url", "https://app.new1.sekoia.io/user/callback")
    data["sekoia"]["api_base"] = "https://api.new1.sekoia.io/"
    env = parse_environment("x", REPO / "envs/x.yaml", yaml.safe_dump(data))
    assert env.config.sekoia.redirect_uris == ("https://app.new1.sekoia.io/user/callback",)
    assert env.config.sekoia.region_info.api_base == "https://api.new1.sekoia.io"


def test_committed_environments_load():
    sandbox = load_environment(REPO, "sandbox")
    assert sandbox.config.sandbox and sandbox.tenant_endpoint == (
        "https://login.microsoftonline.com/8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10/")
    prod = load_environment(REPO, "example-prod")
    assert prod.warnings == ()


# The secret-shape rule (config.looks_like_secret): real-looking Azure names, paths and URLs pass,
# real-looking secrets do not (issue 15).
NAMES_THAT_PASS = [
    "platform/security/sekoia-sso/prod.terraform.tfstate", "rg-security-operations-sekoia-sso-prod-westeurope",
    "sekoia-sso-production-environment-westeurope", "https://app.sekoia.io/user/callback",
    "https://app.fra2.sekoia.io/api", "8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10", "stsekoiassoprodweu001",
    "tfstate-sekoia-sso-production", "MicrosoftStorageAccountsProductionWestEurope2",
    "/subscriptions/2d1f6b0e-93a4-4c8e-b6f1-5e7a9c0d3b42/resourceGroups/rg-sekoia-sso-prod/providers/"
    "Microsoft.Storage/storageAccounts/stsekoiasso", "SOC-Analysts-Tier2-Paris-Production-Team",
    "firstname.lastname@contoso.onmicrosoft.com", "SekoiaSSOProductionWestEurope01",
    "sg-azure-ad-sekoia-sso-soc-analysts-level2-paris", "kv-sekoia-sso-prod-weu-01", "SG_AAD_SecOps_SOC_Tier1_Analysts_FR",
    "https://login.microsoftonline.com/8f0c2b7e-4d1a-4c55-9e3b-2a6f1d9c7e10/v2.0", "contoso.xn--p1ai",
    "terraform-state-sekoia-sso-production-westeurope-0001", "ProductionSecurityOperationsCenterWestEurope",
    "rg-prod-m5xqkc3xnqgz4-sekoia-westeurope", "app-4f9c2e1b7d3a5c8e", "sekoia-sso-tfstate-prod-2024-11-05T10-00-00Z",
    "Sekoia.io single sign-on. Managed by sekoia-sso from envs/prod.yaml; do not change by hand.",
]
SECRETS_THAT_DO_NOT = [
    "Abc8Q~aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "Xyz8Q~pasted.Client_Secret-0123456789AbCdEf",
    "q3W8Q~Zr7-Uo.kP1mN2bV_cX9zL0aS4dF6gH8jK", "Xy7.Q-r9_A~bC3dE4fG5hI6jK7lM8nO9pQ0",
    "U5OoJmyPBw/UeSzrYoQONOUExdrVFJhteHAn2oPwfgs=", "c2Vrb2lhLWFwaS1rZXktZm9yLXRoZS1iYWQtaW5wdXQtY29ycHVz+Q7xZ/9kLmN4==",
    "aZ3kP9qLm2Xv8Rt5Wn1Yb7Cd4Ef6Gh0JsKuVo", "6f1c0e8a9b7d5c3e1f2a4b6c8d0e2f4a6b8c0d2e",
    "sk_live_0123456789abcdef0123456789abcdef", "ghp_aB3dE9fGh2aB3dE9fGh2aB3dE9fGh2aB3dE9",
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.abc",
    "sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2025-01-01&sig=AbCdEf0123456789AbCdEf0123456789%3D",
    "DefaultEndpointsProtocol=https;AccountName=x;AccountKey=AbCd==",
]


@pytest.mark.parametrize("value", NAMES_THAT_PASS)
def test_names_paths_and_urls_are_not_taken_for_secrets(value):
    from orchestrator.config.values import looks_like_secret

    assert not looks_like_secret(value)


@pytest.mark.parametrize("value", SECRETS_THAT_DO_NOT)
def test_secrets_are_taken_for_secrets(value):
    from orchestrator.config.values import looks_like_secret

    assert looks_like_secret(value)


def test_long_azure_names_load_as_a_real_environment(project):
    data = with_change("application.display_name", "sekoia-sso-production-environment-westeurope")
    data["sandbox"] = False
    data["sekoia"]["domains"] = ["contoso.xn--p1ai"]
    data["terraform"] = {"backend": {"type": "azurerm", "storage_account_name": "stsekoiassoprod",
                                     "resource_group_name": "rg-security-operations-sekoia-sso-prod-westeurope",
                                     "container_name": "tfstate",
                                     "key": "platform/security/sekoia-sso/prod.terraform.tfstate"}}
    (project / "envs" / "prod.yaml").write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(cli, ["render", "prod"])
    assert result.exit_code == 0, result.output
