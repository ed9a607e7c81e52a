"""inventory/examples/fleet.yml is a valid inventory for `stockade audit` and `stockade harden`.

- Read the way the audit reads it (load_targets: ansible-inventory through testinfra), then every host's plan
  built as `stockade audit` builds it before contacting anyone (catalogue parameter schemas, each check's fact
  arguments from the declared data directories, operators, endpoints), with the example attestations.
- Every role variable it sets is checked against that role's meta/argument_specs.yml with Ansible's own
  validator (what the pre-flight play's validate_argument_spec runs), and every variable is one a role or a
  check reads: no decoration a reader could believe does something.
- What the docs promise is there: two groups, two operators with keys, one electing 2FA with a vaulted seed,
  data directories with their group, the web edge with its certificate and vaulted key, TLS endpoints,
  firewall openings and a patch window.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from stockade.engine.audit import host_plan_for, plan_audit
from stockade.engine.targets import Target, load_targets
from stockade.project import use_ansible_environment

REPO = Path(__file__).resolve().parents[2]
FLEET = REPO / "inventory" / "examples" / "fleet.yml"
ATTESTATIONS = REPO / "inventory" / "examples" / "attestations.yml"
# Read by the engine and the probes, not by a role: connection, parameters, endpoints.
ENGINE_VARIABLES = {"ansible_host", "ansible_user", "ansible_become", "ansible_ssh_private_key_file",
                    "stockade_params", "tls_endpoints"}
SITE_ROLES = [role for role in sorted(p.name for p in (REPO / "roles").iterdir()) if role != "audit_schedule"]


def _role_options(role: str) -> dict[str, Any]:
    specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return dict(specs["argument_specs"]["main"]["options"])


ROLE_OPTIONS = {role: _role_options(role) for role in SITE_ROLES}


def _unvault(value: Any) -> Any:
    """ansible-inventory gives a vaulted value as {"__ansible_vault": ciphertext}: a string to the role."""
    if isinstance(value, Mapping):
        if set(value) == {"__ansible_vault"}:
            return "vaulted"
        return {key: _unvault(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_unvault(item) for item in value]
    return value


@pytest.fixture(scope="module")
def targets() -> list[Target]:
    use_ansible_environment()
    return load_targets(FLEET)


def test_the_audit_reads_it_and_plans_every_host_before_contacting_any(targets: list[Target]) -> None:
    assert sorted(target.name for target in targets) == ["db-01", "db-02", "web-01"]
    plan = plan_audit(attestations_file=ATTESTATIONS)
    for target in targets:
        host = host_plan_for(plan, target, str(FLEET))
        assert host.fact_keys, target.name
        operators = [user["name"] for user in target.variables["accounts_ops_users"]]
        declared = target.variables["stockade_params"]
        assert [user["name"] for user in declared["ACCT-01"]["operators"]] == operators
        assert declared["ACCT-02"]["operators"] == operators
    web = next(target for target in targets if target.name == "web-01")
    assert web.variables["ansible_host"] == "203.0.113.10" and "203.0.113.10" in str(web.host.backend.host)


def test_every_variable_is_read_by_a_role_or_a_check_and_valid_for_its_role(targets: list[Target]) -> None:
    known = set(ENGINE_VARIABLES).union(*(set(options) for options in ROLE_OPTIONS.values()))
    for target in targets:
        variables = {key: value for key, value in target.variables.items()
                     if key not in {"inventory_hostname", "inventory_hostname_short", "group_names", "groups",
                                    "inventory_file", "inventory_dir", "playbook_dir", "omit"}}
        assert set(variables) <= known, (target.name, sorted(set(variables) - known))
        for role, options in ROLE_OPTIONS.items():
            mine = {key: _unvault(value) for key, value in variables.items() if key in options}
            if not mine:
                continue
            result = ArgumentSpecValidator(options).validate(mine)
            assert not result.error_messages, (target.name, role, result.error_messages)
    # The validator does refuse what the pre-flight refuses.
    refused = ArgumentSpecValidator(ROLE_OPTIONS["firewall"]).validate({"firewall_extra_openings": "not a list"})
    assert refused.error_messages


def test_it_declares_what_a_real_fleet_needs() -> None:
    document = yaml.safe_load(FLEET.read_text().replace("!vault", "!!str"))
    fleet = document["all"]
    operators = {user["name"]: user for user in fleet["vars"]["accounts_ops_users"]}
    assert len(operators) >= 2 and all(user["ssh_keys"] for user in operators.values())
    elected = [name for name, user in operators.items() if user.get("totp")]
    assert elected == ["alice"]
    for name in elected:  # the seed is vaulted, never plain text
        assert fleet["vars"]["totp_seeds"][name].startswith("$ANSIBLE_VAULT;")
    assert fleet["vars"]["patching_reboot_policy"] == "window" and fleet["vars"]["patching_upgrade_calendar"]
    assert fleet["vars"]["firewall_extra_openings"]
    web = fleet["children"]["web"]["vars"]
    assert web["web_edge_certificate_source"] == "inventory" and web["web_edge_certificate"]
    assert web["web_edge_private_key"].startswith("$ANSIBLE_VAULT;")
    assert {endpoint["sni"] for endpoint in web["tls_endpoints"]} == {"www.example.org", "example.org"}
    db = fleet["children"]["db"]["vars"]
    assert db["tls_endpoints"] == []  # no TLS there: TLS-01..04 and WEB-01 not applicable (SKIPPED)
    groups = {group["name"] for group in db["data_access_groups"]}
    assert db["data_access_directories"] and {d["group"] for d in db["data_access_directories"]} <= groups
