"""The demo fleet scripts/demo.sh declares on the lab (stockade/lab/inventory.py) and its attestations."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import yaml

from checks.catalogue import load_catalogue
from stockade.engine.attestations import load_attestations
from stockade.lab.inventory import DEMO_DATA_DIR, DEMO_DATA_GROUP, demo_inventory_document

EXAMPLES = Path(__file__).resolve().parents[2] / "inventory" / "examples"
SEED = "JBSWY3DPEHPK3PXPJBSWY3DP"  # a throwaway base32 test seed


def base() -> dict[str, object]:
    hosts = {f"lab-0{n}": {"ansible_host": f"198.18.57.{n + 1}"} for n in (1, 2, 3)}
    return {"all": {"children": {"lab": {"hosts": hosts, "vars": {"ansible_user": "stockade",
                                                                  "stockade_params": {"ACCT-01": {}}}}}}}


def test_two_operators_one_elects_2fa_data_on_one_host_web_edge_on_another() -> None:
    original = base()
    document = demo_inventory_document(original, Path("/k/demo-operators"), "ssh-ed25519 AAAA alice",
                                       "ssh-ed25519 BBBB bob", SEED)
    group = document["all"]["children"]["lab"]
    operators = {user["name"]: user for user in group["vars"]["accounts_ops_users"]}
    assert set(operators) == {"alice", "bob"}
    assert operators["alice"]["totp"] is True and not operators["bob"].get("totp")
    assert group["vars"]["totp_seeds"] == {"alice": SEED}
    assert group["vars"]["stockade_params"]["MFA-01"] == {"probe_key_file": "/k/demo-operators"}
    # The audit is told the same operators the role creates (ACCT-01 with their keys).
    assert group["vars"]["stockade_params"]["ACCT-01"]["operators"] == [
        {"name": "alice", "ssh_keys": ["ssh-ed25519 AAAA alice"]},
        {"name": "bob", "ssh_keys": ["ssh-ed25519 BBBB bob"]}]
    assert group["vars"]["stockade_params"]["ACCT-02"]["operators"] == ["alice", "bob"]
    data = group["hosts"]["lab-01"]
    assert data["data_access_directories"][0]["path"] == DEMO_DATA_DIR
    assert data["data_access_groups"] == [{"name": DEMO_DATA_GROUP, "members": ["alice"]}]
    assert group["hosts"]["lab-02"]["tls_endpoints"] == [{"port": 443, "sni": "lab-02"}]
    assert "data_access_directories" not in group["hosts"]["lab-02"]
    assert "accounts_ops_users" not in original["all"]["children"]["lab"]["vars"]  # the lab's own is untouched
    assert SEED not in yaml.safe_dump(original)


def test_every_manual_control_has_an_example_attestation_valid_today() -> None:
    manual = {c.id for c in load_catalogue().controls if c.automation == "manual"}
    attestations = load_attestations(EXAMPLES / "attestations.yml", manual)
    assert {a.control_id for a in attestations} == manual
    for attestation in attestations:
        assert attestation.expires > date.today(), attestation.control_id
