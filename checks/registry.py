"""Every check Stockade knows, by id."""

from __future__ import annotations

from checks.model import Check
from checks.sshd import SSH_LOGIN

ALL_CHECKS: tuple[Check, ...] = (SSH_LOGIN,)
