"""Host side of the firewall checks (FW-01, SSH-02): the live nftables ruleset, its persistence and the
listening sockets."""

from checks.collect.core import command_fact, fact, run_command

command_fact("nft_ruleset", ["/usr/sbin/nft", "-j", "list", "ruleset"])
# -H no header, -t tcp, -u udp, -l listening, -n numeric, -p process (name only: no arguments, no secrets).
command_fact("listening_sockets", ["ss", "-Htlnup"])


@fact("nftables_service_enabled")
def nftables_service_enabled() -> dict[str, object]:
    """`systemctl is-enabled` exits non-zero for "disabled": its answer is the fact, not a failure."""
    argv = ["systemctl", "is-enabled", "nftables.service"]
    result = run_command(argv)
    if "error" in result:
        return result
    stdout, stderr, rc = result["stdout"].strip(), result["stderr"], result["rc"]
    if rc != 0 and not stdout and "not found" not in stderr and "No such file" not in stderr:
        return {"command": argv, "rc": rc, "stdout": "", "stderr": stderr}
    return {"command": argv, "rc": 0, "stdout": stdout or "not-found", "stderr": stderr, "exit_status": rc}
