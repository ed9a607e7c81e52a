"""Host side of the password (PAM-01, PAM-02) and 2FA (MFA-01) checks.

No secret leaves the host: /etc/shadow is reduced to hash scheme ids and aging fields, the TOTP enrolment
files are only stat()ed (never opened), and the password-quality trial never changes a password.
"""

import ctypes
import ctypes.util
import pwd
import secrets
import stat
import string
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from checks.collect.core import COMMAND_TIMEOUT, fact, file_fact

file_fact("pam_common_auth", "/etc/pam.d/common-auth")
file_fact("pam_common_account", "/etc/pam.d/common-account")
file_fact("pam_common_password", "/etc/pam.d/common-password")
file_fact("pam_sshd", "/etc/pam.d/sshd")
file_fact("faillock_conf", "/etc/security/faillock.conf")
file_fact("pwhistory_conf", "/etc/security/pwhistory.conf")
file_fact("login_defs", "/etc/login.defs")


@fact("pam_d_files")
def pam_d_files() -> dict[str, Any]:
    """Every file in /etc/pam.d by name (the stacks of every service, includes resolved on the controller)."""
    files: dict[str, str] = {}
    for path in sorted(Path("/etc/pam.d").iterdir()):
        if path.is_file():
            files[path.name] = path.read_text(encoding="utf-8", errors="replace")
    return {"files": files}

_PWQUALITY_MAIN = Path("/etc/security/pwquality.conf")
_PWQUALITY_DROPINS = Path("/etc/security/pwquality.conf.d")


def _pwquality_settings(path: Path) -> dict[str, str]:
    """`key = value` lines (and bare flags such as enforce_for_root) of one pwquality file."""
    settings: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        settings[key.strip()] = value.strip() if sep else ""
    return settings


@fact("pwquality_settings")
def pwquality_settings() -> dict[str, Any]:
    """The main file and each drop-in (*.conf, in the order libpwquality reads them), parsed separately."""
    files: list[dict[str, Any]] = []
    if _PWQUALITY_MAIN.is_file():
        files.append({"path": str(_PWQUALITY_MAIN), "settings": _pwquality_settings(_PWQUALITY_MAIN)})
    if _PWQUALITY_DROPINS.is_dir():
        for path in sorted(_PWQUALITY_DROPINS.glob("*.conf")):
            files.append({"path": str(path), "settings": _pwquality_settings(path)})
    return {"files": files}


_SCHEMES = (("$y$", "yescrypt"), ("$gy$", "gost-yescrypt"), ("$7$", "scrypt"), ("$2b$", "bcrypt"),
            ("$2a$", "bcrypt"), ("$2y$", "bcrypt"), ("$6$", "sha512crypt"), ("$5$", "sha256crypt"),
            ("$1$", "md5crypt"))


def pam_hash_scheme(field: str) -> dict[str, Any]:
    """What a shadow password field is, never what it holds."""
    if field == "":
        return {"usable": False, "empty": True, "scheme": "none"}
    locked = field[0] in "!*"
    rest = field.lstrip("!*")
    scheme = "none"
    if rest:
        scheme = next((name for prefix, name in _SCHEMES if rest.startswith(prefix)), None) or (
            "descrypt" if len(rest) == 13 and not rest.startswith("$") else "unknown")
    return {"usable": not locked and bool(rest), "empty": False, "scheme": scheme}


@fact("shadow_summary")
def shadow_summary() -> list[dict[str, Any]]:
    """Per account: uid, hash scheme id, whether the password is usable, and the aging fields (root, human
    accounts, and any account with a usable or empty password)."""
    uids = {entry.pw_name: entry.pw_uid for entry in pwd.getpwall()}
    accounts = []
    for line in Path("/etc/shadow").read_text(encoding="utf-8", errors="replace").splitlines():
        fields = line.split(":")
        if len(fields) < 6 or not fields[0]:
            continue
        uid, scheme = uids.get(fields[0]), pam_hash_scheme(fields[1])
        if not (scheme["usable"] or scheme["empty"] or uid == 0 or (uid is not None and 1000 <= uid < 65534)):
            continue  # a locked system account: nothing to judge
        accounts.append({"name": fields[0], "uid": uid, **scheme,
                         "last_change": fields[2], "min_days": fields[3], "max_days": fields[4],
                         "warn_days": fields[5]})
    return accounts


def _pam_human_accounts() -> list[pwd.struct_passwd]:
    return [entry for entry in pwd.getpwall() if 1000 <= entry.pw_uid < 65534]


@fact("totp_enrolment")
def totp_enrolment() -> dict[str, Any]:
    """stat() of each human account's ~/.google_authenticator: exists, owner, mode. Never opened or read."""
    result: dict[str, Any] = {}
    for entry in _pam_human_accounts():
        path = Path(entry.pw_dir) / ".google_authenticator"
        try:
            info = path.lstat()
        except FileNotFoundError:
            result[entry.pw_name] = {"path": str(path), "exists": False}
            continue
        except OSError as exc:
            result[entry.pw_name] = {"path": str(path), "error": str(exc)}
            continue
        try:
            owner = pwd.getpwuid(info.st_uid).pw_name
        except KeyError:
            owner = str(info.st_uid)
        result[entry.pw_name] = {"path": str(path), "exists": True, "regular_file": stat.S_ISREG(info.st_mode),
                                 "owner": owner, "mode": f"{stat.S_IMODE(info.st_mode):04o}"}
    return result


_SSHD_AUTH_KEYS = ("authenticationmethods", "kbdinteractiveauthentication", "passwordauthentication",
                   "pubkeyauthentication", "usepam", "permitemptypasswords")


@fact("sshd_auth_per_user")
def sshd_auth_per_user() -> dict[str, Any]:
    """sshd's effective authentication settings for each human account (Match blocks applied)."""
    result: dict[str, Any] = {}
    for entry in _pam_human_accounts():
        # laddr/lport too: sshd -T refuses a spec without them once a Match block tests them.
        spec = f"user={entry.pw_name},host=localhost,addr=127.0.0.1,laddr=127.0.0.1,lport=22"
        try:
            proc = subprocess.run(["/usr/sbin/sshd", "-T", "-C", spec], capture_output=True, text=True,
                                  timeout=COMMAND_TIMEOUT, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            result[entry.pw_name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        if proc.returncode != 0:
            result[entry.pw_name] = {"error": f"sshd -T exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
            continue
        settings: dict[str, str] = {}
        for line in proc.stdout.splitlines():
            keyword, _, value = line.strip().partition(" ")
            if keyword in _SSHD_AUTH_KEYS:
                settings.setdefault(keyword, value.strip())
        result[entry.pw_name] = settings
    return result


# ---- A password-quality trial through PAM that never changes a password.
# The live stack's pam_pwquality line (module and arguments from /etc/pam.d/common-password) is run by
# pam_chauthtok in a private stack (pam_start_confdir, a temporary directory) followed by pam_permit, so
# the candidate is judged by the real module with the host's pwquality settings and then discarded.
# The caller is root, so a weak password is refused only when enforce_for_root is in effect.

_PAM_PROMPT_ECHO_OFF, _PAM_PROMPT_ECHO_ON, _PAM_ERROR_MSG, _PAM_TEXT_INFO = 1, 2, 3, 4


class _PamMessage(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class _PamResponse(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


_CONV = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(_PamMessage)),
                         ctypes.POINTER(ctypes.POINTER(_PamResponse)), ctypes.c_void_p)


class _PamConv(ctypes.Structure):
    _fields_ = [("conv", _CONV), ("appdata_ptr", ctypes.c_void_p)]


def _pwquality_line(common_password: str) -> str | None:
    for raw in common_password.splitlines():
        line = raw.split("#", 1)[0].split()
        if len(line) >= 3 and line[0] == "password" and "pam_pwquality.so" in line[2]:
            return " ".join(line)
    return None


def _pam_classes(text: str) -> int:
    return sum(any(c in group for c in text) for group in (string.ascii_lowercase, string.ascii_uppercase,
                                                           string.digits, string.punctuation))


_CANDIDATE_CLASSES = ("abcdefghijkmnpqsuvwxyz", "ABCDEFGHJKMNPQSUVWXYZ", "23456789", "!%+,-./:=@_")


def _compliant_candidate() -> str:
    """A throwaway 32-character password of all four classes; it is never set nor reported.

    Accepted by construction, not by luck: the classes take turns (no class runs), no character occurs twice
    (no repeats, no palindrome, 32 different characters), no two neighbours are ASCII-adjacent (cracklib's
    "too simplistic/systematic" counts such pairs; pwquality's maxsequence counts runs), the letters of
    "root" are left out (usercheck), and no two letters are neighbours (no dictionary word)."""
    pools = [list(pool) for pool in _CANDIDATE_CLASSES]
    order = [0, 2, 1, 3] * 8
    while True:
        available = [list(pool) for pool in pools]
        chosen: list[str] = []
        for index in order:
            options = [c for c in available[index] if not chosen or abs(ord(c) - ord(chosen[-1])) > 1]
            if not options:
                break
            char = secrets.choice(options)
            available[index].remove(char)
            chosen.append(char)
        if len(chosen) == 32:
            return "".join(chosen)


def _pam_trial(libpam: Any, libc: Any, confdir: str, candidate: str) -> dict[str, Any]:
    messages: list[str] = []

    def converse(count: int, msgs: Any, resp: Any, _appdata: Any) -> int:
        array = libc.calloc(count, ctypes.sizeof(_PamResponse))
        if not array:
            return 5  # PAM_BUF_ERR
        responses = ctypes.cast(array, ctypes.POINTER(_PamResponse))
        for i in range(count):
            style = msgs[i].contents.msg_style
            text = (msgs[i].contents.msg or b"").decode(errors="replace")
            if style in (_PAM_PROMPT_ECHO_OFF, _PAM_PROMPT_ECHO_ON):
                responses[i].resp = libc.strdup(candidate.encode())
            else:
                messages.append(text)
        resp[0] = responses
        return 0

    callback = _CONV(converse)
    conv = _PamConv(callback, None)
    handle = ctypes.c_void_p()
    rc = libpam.pam_start_confdir(b"stockade-pwtrial", b"root", ctypes.byref(conv), confdir.encode(),
                                  ctypes.byref(handle))
    if rc != 0:
        return {"error": f"pam_start_confdir returned {rc}"}
    try:
        rc = libpam.pam_chauthtok(handle, 0)
        detail = libpam.pam_strerror(handle, rc).decode(errors="replace")
    finally:
        libpam.pam_end(handle, rc)
    return {"accepted": rc == 0, "pam_result": detail, "messages": list(dict.fromkeys(messages))[:5]}


@fact("pwquality_trial")
def pwquality_trial() -> dict[str, Any]:
    try:
        common_password = Path("/etc/pam.d/common-password").read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return {"error": str(exc)}
    line = _pwquality_line(common_password)
    if line is None:
        return {"module_in_stack": False}
    fields = line.split()
    arguments = [arg for arg in fields[3:] if arg not in ("use_authtok", "use_first_pass", "try_first_pass")]
    libpam = ctypes.CDLL(ctypes.util.find_library("pam") or "libpam.so.0")
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    libc.calloc.restype = ctypes.c_void_p
    libc.calloc.argtypes = [ctypes.c_size_t, ctypes.c_size_t]
    libc.strdup.restype = ctypes.c_void_p
    libc.strdup.argtypes = [ctypes.c_char_p]
    libpam.pam_strerror.restype = ctypes.c_char_p
    libpam.pam_strerror.argtypes = [ctypes.c_void_p, ctypes.c_int]
    libpam.pam_start_confdir.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_char_p,
                                         ctypes.c_void_p]
    libpam.pam_chauthtok.argtypes = [ctypes.c_void_p, ctypes.c_int]
    libpam.pam_end.argtypes = [ctypes.c_void_p, ctypes.c_int]
    candidates = {
        "dictionary word (8 characters, 1 class)": "password",
        "short (9 characters, 3 classes)": "Tr0ub4dor",
        "long, one class (20 lowercase letters)": "correcthorsebatterys",
        "compliant (32 random characters, 4 classes)": _compliant_candidate(),
    }
    with tempfile.TemporaryDirectory(prefix="stockade-pwtrial-") as confdir:
        Path(confdir, "stockade-pwtrial").write_text(
            f"password requisite {fields[2]} {' '.join(arguments)}\npassword required pam_permit.so\n")
        trials = {label: {"length": len(text), "classes": _pam_classes(text), **_pam_trial(libpam, libc, confdir, text)}
                  for label, text in candidates.items()}
    return {"module_in_stack": True, "stack_line": line, "caller": "root", "trials": trials}
