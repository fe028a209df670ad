"""``AWS::::Account``: the account-wide settings AWS Config's periodic account rules look at.

As AWS Config evaluates the account pseudo-resource in each region, Vigil records one account item
per region (``resourceId`` = the account id). It carries the IAM facts (global, read once per scan)
and the region's own settings:

* ``passwordPolicy`` (``null`` when the account has none), ``accountSummary`` (``SummaryMap``);
* ``root``: MFA on, virtual or hardware, access keys present (from the summary and the virtual MFA
  list, as moto's credential report has no ``<root_account>`` row; the report's row is used when
  present);
* ``credentialReport``: every row of the IAM credential report (AWS's column names; last-use
  fields are volatile);
* ``ebsEncryptionByDefault`` for the region.
"""

from __future__ import annotations

from typing import Any

from vigil.aws.resources.base import Batch, Fetch, make_ci, to_config, wanted
from vigil.aws.resources.iam import credential_report, virtual_mfa_devices

ACCOUNT = "AWS::::Account"

_LAST_USED = (
    "password_last_used",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
)
VOLATILE = (
    *tuple(f"configuration.credentialReport.users[*].{f}" for f in _LAST_USED),
    "configuration.credentialReport.generatedTime",
    "configuration.root.passwordLastUsed",
)


def _iam_facts(fx: Fetch) -> dict[str, Any]:
    def fetch() -> dict[str, Any]:
        iam = fx.client("iam")
        policy = fx.optional(lambda: iam.get_account_password_policy()["PasswordPolicy"], ("NoSuchEntity",))
        summary = iam.get_account_summary()["SummaryMap"]
        rows = credential_report(fx)
        root_row = next((r for r in rows if r.get("user") == "<root_account>"), None)
        root_serial = f"arn:{fx.partition}:iam::{fx.account_id}:mfa/root-account-mfa-device"
        root_virtual = any(
            d["SerialNumber"] == root_serial or (d.get("User") or {}).get("Arn", "").endswith(":root")
            for d in virtual_mfa_devices(fx)
        )
        mfa_on = bool(summary.get("AccountMFAEnabled"))
        return {
            "passwordPolicy": to_config(policy) if policy is not None else None,
            "accountSummary": dict(summary),
            "root": {
                "mfaActive": mfa_on,
                "mfaType": ("virtual" if root_virtual else "hardware") if mfa_on else None,
                "accessKeysPresent": bool(summary.get("AccountAccessKeysPresent")),
                "passwordLastUsed": root_row.get("password_last_used") if root_row else None,
            },
            "credentialReport": {"users": [r for r in rows if r.get("user") != "<root_account>"]},
        }

    return fx.memo(("account", "iam"), fetch)


def collect_account(fx: Fetch, region: str, ids: frozenset[str] | None) -> Batch:
    batch = Batch()
    if not wanted(ids, fx.account_id):
        return batch
    ec2 = fx.client("ec2", region)
    encryption = ec2.get_ebs_encryption_by_default()
    configuration = {
        "accountId": fx.account_id,
        **_iam_facts(fx),
        "ebsEncryptionByDefault": bool(encryption.get("EbsEncryptionByDefault")),
    }
    batch.cis.append(make_ci(fx, ACCOUNT, region, fx.account_id, configuration=configuration))
    return batch
