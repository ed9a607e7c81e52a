"""INT-01 (checks/integrity.py) from fact fixtures, and the host-side hashing helper."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from checks.collect import integrity as collect
from checks.integrity import evaluate_packaged_files, evaluate_setid_files
from checks.model import MissingFact, Status

SETID = [{"path": "/usr/bin/su", "mode": "4755", "owner": "root", "group": "root", "package": "util-linux",
          "unchanged": True},
         {"path": "/usr/sbin/unix_chkpwd", "mode": "2755", "owner": "root", "group": "shadow",
          "package": "libpam-modules-bin", "unchanged": True}]


def facts(**changes: Any) -> dict[str, Any]:
    fact: dict[str, Any] = {"scope": ["/usr/bin/", "/etc/"], "packages_with_md5sums": 176, "files_checked": 2698,
                            "conffiles_checked": 113, "changed": [], "missing": [], "unreadable": [],
                            "conffiles_changed": [{"path": "/etc/ssh/sshd_config", "package": "openssh-server",
                                                   "state": "changed"}],
                            "setid": [dict(entry) for entry in SETID], "statoverrides": [], "seconds": 0.9}
    fact.update(changes)
    return {"integrity_packaged_files": fact}


PARAMS = {"allowed_setid": []}


def test_clean_host_passes_and_reports_changed_conffiles_as_evidence() -> None:
    outcome = evaluate_packaged_files(facts(), PARAMS)
    assert outcome.status is Status.PASS
    assert "all 2698 packaged files" in outcome.message and "1 conffile(s) changed" in outcome.message
    assert "2698 packaged files in /usr/bin/, /etc/ of 176 packages" in outcome.observed["enumerated"]
    assert outcome.observed["conffiles changed (configuration, not judged here)"][0]["path"] == "/etc/ssh/sshd_config"
    assert evaluate_setid_files(facts(), PARAMS).status is Status.PASS


def test_changed_binary_fails_naming_file_package_and_remedy() -> None:
    outcome = evaluate_packaged_files(facts(changed=[{"path": "/usr/bin/tac", "package": "coreutils"}]), PARAMS)
    assert outcome.status is Status.FAIL
    assert "/usr/bin/tac (coreutils)" in outcome.message
    assert "apt-get install --reinstall coreutils" in outcome.message


def test_unreadable_files_are_an_error() -> None:
    with pytest.raises(MissingFact):
        evaluate_packaged_files(facts(unreadable=[{"path": "/usr/bin/x", "error": "EACCES"}]), PARAMS)
    with pytest.raises(MissingFact):
        evaluate_setid_files({"integrity_packaged_files": {"error": "boom"}}, PARAMS)


def test_setid_file_no_package_ships_fails_unless_declared() -> None:
    rogue = {"path": "/usr/local/bin/.rootsh", "mode": "4755", "owner": "root", "group": "root", "package": None,
             "unchanged": True}
    outcome = evaluate_setid_files(facts(setid=[*SETID, rogue]), PARAMS)
    assert outcome.status is Status.FAIL
    assert "/usr/local/bin/.rootsh (mode 4755, root:root) is shipped by no package" in outcome.message
    assert "3 setuid/setgid file(s)" in outcome.observed["enumerated"]
    declared = evaluate_setid_files(facts(setid=[*SETID, rogue]), {"allowed_setid": ["/usr/local/bin/.rootsh"]})
    assert declared.status is Status.PASS


def test_changed_packaged_setid_file_fails() -> None:
    changed = [dict(SETID[0], unchanged=False), SETID[1]]
    outcome = evaluate_setid_files(facts(setid=changed), PARAMS)
    assert outcome.status is Status.FAIL and "/usr/bin/su (mode 4755) differs from the file util-linux" \
        in outcome.message


def test_md5_helper(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 3_000_000)
    assert collect._integrity_md5(str(path)) == hashlib.md5(b"x" * 3_000_000).hexdigest()
    assert collect._integrity_md5(str(tmp_path / "absent")) is None


def test_a_setid_file_found_under_usr_is_looked_up_under_the_name_dpkg_recorded_on_merged_usr() -> None:
    # Debian 12: dpkg records /bin/su and /sbin/unix_chkpwd; `find -xdev` on merged /usr reports /usr/bin/su.
    aliases = {"/usr/bin/": "/bin/", "/usr/sbin/": "/sbin/"}
    assert collect._integrity_names("/usr/bin/su", aliases) == ["/usr/bin/su", "/bin/su"]
    assert collect._integrity_names("/usr/sbin/unix_chkpwd", aliases) == ["/usr/sbin/unix_chkpwd", "/sbin/unix_chkpwd"]
    # Outside the merged directories, and on a host without the merged-/usr links, a path has only its own name.
    assert collect._integrity_names("/usr/local/bin/rootsh", aliases) == ["/usr/local/bin/rootsh"]
    assert collect._integrity_names("/usr/bin/su", {}) == ["/usr/bin/su"]
