"""PATCH-01/02 inputs (checks/patching.py): the security suite configured and fetched, pins and holds in apt's
own view, unattended-upgrades' origins and blacklist exactly as declared; from fact fixtures."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from checks.model import MissingFact, Status
from checks.patching import (
    evaluate_origins_declared,
    evaluate_pins_and_holds,
    evaluate_security_suite,
    parse_installed_candidate,
    parse_source_priorities,
)


def ok(stdout: str) -> dict[str, Any]:
    return {"command": ["..."], "rc": 0, "stdout": stdout, "stderr": ""}


POLICY = """\
Package files:
 100 /var/lib/dpkg/status
     release a=now
 500 http://deb.debian.org/debian-security trixie-security/main amd64 Packages
     release v=13,o=Debian,a=stable-security,n=trixie-security,l=Debian-Security,c=main,b=amd64
     origin deb.debian.org
 500 http://deb.debian.org/debian trixie/main amd64 Packages
     release v=13.8,o=Debian,a=stable,n=trixie,l=Debian,c=main,b=amd64
     origin deb.debian.org
Pinned packages:
"""
SUITES = [{"repo": "http://deb.debian.org/debian/", "suite": "trixie",
           "release_file": "deb.debian.org_debian_dists_trixie_InRelease"},
          {"repo": "http://deb.debian.org/debian-security/", "suite": "trixie-security",
           "release_file": "deb.debian.org_debian-security_dists_trixie-security_InRelease"}]


def inputs(**changes: Any) -> dict[str, Any]:
    fact = {"codename": "trixie", "suites": copy.deepcopy(SUITES), "policy": ok(POLICY), "preferences": [],
            "holds": ok(""), "held_policy": None}
    fact.update(changes)
    return {"patching_apt_inputs": fact}


def test_hardened_host_passes_both() -> None:
    suite = evaluate_security_suite(inputs(), {})
    assert suite.status is Status.PASS and "trixie-security is configured and fetched" in suite.message
    pins = evaluate_pins_and_holds(inputs(), {})
    assert pins.status is Status.PASS and "0 held package(s)" in pins.message


def test_security_suite_removed_fails_naming_what_is_configured() -> None:
    outcome = evaluate_security_suite(inputs(suites=SUITES[:1]), {})
    assert outcome.status is Status.FAIL
    assert "trixie-security is not among apt's sources (1 suite(s) configured: trixie)" in outcome.message


def test_security_suite_never_fetched_fails() -> None:
    suites = copy.deepcopy(SUITES)
    suites[1]["release_file"] = None
    outcome = evaluate_security_suite(inputs(suites=suites), {})
    assert outcome.status is Status.FAIL and "configured but was never fetched" in outcome.message


def test_security_suite_with_another_label_fails() -> None:
    policy = POLICY.replace("l=Debian-Security", "l=Evil")
    outcome = evaluate_security_suite(inputs(policy=ok(policy)), {})
    assert outcome.status is Status.FAIL and "labelled Debian-Security" in outcome.message


def test_demoting_pin_fails_and_names_the_preferences_file() -> None:
    policy = POLICY.replace(" 500 http://deb.debian.org/debian-security", " 100 http://deb.debian.org/debian-security")
    preferences = [{"path": "/etc/apt/preferences.d/zz", "content": "Package: *\nPin: release l=Debian-Security\n"}]
    outcome = evaluate_pins_and_holds(inputs(policy=ok(policy), preferences=preferences), {})
    assert outcome.status is Status.FAIL
    assert "trixie-security/main amd64 Packages has priority 100 (< 500" in outcome.message
    assert "/etc/apt/preferences.d/zz" in outcome.message


def test_per_package_pin_below_500_fails() -> None:
    policy = POLICY + "     openssl -> 3.5.1-1 with priority 100\n"
    outcome = evaluate_pins_and_holds(inputs(policy=ok(policy)), {})
    assert outcome.status is Status.FAIL and "openssl is pinned to 3.5.1-1 with priority 100" in outcome.message


def test_held_package_with_an_update_waiting_fails_and_without_passes() -> None:
    held = "openssl:\n  Installed: 3.5.1-1\n  Candidate: 3.5.1-1+deb13u1\n  Version table:\n"
    outcome = evaluate_pins_and_holds(inputs(holds=ok("openssl\n"), held_policy=ok(held)), {})
    assert outcome.status is Status.FAIL
    assert "openssl is held (apt-mark hold) at 3.5.1-1 with 3.5.1-1+deb13u1 available" in outcome.message
    current = held.replace("+deb13u1", "")
    outcome = evaluate_pins_and_holds(inputs(holds=ok("openssl\n"), held_policy=ok(current)), {})
    assert outcome.status is Status.PASS and "1 held package(s)" in outcome.message


def test_apt_failures_are_errors() -> None:
    with pytest.raises(MissingFact):
        evaluate_security_suite(inputs(suites=[{"error": "apt-get failed"}]), {})
    with pytest.raises(MissingFact):
        evaluate_pins_and_holds(inputs(holds={"command": ["apt-mark"], "error": "command not found"}), {})
    with pytest.raises(MissingFact):
        evaluate_security_suite(inputs(codename=""), {})


def test_parsers() -> None:
    entries = parse_source_priorities(POLICY + "     bash -> 5.2 with priority 990\n")
    assert entries[0]["priority"] == 500 and entries[0]["release"]["n"] == "trixie-security"
    assert entries[-1] == {"pinned_package": "bash", "version": "5.2", "priority": 990}
    assert parse_installed_candidate("a:\n  Installed: (none)\n  Candidate: 1\n") == {"a": ("(none)", "1")}


DECLARED = {"origins": ["origin=Debian,codename=${distro_codename}-security,label=Debian-Security",
                        "origin=Debian,codename=${distro_codename},label=Debian-Security"],
            "package_blacklist": []}
CONFIG = """\
Unattended-Upgrade::Origins-Pattern "";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename}-security,label=Debian-Security";
Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},label=Debian-Security";
Unattended-Upgrade::Package-Blacklist "";
"""


def test_origins_exactly_as_declared() -> None:
    outcome = evaluate_origins_declared({"patching_apt_config": ok(CONFIG)}, DECLARED)
    assert outcome.status is Status.PASS
    extra = CONFIG + 'Unattended-Upgrade::Allowed-Origins:: "Evil:stable";\n' \
                     'Unattended-Upgrade::Package-Blacklist:: "openssl";\n'
    outcome = evaluate_origins_declared({"patching_apt_config": ok(extra)}, DECLARED)
    assert outcome.status is Status.FAIL
    assert "undeclared origin(s): Evil:stable" in outcome.message
    assert "undeclared Package-Blacklist entries (never upgraded): openssl" in outcome.message
    missing = CONFIG.replace('Unattended-Upgrade::Origins-Pattern:: "origin=Debian,codename=${distro_codename},'
                             'label=Debian-Security";\n', "")
    outcome = evaluate_origins_declared({"patching_apt_config": ok(missing)},
                                        {**DECLARED, "package_blacklist": ["linux-image-amd64"]})
    assert outcome.status is Status.FAIL and "declared origin(s) missing" in outcome.message
    assert "declared Package-Blacklist entries missing: linux-image-amd64" in outcome.message
