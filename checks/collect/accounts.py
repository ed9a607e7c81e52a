"""Host side of the account checks: who can log in, with which keys, whether passwords are usable and how
they are hashed, and who may use sudo. Reduced ON THE HOST: a password hash never leaves it, only its scheme
id (yescrypt, sha512crypt, md5crypt, des, empty, locked...)."""

import base64
import hashlib
import itertools
import time
from pathlib import Path

from checks.collect.core import command_fact, fact, run_command

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


@fact("accounts_inventory")
def accounts_inventory() -> list[dict[str, object]]:
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
        keys: list[str] = []
        key_files = []
        for file_name in ("authorized_keys", "authorized_keys2"):
            path = Path(home) / ".ssh" / file_name
            if path.is_file():
                key_files.append(str(path))
                keys += key_fingerprints(path)
        accounts.append({
            "name": name, "uid": uid, "shell": shell, "login_shell": shell not in NOLOGIN_SHELLS,
            "groups": sorted({gid_names.get(gid, gid), *members.get(name, [])}),
            "password": hash_scheme(entry[1]) if entry else "no shadow entry",
            "expired": bool(expire.isdigit() and int(expire) <= today),
            "authorized_keys": keys, "key_files": key_files,
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
