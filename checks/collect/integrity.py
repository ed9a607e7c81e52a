"""Host side of INT-01 (integrity of packaged files): dpkg's own checksums (/var/lib/dpkg/info/*.md5sums and
the conffile hashes of /var/lib/dpkg/status) recomputed for the files in system paths, and every setuid/setgid
file on the local filesystems with the package that ships it.

Cheap by design: only system paths (binaries, libraries, /etc, /boot; not /usr/share's documentation and
locales), hashed in a few threads (hashlib releases the GIL while it hashes), and one `find -xdev` for the
setid files. What it costs is reported in the fact itself (`seconds`)."""

import hashlib
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from checks.collect.core import fact, run_command

_INTEGRITY_INFO = Path("/var/lib/dpkg/info")
_INTEGRITY_SCOPE = ("/usr/bin/", "/usr/sbin/", "/usr/lib/", "/usr/lib64/", "/usr/libexec/", "/bin/", "/sbin/",
                    "/lib/", "/lib64/", "/etc/", "/boot/")
_INTEGRITY_LOCAL_FS = {"ext2", "ext3", "ext4", "xfs", "btrfs", "overlay", "zfs", "f2fs", "jfs", "reiserfs",
                       "tmpfs"}


def _integrity_md5(path: str) -> str | None:
    digest = hashlib.md5(usedforsecurity=False)
    try:
        with Path(path).open("rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"error: {exc}"
    return digest.hexdigest()


def _integrity_conffiles() -> dict[str, tuple[str, str]]:
    """Conffile path -> (package, md5 as installed) from dpkg's status file (obsolete ones skipped)."""
    conffiles: dict[str, tuple[str, str]] = {}
    package, installed, in_conffiles = "", False, False
    for line in Path("/var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("Package:"):
            package, installed, in_conffiles = line.split(":", 1)[1].strip(), False, False
        elif line.startswith("Status:"):
            installed = line.split()[-1] == "installed"
        elif line.startswith("Conffiles:"):
            in_conffiles = True
        elif in_conffiles and line.startswith(" ") and installed:
            fields = line.split()
            if len(fields) >= 2 and "obsolete" not in fields[2:] and "remove-on-upgrade" not in fields[2:]:
                conffiles[fields[0]] = (package, fields[1])
        elif not line.startswith(" "):
            in_conffiles = False
    return conffiles


def _integrity_merged_usr_aliases() -> dict[str, str]:
    """On a merged-/usr host `/bin` is a link to `usr/bin`: `find -xdev` reports /usr/bin/su while dpkg may
    record it as /bin/su (Debian 12). Map each /usr prefix whose top-level twin links to it back to that twin."""
    aliases = {}
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if Path(top).is_symlink() and os.path.realpath(top) == f"/usr{top}":
            aliases[f"/usr{top}/"] = f"{top}/"
    return aliases


def _integrity_names(path: str, aliases: dict[str, str]) -> list[str]:
    """The names dpkg may record for PATH: PATH itself, then its merged-/usr twin (/usr/bin/su -> /bin/su)."""
    return [path, *(top + path[len(usr):] for usr, top in aliases.items() if path.startswith(usr))]


def _integrity_setid_files() -> list[dict[str, Any]]:
    mounts = []
    for line in Path("/proc/mounts").read_text().splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[2] in _INTEGRITY_LOCAL_FS and "nosuid" not in fields[3].split(","):
            mounts.append(fields[1].replace("\\040", " "))
    if not mounts:
        mounts = ["/"]
    found = run_command(["find", *sorted(set(mounts)), "-xdev", "-type", "f", "-perm", "/6000", "-printf",
                         "%m %u %g %p\\n"])
    files = []
    for line in str(found.get("stdout", "")).splitlines():
        mode, owner, group, path = line.split(" ", 3)
        files.append({"path": path, "mode": mode.zfill(4), "owner": owner, "group": group})
    return files


@fact("integrity_packaged_files")
def integrity_packaged_files() -> dict[str, Any]:
    started = time.monotonic()
    expected: dict[str, tuple[str, str]] = {}
    owners: dict[str, str] = {}
    packages = 0
    for md5sums in sorted(_INTEGRITY_INFO.glob("*.md5sums")):
        package = md5sums.name.removesuffix(".md5sums")
        packages += 1
        for line in md5sums.read_text(encoding="utf-8", errors="replace").splitlines():
            digest, _, relative = line.partition("  ")
            path = "/" + relative.strip()
            owners[path] = package
            if path.startswith(_INTEGRITY_SCOPE):
                expected[path] = (package, digest.strip())
    conffiles = _integrity_conffiles()
    for path, (package, _digest) in conffiles.items():
        expected.pop(path, None)
        owners.setdefault(path, package)
    paths = sorted(expected)
    with ThreadPoolExecutor(max_workers=min(8, (os.cpu_count() or 2) * 2)) as pool:
        digests = dict(zip(paths, pool.map(_integrity_md5, paths), strict=True))
        conffile_digests = dict(zip(sorted(conffiles), pool.map(_integrity_md5, sorted(conffiles)), strict=True))
    changed, missing, unreadable = [], [], []
    for path in paths:
        package, digest = expected[path]
        actual = digests[path]
        if actual is None:
            missing.append({"path": path, "package": package})
        elif actual.startswith("error:"):
            unreadable.append({"path": path, "package": package, "error": actual})
        elif actual != digest:
            changed.append({"path": path, "package": package})
    conffiles_changed = [{"path": path, "package": conffiles[path][0],
                          "state": "missing" if conffile_digests[path] is None else "changed"}
                         for path in sorted(conffiles)
                         if conffile_digests[path] != conffiles[path][1] and conffiles[path][1] != "newconffile"]
    setid = _integrity_setid_files()
    aliases = _integrity_merged_usr_aliases()
    names = {entry["path"]: _integrity_names(entry["path"], aliases) for entry in setid}
    listed = {name for candidates in names.values() for name in candidates} - set(owners)
    if listed:  # a setid file without an md5sums entry may still be in a package's file list
        for file_list in _INTEGRITY_INFO.glob("*.list"):
            for line in file_list.read_text(encoding="utf-8", errors="replace").splitlines():
                if line in listed:
                    owners[line] = file_list.name.removesuffix(".list")
    changed_paths = {c["path"] for c in changed}
    for entry in setid:
        candidates = names[entry["path"]]
        entry["package"] = next((owners[name] for name in candidates if name in owners), None)
        entry["unchanged"] = not any(name in changed_paths for name in candidates)
    overrides = run_command(["dpkg-statoverride", "--list"])
    return {
        "scope": list(_INTEGRITY_SCOPE),
        "packages_with_md5sums": packages,
        "files_checked": len(paths),
        "conffiles_checked": len(conffiles),
        "changed": changed,
        "missing": missing,
        "unreadable": unreadable,
        "conffiles_changed": conffiles_changed,
        "setid": setid,
        "statoverrides": str(overrides.get("stdout", "")).splitlines() if overrides.get("rc") == 0 else [],
        "seconds": round(time.monotonic() - started, 3),
    }
