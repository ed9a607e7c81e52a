"""Host side of the account checks: who can log in, with which keys, whether passwords are usable and how
they are hashed, and who may use sudo. Reduced ON THE HOST: a password hash never leaves it, only its scheme
id (yescrypt, sha512crypt, md5crypt, des, empty, locked...)."""

import base64
import hashlib
import itertools
import json
import re
import subprocess
import threading
import time
from pathlib import Path

from checks.collect.core import COMMAND_TIMEOUT, command_fact, fact, run_command

NOLOGIN_SHELLS = {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/sync",
                  "/usr/sbin/halt", "/sbin/halt", "/usr/sbin/shutdown", "/sbin/shutdown", ""}
HASH_SCHEMES = {"$y$": "yescrypt", "$gy$": "gost-yescrypt", "$7$": "scrypt", "$2b$": "bcrypt", "$2a$": "bcrypt",
                "$2y$": "bcrypt", "$6$": "sha512crypt", "$5$": "sha256crypt", "$1$": "md5crypt",
                "$sha1$": "sha1crypt", "$md5": "sunmd5", "_": "bsdicrypt"}


def hash_scheme(field: str) -> str:
    """The scheme id of a shadow password field; the hash itself is dropped here."""
    if field == "":
        return "empty"
    if field.startswith(("!", "*")):
        return "locked"
    for prefix, name in HASH_SCHEMES.items():
        if field.startswith(prefix):
            return name
    if len(field) == 13:
        return "des"
    return "unknown"


def key_fingerprints(path: Path) -> list[str]:
    """OpenSSH SHA256 fingerprints of the keys in an authorized_keys file (options before the key allowed)."""
    prints = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split()
        for key_type, blob in itertools.pairwise(fields):
            try:
                raw = base64.b64decode(blob, validate=True)
            except ValueError:
                continue
            if raw[4:4 + int.from_bytes(raw[:4], "big")] == key_type.encode():
                prints.append("SHA256:" + base64.b64encode(hashlib.sha256(raw).digest()).decode().rstrip("="))
                break
    return prints


_SSHD_KEY_SOURCES = ("authorizedkeysfile", "authorizedkeyscommand", "authorizedkeyscommanduser",
                     "authorizedprincipalsfile", "authorizedprincipalscommand", "trustedusercakeys")


def sshd_key_sources(name: str) -> dict[str, str]:
    """sshd's effective key settings for a connection as `name` (Match blocks applied): what sshd itself reads."""
    # Every field sshd may need: once a Match block tests the local address or port, sshd -T refuses a spec
    # without them (exit 255). The local port is sshd's usual one, what a login from the network meets.
    spec = f"user={name},host=stockade-audit.invalid,addr=203.0.113.10,laddr=127.0.0.1,lport=22"
    proc = subprocess.run(["/usr/sbin/sshd", "-T", "-C", spec], capture_output=True,
                          text=True, timeout=COMMAND_TIMEOUT, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"sshd -T -C user={name} exit {proc.returncode}: {proc.stderr.strip()[-200:]}")
    settings: dict[str, str] = {}
    for line in proc.stdout.splitlines():
        keyword, _, value = line.strip().partition(" ")
        if keyword in _SSHD_KEY_SOURCES:
            settings.setdefault(keyword, value.strip())
    return settings


def expand_tokens(pattern: str, name: str, uid: int, home: str) -> str:
    """sshd's %% %h %u %U expansion of an AuthorizedKeysFile entry; a relative path is under the home."""
    expanded = re.sub(r"%([%hUu])", lambda m: {"%": "%", "h": home, "u": name, "U": str(uid)}[m.group(1)], pattern)
    return expanded if expanded.startswith("/") else f"{home.rstrip('/')}/{expanded}"


# accounts_sudo_rights needs the same enumeration, which costs an `sshd -T` per account: it is made once per
# collector run (one process per audit), whichever fact asks first.
_ACCOUNTS_LOCK = threading.Lock()
_ACCOUNTS_MADE: list[list[dict[str, object]]] = []


@fact("accounts_inventory")
def accounts_inventory() -> list[dict[str, object]]:
    with _ACCOUNTS_LOCK:
        if not _ACCOUNTS_MADE:
            _ACCOUNTS_MADE.append(_enumerate_accounts())
        return _ACCOUNTS_MADE[0]


def _enumerate_accounts() -> list[dict[str, object]]:
    today = int(time.time() // 86400)
    shadow: dict[str, list[str]] = {}
    for line in Path("/etc/shadow").read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 8:
            shadow[fields[0]] = fields
    members: dict[str, list[str]] = {}
    gid_names: dict[str, str] = {}
    for line in Path("/etc/group").read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) >= 4:
            gid_names[fields[2]] = fields[0]
            for user in filter(None, fields[3].split(",")):
                members.setdefault(user, []).append(fields[0])
    accounts = []
    for line in Path("/etc/passwd").read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) < 7:
            continue
        name, uid, gid, home, shell = fields[0], int(fields[2]), fields[3], fields[5], fields[6]
        entry = shadow.get(name)
        expire = entry[7] if entry else ""
        sources = sshd_key_sources(name)
        keys: list[str] = []
        key_files: list[dict[str, object]] = []
        patterns = sources.get("authorizedkeysfile", "none")
        for pattern in ([] if patterns == "none" else patterns.split()):
            path = Path(expand_tokens(pattern, name, uid, home))
            if path.is_file():
                found = key_fingerprints(path)
                key_files.append({"path": str(path), "keys": len(found)})
                keys += found
        accounts.append({
            "name": name, "uid": uid, "shell": shell, "login_shell": shell not in NOLOGIN_SHELLS,
            "groups": sorted({gid_names.get(gid, gid), *members.get(name, [])}),
            "password": hash_scheme(entry[1]) if entry else "no shadow entry",
            "expired": bool(expire.isdigit() and int(expire) <= today),
            "authorized_keys": keys, "key_files": key_files,
            "key_sources": {k: v for k, v in sources.items() if v != "none"},
        })
    return accounts


@fact("accounts_sudo_rights")
def accounts_sudo_rights() -> dict[str, object]:
    """`sudo -l -U` for every account that has a login shell or authorized keys: the rules, not the files."""
    rights: dict[str, object] = {}
    for account in accounts_inventory():
        if not (account["login_shell"] or account["authorized_keys"]):
            continue
        result = run_command(["sudo", "-n", "-l", "-U", str(account["name"])])
        if result.get("rc") != 0:
            rights[str(account["name"])] = {"error": result.get("error") or str(result.get("stderr", "")).strip()}
            continue
        text = str(result["stdout"])
        marker = "may run the following commands"
        rules = [line.strip() for line in text.split(marker, 1)[1].splitlines()[1:] if line.strip()] \
            if marker in text else []
        rights[str(account["name"])] = {"rules": rules, "nopasswd": any("NOPASSWD" in rule for rule in rules)}
    return rights


command_fact("sudoers_syntax", ["/usr/sbin/visudo", "-c"])


_INCLUDE = re.compile(r"^[@#](include|includedir)\s+(\S+)")


def _sudoers_files(path: Path, seen: list[str]) -> None:
    """The files sudo reads, in its order: /etc/sudoers, then each @include/@includedir where it stands
    (an @includedir's files in lexical order, skipping names with a dot or ending in ~)."""
    if str(path) in seen or not path.is_file():
        return
    seen.append(str(path))
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        match = _INCLUDE.match(raw.strip())
        if not match:
            continue
        target = Path(match.group(2)) if match.group(2).startswith("/") else path.parent / match.group(2)
        if match.group(1) == "include":
            _sudoers_files(target, seen)
        elif target.is_dir():
            for child in sorted(target.iterdir()):
                if "." not in child.name and not child.name.endswith("~"):
                    _sudoers_files(child, seen)


@fact("sudoers_rules")
def sudoers_rules() -> dict[str, object]:
    """Every Defaults entry and user spec sudo reads, includes followed and aliases expanded, as sudo's own
    parser gives them (`cvtsudoers -e -f json`), and the files it read."""
    result = run_command(["cvtsudoers", "-e", "-f", "json", "/etc/sudoers"])
    if "error" in result or result.get("rc") != 0:
        return {"error": result.get("error") or f"cvtsudoers exit {result.get('rc')}: "
                                                  f"{str(result.get('stderr', '')).strip()[-300:]}"}
    files: list[str] = []
    _sudoers_files(Path("/etc/sudoers"), files)
    parsed = json.loads(str(result["stdout"]) or "{}")
    return {"files": files, "defaults": parsed.get("Defaults", []), "user_specs": parsed.get("User_Specs", [])}
