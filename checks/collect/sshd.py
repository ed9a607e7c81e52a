"""Host side of the SSH checks: sshd's effective configuration."""

import fnmatch
import glob
import grp
import ipaddress
import pwd
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

from checks.collect.core import COMMAND_TIMEOUT, command_fact, fact, run_command

# Connection spec for sshd's effective settings as a root login would get them (Match blocks applied).
_ROOT_CONNECTION = "user=root,host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport=22"
# A connection no Match block is meant for: plain `sshd -T` refuses to run (exit 255, "'Match LocalPort' in
# configuration but 'lport' not in connection test specification") once a block matches on a local address,
# port or routing domain, so the general view is then taken for this connection instead.
_GENERAL_CONNECTION = "user=stockade-audit-none,host=stockade-audit.invalid,addr=203.0.113.10,laddr=203.0.113.11," \
                      "lport=65535"

command_fact("sshd_effective_root", ["/usr/sbin/sshd", "-T", "-C", _ROOT_CONNECTION])


@fact("sshd_effective")
def sshd_effective() -> dict[str, Any]:
    """`sshd -T` (no Match applied); when sshd requires connection parameters for that, the settings of a
    connection no Match block targets (the fact says so in `note`)."""
    plain = run_command(["/usr/sbin/sshd", "-T"])
    if plain.get("rc") not in (0, None) and "not in connection test specification" in str(plain.get("stderr")):
        general = run_command(["/usr/sbin/sshd", "-T", "-C", _GENERAL_CONNECTION])
        general["note"] = f"plain sshd -T refused: {str(plain.get('stderr')).strip()[:200]}; settings for " \
                          f"{_GENERAL_CONNECTION} instead"
        return general
    return plain


@fact("sshd_host_keys")
def sshd_host_keys() -> list[dict[str, object]]:
    """Size and type of every host key sshd loads (HostKey lines of `sshd -T`), never the key itself."""
    effective = sshd_effective()
    paths = [line.split(None, 1)[1] for line in str(effective.get("stdout", "")).splitlines()
             if line.startswith("hostkey ")]
    keys: list[dict[str, object]] = []
    for path in paths:
        proc = subprocess.run(["ssh-keygen", "-l", "-f", path], capture_output=True, text=True, check=False,
                              timeout=COMMAND_TIMEOUT)
        fields = proc.stdout.split()
        if proc.returncode != 0 or len(fields) < 2:
            keys.append({"path": path, "error": proc.stderr.strip() or f"ssh-keygen exit {proc.returncode}"})
            continue
        keys.append({"path": path, "bits": int(fields[0]), "type": fields[-1].strip("()"), "fingerprint": fields[1]})
    return keys


# ---- Every Match context sshd can apply (SSH-01/03/04, MFA-01 "in every context").
# sshd_config is read the way sshd reads it: Include globs expanded in lexical order (relative paths under
# /etc/ssh), a Match block running to the next Match or the end of its file. For each Match block a connection
# that satisfies its criteria is synthesised (an existing account first, a member of a matched group, an
# address inside a matched network) and `sshd -T -C` prints the effective configuration for it. A block that no
# spec can reach (a Group without members, a criterion -C cannot express) is evaluated statically: its own
# keywords over the general configuration, and the fact says so.

_SSHDCTX_MAIN = "/etc/ssh/sshd_config"
_SSHDCTX_SPEC_KEYS = {"user": "user", "host": "host", "address": "addr", "localaddress": "laddr",
                      "localport": "lport", "rdomain": "rdomain"}
_SSHDCTX_DEFAULT = {"user": "root", "host": "stockade-audit.invalid", "addr": "203.0.113.10",
                    "laddr": "127.0.0.1", "lport": "22"}


def _sshdctx_words(line: str) -> list[str]:
    try:
        return shlex.split(line, comments=True, posix=True)
    except ValueError:
        return line.split()


def _sshdctx_keyword(line: str) -> tuple[str, str]:
    """`Keyword value`, `Keyword=value` or `Keyword = value` (sshd's own separators)."""
    match = re.match(r"^([A-Za-z0-9_-]+)\s*(?:=\s*|\s+)(.*)$", line)
    if not match:
        return line.lower(), ""
    return match.group(1).lower(), match.group(2).strip()


def _sshdctx_read(path: str, blocks: list[dict[str, Any]], files: list[str], current: dict[str, Any] | None,
                  depth: int) -> None:
    """Lines of one file: top-level keywords are dropped (plain `sshd -T` shows them), Match blocks kept."""
    if depth > 16:
        return
    files.append(path)
    lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
    block = current
    for number, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        keyword, rest = _sshdctx_keyword(stripped)
        if keyword == "include":
            for pattern in _sshdctx_words(rest):
                full = pattern if pattern.startswith("/") else f"/etc/ssh/{pattern}"
                for included in sorted(glob.glob(full)):  # noqa: PTH207 - sshd expands with glob(3)
                    _sshdctx_read(included, blocks, files, block, depth + 1)
            continue
        if keyword == "match":
            block = {"file": path, "line": number, "criteria": rest.strip(), "settings": []}
            blocks.append(block)
            continue
        if block is not None:
            block["settings"].append([keyword, rest.strip(), path, number])


def _sshdctx_criteria(text: str) -> list[tuple[str, str]] | None:
    words = _sshdctx_words(text)
    if [w.lower() for w in words] == ["all"]:
        return []
    if len(words) % 2:
        return None
    return [(words[i].lower(), words[i + 1]) for i in range(0, len(words), 2)]


def _sshdctx_pattern_match(patterns: str, value: str) -> bool:
    """sshd's match_pattern_list: a negated match refuses, otherwise one positive match is needed."""
    positive = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        if fnmatch.fnmatchcase(value, pattern.lstrip("!")):
            if negated:
                return False
            positive = True
    return positive


def _sshdctx_addr_match(patterns: str, value: str) -> bool:
    positive = False
    for pattern in patterns.split(","):
        negated = pattern.startswith("!")
        bare = pattern.lstrip("!")
        try:
            hit = ipaddress.ip_address(value) in ipaddress.ip_network(bare, strict=False) if "/" in bare \
                else fnmatch.fnmatchcase(value, bare)
        except ValueError:
            hit = False
        if hit:
            if negated:
                return False
            positive = True
    return positive


def _sshdctx_candidates_addr(patterns: str) -> list[str]:
    found = []
    for pattern in patterns.split(","):
        if pattern.startswith("!"):
            continue
        try:
            if "/" in pattern:
                network = ipaddress.ip_network(pattern, strict=False)
                found.append(str(network.network_address + (1 if network.num_addresses > 1 else 0)))
            else:
                parts = pattern.replace("*", "1").replace("?", "1").split(".")
                if ":" not in pattern:
                    parts = [*parts, "1", "1", "1", "1"][:4]
                found.append(".".join(parts))
        except ValueError:
            continue
    return found


def _sshdctx_members(group: str) -> list[str]:
    try:
        entry = grp.getgrnam(group)
    except KeyError:
        return []
    members = list(entry.gr_mem)
    members += [p.pw_name for p in pwd.getpwall() if p.pw_gid == entry.gr_gid and p.pw_name not in members]
    return members


def _sshdctx_spec(criteria: list[tuple[str, str]]) -> tuple[dict[str, str] | None, list[str]]:
    """A connection that satisfies every criterion, or None with the reasons none could be built."""
    spec = dict(_SSHDCTX_DEFAULT)
    notes: list[str] = []
    users = next((v for k, v in criteria if k == "user"), None)
    groups = next((v for k, v in criteria if k == "group"), None)
    for key, _value in criteria:
        if key not in _SSHDCTX_SPEC_KEYS and key != "group":
            return None, [f"criterion {key} cannot be given to sshd -T -C"]
    if groups is not None:
        names = [g for g in groups.split(",") if not g.startswith("!") and not any(c in g for c in "*?")]
        members = [m for g in names for m in _sshdctx_members(g)]
        members = [m for m in members if users is None or _sshdctx_pattern_match(users, m)]
        members = [m for m in members if not any(m in _sshdctx_members(g[1:]) for g in groups.split(",")
                                                 if g.startswith("!"))]
        if not members:
            return None, [f"no account is a member of {groups}" + (f" and matches User {users}" if users else "")]
        spec["user"] = sorted(members)[0]
        notes.append(f"user {spec['user']} is a member of {groups}")
    elif users is not None:
        existing = sorted(p.pw_name for p in pwd.getpwall() if _sshdctx_pattern_match(users, p.pw_name))
        synthetic = [p.replace("*", "x").replace("?", "x") for p in users.split(",") if not p.startswith("!")]
        choice = (["root"] if "root" in existing else []) + existing + [
            s for s in synthetic if _sshdctx_pattern_match(users, s)]
        if not choice:
            return None, [f"no user name matches User {users} (negations only never match)"]
        spec["user"] = choice[0]
        notes.append(f"user {spec['user']} " + ("exists" if choice[0] in existing else "synthesised") +
                     f" and matches User {users}")
    for key, value in criteria:
        if key in ("user", "group"):
            continue
        field = _SSHDCTX_SPEC_KEYS[key]
        if key in ("address", "localaddress"):
            options = [a for a in _sshdctx_candidates_addr(value) if _sshdctx_addr_match(value, a)]
        elif key == "localport":
            options = [p for p in value.split(",") if p.isdigit()]
        else:
            options = [p.replace("*", "x").replace("?", "x") for p in value.split(",") if not p.startswith("!")]
            options = [o for o in options if _sshdctx_pattern_match(value, o)]
        if not options:
            return None, [f"no {field} satisfies {key} {value}"]
        spec[field] = options[0]
    return spec, notes


@fact("sshd_match_contexts")
def sshd_match_contexts() -> dict[str, Any]:
    """Every Match block of sshd's configuration with the effective settings of a connection it applies to."""
    blocks: list[dict[str, Any]] = []
    files: list[str] = []
    _sshdctx_read(_SSHDCTX_MAIN, blocks, files, None, 0)
    for block in blocks:
        criteria = _sshdctx_criteria(block["criteria"])
        if criteria is None:
            block.update(static=True, notes=["criteria could not be parsed"])
            continue
        spec, notes = _sshdctx_spec(criteria)
        block["notes"] = notes
        if spec is None:
            block["static"] = True
            continue
        text = ",".join(f"{key}={value}" for key, value in spec.items())
        block["spec"] = text
        block["static"] = False
        block["effective"] = run_command(["/usr/sbin/sshd", "-T", "-C", text])
    return {"files": files, "blocks": blocks, "default_spec": _SSHDCTX_DEFAULT}
