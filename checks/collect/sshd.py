"""Host side of the SSH checks: sshd's effective configuration."""

import subprocess

from checks.collect.core import COMMAND_TIMEOUT, command_fact, fact, run_command

# Connection spec for sshd's effective settings as a root login would get them (Match blocks applied).
_ROOT_CONNECTION = "user=root,host=localhost,addr=127.0.0.1"

command_fact("sshd_effective", ["/usr/sbin/sshd", "-T"])
command_fact("sshd_effective_root", ["/usr/sbin/sshd", "-T", "-C", _ROOT_CONNECTION])


@fact("sshd_host_keys")
def sshd_host_keys() -> list[dict[str, object]]:
    """Size and type of every host key sshd loads (HostKey lines of `sshd -T`), never the key itself."""
    effective = run_command(["/usr/sbin/sshd", "-T"])
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
