"""Host side of the firewall checks (FW-01, SSH-02): the live nftables ruleset, its persistence and the
listening sockets."""

import subprocess

from checks.collect.core import COMMAND_TIMEOUT, command_fact, fact

command_fact("nft_ruleset", ["/usr/sbin/nft", "-j", "list", "ruleset"])
# -H no header, -t tcp, -u udp, -l listening, -n numeric, -p process (name only: no arguments, no secrets).
command_fact("listening_sockets", ["ss", "-Htlnup"])


@fact("nftables_service_enabled")
def nftables_service_enabled() -> dict[str, object]:
    """`systemctl is-enabled` exits non-zero for "disabled": its answer is the fact, not a failure."""
    argv = ["systemctl", "is-enabled", "nftables.service"]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False)
    except FileNotFoundError:
        return {"command": argv, "error": "command not found"}
    except subprocess.TimeoutExpired:
        return {"command": argv, "error": f"timed out after {COMMAND_TIMEOUT}s"}
    state = proc.stdout.strip() or "not-found"
    if proc.returncode != 0 and not proc.stdout.strip() and "not found" not in proc.stderr \
            and "No such file" not in proc.stderr:
        return {"command": argv, "rc": proc.returncode, "stdout": "", "stderr": proc.stderr}
    return {"command": argv, "rc": 0, "stdout": state, "stderr": proc.stderr, "exit_status": proc.returncode}
