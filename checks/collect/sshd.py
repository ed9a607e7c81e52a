"""Host side of the SSH checks: sshd's effective configuration."""

from checks.collect.core import command_fact

# Connection spec for sshd's effective settings as a root login would get them (Match blocks applied).
_ROOT_CONNECTION = "user=root,host=localhost,addr=127.0.0.1"

command_fact("sshd_effective", ["/usr/sbin/sshd", "-T"])
command_fact("sshd_effective_root", ["/usr/sbin/sshd", "-T", "-C", _ROOT_CONNECTION])
