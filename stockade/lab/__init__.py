"""The lab: disposable Debian hosts (systemd-nspawn, one network namespace each) to harden and audit."""
