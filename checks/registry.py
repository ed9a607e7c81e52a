"""Every check Stockade knows, by id."""

from __future__ import annotations

from checks.accounts import ACCOUNT_CHECKS
from checks.baseline import BASELINE_CHECKS
from checks.data_access import DATA_ACCESS_CHECKS
from checks.firewall import FIREWALL_CHECKS
from checks.integrity import INTEGRITY_CHECKS
from checks.model import Check
from checks.pam import PAM_CHECKS
from checks.patching import PATCHING_CHECKS
from checks.sshd import SSH_LIMIT_CHECKS, SSH_LOGIN
from checks.sshd_contexts import SSH_CONTEXT_CHECKS
from checks.sshd_crypto import SSH_CRYPTO_CHECKS
from checks.tls import TLS_CHECKS
from checks.totp import MFA_CHECKS
from checks.web import WEB_CHECKS

ALL_CHECKS: tuple[Check, ...] = (SSH_LOGIN, *SSH_CRYPTO_CHECKS, *SSH_LIMIT_CHECKS, *ACCOUNT_CHECKS,
                                  *TLS_CHECKS, *WEB_CHECKS, *FIREWALL_CHECKS, *PAM_CHECKS, *MFA_CHECKS,
                                  *PATCHING_CHECKS, *BASELINE_CHECKS, *DATA_ACCESS_CHECKS,
                                  *SSH_CONTEXT_CHECKS, *INTEGRITY_CHECKS)
