"""Users who sign in to the console without MFA (and the root user without MFA), from the credential report."""

from __future__ import annotations

from collections.abc import Iterator

from permscope.analytics.detector import AWS, Detector
from permscope.analytics.subjects import USER, Subject, identity_finding, is_unbounded
from permscope.core.findings import Finding, Severity
from permscope.core.inventory import IdentityKind
from permscope.core.snapshot import SystemSnapshot

FINDING_TYPE = "unenforcedMfaAwsUserFinding"


def _detect(snapshot: SystemSnapshot) -> Iterator[Finding]:
    for user in sorted(snapshot.identities_of(IdentityKind.USER), key=lambda u: u.external_id):
        report = user.attributes.get("credentialReport")
        if not isinstance(report, dict) or report.get("mfaActive") is not False:
            continue
        root = is_unbounded(snapshot, user)
        if not root and report.get("passwordEnabled") is not True:
            continue  # no console password: MFA does not apply (unknown is not guessed)
        what = "The root user has" if root else f"{user.display_name} has a console password and"
        yield identity_finding(
            snapshot,
            DETECTOR,
            FINDING_TYPE,
            Subject(USER, user.external_id, user.display_name, user),
            f"{what} no MFA device.",
            evidence={
                "rootUser": root,
                "passwordEnabled": report.get("passwordEnabled"),
                "passwordLastUsed": report.get("passwordLastUsed"),
                "mfaActive": False,
            },
        )


DETECTOR = Detector(
    name="unenforcedMfa",
    finding_types=(FINDING_TYPE,),
    clouds=AWS,
    severity=Severity.HIGH,
    title="Console users without MFA",
    description="IAM users with a console password and no MFA device, and the root user without MFA "
    "(from the IAM credential report).",
    remediation="Enable an MFA device for the user (or remove its console password if it does not need one), "
    "and require MFA with a policy condition on aws:MultiFactorAuthPresent.",
    needs=frozenset({"credentials"}),
    detect=_detect,
)
