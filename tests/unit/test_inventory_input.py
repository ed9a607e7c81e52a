"""Hostile or careless inventories are refused (exit 2, file named) before Ansible parses them or any host is
contacted; several -i merge as ansible-playbook merges them; `stockade audit` says what each waiver covered."""

from __future__ import annotations

import json
import random
from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from checks.model import Severity, Status
from stockade import harden
from stockade.cli import main
from stockade.engine.inventory import address_problem, audit_variable_problems, pattern_problem, preflight
from stockade.engine.model import Finding
from stockade.engine.targets import load_targets
from stockade.engine.waivers import Waiver, apply_waivers, waiver_coverage
from stockade.errors import UsageError

BOMB = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 9) + "]\n" for i in range(8))
GOOD = "all:\n  hosts:\n    web-1:\n      ansible_host: 127.0.0.1\n      ansible_port: 2222\n"


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def refused(sources: list[Path]) -> str:
    with pytest.raises(UsageError) as error:
        preflight(sources)
    return str(error.value)


@pytest.mark.parametrize(("name", "content", "problem"), [
    ("hosts.yml", random.Random(7).randbytes(4096), "not a text file"),
    ("hosts", bytes(range(128, 256)) * 8, "not UTF-8 text"),
    ("hosts.yml", "all:\n  vars:\n" + BOMB.replace("\n", "\n    ").replace("a: &a", "    a: &a", 1),
     "aliases expand to more than"),
    ("hosts.yml", "all: " + "[" * 300 + "]" * 300, "nested deeper than 100 levels"),
    ("hosts.yml", "all:\n  hosts: {a: 1\n", "invalid YAML"),
    ("hosts.yml", "- web-1\n- web-2\n", "expected a mapping of groups at the top level, got a list"),
    ("hosts.yml", "web:\n  hosts:\n    'http://[::1': {}\n", "group web: host 'http://[::1' is not a valid DNS name"),
    ("hosts.yml", "all:\n  children:\n    db:\n      hosts:\n        'db 1': {}\n", "group db: host 'db 1'"),
    ("hosts", "[web]\nweb-1\n>k(m!Af=8{ef x=1\n", "line 3: host '>k(m!Af=8{ef' is not a valid DNS name"),
    ("hosts", "[web]\nweb-1:99999\n", "port '99999' is not a port number"),
    ("hosts", "[web]\n[fe80::zz]:22\n", "not a valid IPv6 address in brackets"),
    ("hosts.json", '{"all": ' * 150 + "1" + "}" * 150, "nested deeper than 100 levels"),
])
def test_hostile_inventory_files_are_refused_naming_the_file(tmp_path: Path, name: str, content: str | bytes,
                                                            problem: str) -> None:
    path = write(tmp_path / name, content)
    message = refused([path])
    assert message.startswith(f"{path}: ") and problem in message, message


def test_an_over_size_inventory_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    with path.open("wb") as stream:
        stream.truncate(2 * 1024 ** 3)  # sparse: 2 GiB that cost nothing to create
    assert refused([path]) == f"{path}: the inventory's files total {2 * 1024 ** 3} bytes, more than the 32 MiB " \
                              "accepted (refused)"
    path.write_bytes(b"#" * (9 * 1024 * 1024))
    assert refused([path]) == f"{path}: larger than 8 MiB, the most accepted for this file"


@pytest.mark.parametrize("where", ["group_vars/all.yml", "group_vars/web/main.yml", "host_vars/web-1"])
def test_group_vars_and_host_vars_are_held_to_the_same_limits(tmp_path: Path, where: str) -> None:
    inventory = write(tmp_path / "hosts.yml", GOOD)
    bomb = write(tmp_path / where, BOMB)
    assert refused([inventory]).startswith(f"{bomb}: line 6, column 8: aliases expand to more than 100000 nodes")
    assert "aliases expand" in refused([tmp_path])  # the directory as the source
    write(tmp_path / where, b"x: \x00")
    assert refused([inventory]) == f"{bomb}: binary content (a NUL byte at offset 3), not a text file"


def test_devices_and_too_many_files_are_refused(tmp_path: Path) -> None:
    assert refused([Path("/dev/zero")]) == "/dev/zero: not a regular file"
    for index in range(1001):
        write(tmp_path / "inv" / f"h{index}.yml", "")
    assert refused([tmp_path / "inv"]) == f"{tmp_path / 'inv'}: more than 1000 files to read (refused)"


def test_ordinary_inventories_pass(tmp_path: Path) -> None:
    ini = write(tmp_path / "a" / "hosts", "# fleet\n[web]\nweb[01:20].example.org ansible_port=2222\n"
                "198.18.56.3\n[2001:db8::1]:22\n2001:db8::2\nweb_alias ansible_host=10.0.0.1\n"
                "[web:vars]\nx=1\n[all:children]\nweb\n")
    yml = write(tmp_path / "b" / "hosts.yml", "all:\n  hosts:\n    db-[a:c].internal:\n    '10.1.2.3:2200':\n"
                "  vars:\n    ops: &ops [alice]\n    again: *ops\n    seed: !vault |\n      $ANSIBLE_VAULT;1.1;AES256\n"
                "      3132\n")
    write(tmp_path / "b" / "group_vars" / "all.yml", "$ANSIBLE_VAULT;1.1;AES256\n616263\n")
    write(tmp_path / "b" / "group_vars" / "README.md", b"\x00 ignored by Ansible")
    assert [file.path for file in preflight([ini, yml])] == [ini, yml, tmp_path / "b" / "group_vars" / "all.yml"]


@pytest.mark.parametrize(("value", "ok"), [
    ("web-1", True), ("web_1.example.org", True), ("198.18.0.2", True), ("::1", True), ("fe80::1%eth0", True),
    ("a" * 63 + ".org", True), ("a" * 64 + ".org", False), ("1.2.3.999", False), ("[::1", False),
    ("http://[::1", False), ("-web", False), ("web-", False), ("we b", False), ("", False), ("x..y", False),
    (22, False),
])
def test_addresses(value: object, ok: bool) -> None:
    assert (address_problem(value) is None) is ok


@pytest.mark.parametrize(("pattern", "ok"), [
    ("web[01:10]", True), ("[::1]:22", True), ("host:2222", True), ("host:0", False), ("[::1", False),
    ("[a:f].x", True), ("a[b", False),
])
def test_patterns(pattern: str, ok: bool) -> None:
    assert (pattern_problem(pattern) is None) is ok


@pytest.mark.parametrize(("variables", "problem"), [
    ({"tls_endpoints": [{"port": 70000}]}, ("tls_endpoints[0].port", "expected a port number (1-65535)")),
    ({"tls_endpoints": "443"}, ("tls_endpoints", "expected a list")),
    ({"tls_endpoints": [{"port": 443, "sni": "a b"}]}, ("tls_endpoints[0].sni", "'a b' is not a valid DNS name")),
    ({"tls_endpoints": [{"port": 443, "host": "x"}]}, ("tls_endpoints[0].host", "unknown key")),
    ({"accounts_ops_users": [{"name": "a b"}]}, ("accounts_ops_users[0]", "name: expected a login name")),
    ({"totp_users": ["alice", 3]}, ("totp_users[1]", "expected str")),
    ({"totp_seeds": {"alice": 12345}}, ("totp_seeds.alice", "expected a seed (a string or a vaulted value), "
                                                            "got an integer")),
    ({"data_access_directories": [{"owner": "x"}]}, ("data_access_directories[0].path", "required key is missing")),
    ({"data_access_groups": [{"name": "g", "members": "bob"}]}, ("data_access_groups[0].members", "expected list")),
    ({"ansible_user": "{{ lookup('env', 'USER') }}"}, ("ansible_user", "is a template")),
])
def test_audit_variables_are_validated(variables: dict[str, Any], problem: tuple[str, str]) -> None:
    found = audit_variable_problems(variables)
    assert found and found[0][0] == problem[0] and found[0][1].startswith(problem[1]), found


def test_a_seed_is_never_quoted() -> None:
    assert "SECRETSEED" not in str(audit_variable_problems({"totp_seeds": {"alice": ["SECRETSEED"]}}))


def audit(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["audit", *args, "--controls", "SSH-01", "--connect-timeout", "1", "--timeout", "2"])
    return code, capsys.readouterr().err


def test_audit_refuses_a_bomb_before_ansible_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = write(tmp_path / "hosts.yml", GOOD)
    bomb = write(tmp_path / "group_vars" / "all.yml", BOMB)
    monkeypatch.setattr("stockade.engine.inventory.subprocess", None)  # any use of it would crash: exit 3
    code, err = audit(capsys, "-i", str(inventory), "-o", str(tmp_path / "out"))
    assert code == 2 and err.startswith(f"stockade: {bomb}: line 6, column 8: aliases expand"), err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("text", "message"), [
    ("all:\n  hosts:\n    web-1:\n      ansible_host: '[::1'\n",
     "host 'web-1': ansible_host: '[::1' is not a valid DNS name or IP address (refused before any connection)"),
    ("all:\n  hosts:\n    web-1:\n      ansible_host: 127.0.0.1\n      ansible_port: '0'\n",
     "host 'web-1': ansible_port: expected a port number (1-65535), got a string '0' (refused before any "
     "connection)"),
    ("all:\n  hosts:\n    web-1:\n      ansible_host: 127.0.0.1\n      tls_endpoints: [{port: 70000}]\n",
     "host web-1: tls_endpoints[0].port: expected a port number (1-65535), got an integer 70000"),
])
def test_audit_refuses_bad_addresses_and_variables_naming_file_host_and_key(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str) -> None:
    inventory = write(tmp_path / "hosts.yml", text)
    code, err = audit(capsys, "-i", str(inventory), "-o", str(tmp_path / "out"))
    assert (code, err.strip()) == (2, f"stockade: {inventory}: {message}")


def test_a_parameter_in_group_vars_is_refused_naming_that_file(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    inventory = write(tmp_path / "hosts.yml", GOOD)
    group_vars = write(tmp_path / "group_vars" / "all.yml", "stockade_params: {TLS-01: {ports: [443, 'x']}}\n")
    code, err = audit(capsys, "-i", str(inventory), "-o", str(tmp_path / "out"))
    assert (code, err.strip()) == (2, f"stockade: {group_vars}: host web-1: stockade_params.TLS-01.ports[1]: "
                                      "expected a port number (1-65535), got a string 'x'")


def test_an_unparsable_source_fails_the_read_never_a_smaller_inventory(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "inv" / "hosts.yml", GOOD)
    write(tmp_path / "inv" / "notes", "these are notes\n")
    code, err = audit(capsys, "-i", str(tmp_path / "inv"), "-o", str(tmp_path / "out"))
    assert code == 2 and "ansible-inventory could not read it (exit 1)" in err and "notes" in err, err


def test_several_inventories_merge_later_sources_override(tmp_path: Path) -> None:
    first = write(tmp_path / "one" / "hosts.yml", GOOD + "      x: first\n      only_first: 1\n")
    second = write(tmp_path / "two" / "hosts", "[web]\nweb-1 ansible_port=2200 x=second\n127.0.0.2\n")
    targets = {target.name: target for target in load_targets([first, second])}
    assert sorted(targets) == ["127.0.0.2", "web-1"]
    web = targets["web-1"].variables
    assert (web["ansible_host"], web["ansible_port"], web["x"], web["only_first"]) == ("127.0.0.1", 2200, "second", 1)
    assert "web" in web["group_names"]
    assert targets["web-1"].probe_target().ssh_port == 2200
    assert load_targets([second, first])[1].variables["x"] == "first"


def test_harden_passes_every_inventory_in_order_after_checking_them(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    first = write(tmp_path / "one.yml", GOOD)
    second = write(tmp_path / "two.yml", "all:\n  hosts:\n    web-2: {ansible_host: 127.0.0.3}\n")
    ran: list[list[str]] = []

    def playbook(command: list[str], **_: object) -> SimpleNamespace:
        ran.append(command)
        return SimpleNamespace(returncode=0)

    fake = SimpleNamespace(run=playbook)
    monkeypatch.setattr(harden, "subprocess", fake)
    assert main(["harden", "-i", str(first), "-i", str(second), "--check"]) == 0
    assert ran[0][:5] == ["ansible-playbook", "-i", str(first), "-i", str(second)]
    write(tmp_path / "two.yml", "all:\n  hosts:\n    'web 2': {}\n")
    assert main(["harden", "-i", str(first), "-i", str(second)]) == 2
    assert len(ran) == 1


def test_harden_accepts_templated_connection_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inventory = write(tmp_path / "hosts.yml", "all:\n  hosts:\n    web-1:\n      ansible_host: '{{ x }}'\n")
    fake = SimpleNamespace(run=lambda command, **_: SimpleNamespace(returncode=0))
    monkeypatch.setattr(harden, "subprocess", fake)
    assert main(["harden", "-i", str(inventory)]) == 0


def finding(host: str, status: Status, control: str = "SSH-01") -> Finding:
    return Finding(host=host, control_id=control, check_id="c", clause_ids=(), status=status,
                   severity=Severity.HIGH, message="m", evidence=None)


def waiver(waiver_id: str, hosts: str, expires: date = date(2030, 1, 1), control: str = "SSH-01") -> Waiver:
    return Waiver(id=waiver_id, control_id=control, check_id=None, hosts=hosts, justification="j", approver="a",
                  expires=expires)


def test_waiver_coverage_counts_and_names_a_waiver_that_covers_nothing() -> None:
    waivers = [waiver("W-1", "web-*"), waiver("W-2", "db-*", date(2020, 1, 1)),
               waiver("W-3", "web-1", date(2029, 1, 1)), waiver("W-4", "*", control="TLS-01"),
               waiver("W-5", "nowhere")]
    findings = apply_waivers([finding("web-1", Status.FAIL), finding("web-2", Status.FAIL),
                              finding("db-1", Status.FAIL), finding("x", Status.PASS, "TLS-01")], waivers,
                             date(2026, 12, 7))
    assert [text for _, text in waiver_coverage(waivers, findings)] == [
        "waives 2 finding(s)",
        "expired on 2020-01-01: 1 failing finding(s) it matches are not waived",
        "covers no finding (those it matches are waived by W-1)",
        "covers no finding (the 1 finding(s) it matches did not fail)",
        "covers no finding (nothing in this run matches it)",
    ]



def test_tls_scans_the_endpoints_of_several_merged_inventories(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    first = write(tmp_path / "one.yml", "all:\n  hosts:\n    web-1:\n      ansible_host: 127.0.0.1\n"
                  "      tls_endpoints: [{port: 9}]\n    web-2: {ansible_host: 127.0.0.1}\n")
    second = write(tmp_path / "two.yml", "all:\n  hosts:\n    web-1:\n      tls_endpoints: [{port: 1}, {port: 2}]\n")
    code = main(["tls", "-i", str(first), "-i", str(second), "--limit", "web-1", "-o", str(tmp_path / "out"),
                 "--format", "json", "--timeout", "1"])
    assert code == 3, capsys.readouterr()  # nothing listens there: every check is ERROR, never a pass
    report = json.loads(next((tmp_path / "out").glob("*/results.json")).read_text())
    assert report["metadata"]["hosts"] == ["127.0.0.1:1 (web-1)", "127.0.0.1:2 (web-1)"]
    capsys.readouterr()
    write(tmp_path / "two.yml", "all:\n  hosts:\n    web-1:\n      tls_endpoints: [{port: 0}]\n")
    assert main(["tls", "-i", str(first), "-i", str(second), "-o", str(tmp_path / "out2")]) == 2
    assert capsys.readouterr().err.strip() == (f"stockade: {second}: host web-1: tls_endpoints[0].port: expected a "
                                               "port number (1-65535), got an integer 0")
