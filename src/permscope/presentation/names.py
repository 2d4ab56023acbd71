"""Short names for tables and reports: `role/Admin` rather than `arn:aws:iam::111122223333:role/ops/Admin`."""

from __future__ import annotations

from permscope.core.arn import Arn


def short_name(external_id: str) -> str:
    """What a person recognises an identity or resource by: an IAM ARN's type and name (`user/alice`,
    `role/Admin`, its path left out), another ARN's resource (`function:etl`, `instance/i-0abc`, a bucket's
    name); anything that is not an ARN as it is."""
    arn = Arn.try_parse(external_id)
    if arn is None:
        return external_id
    if arn.service == "iam" and arn.resource_type:
        return f"{arn.resource_type}/{arn.name}"
    if arn.service == "sts" and arn.assumed_role is not None:
        role, session = arn.assumed_role
        return f"assumed-role/{role}/{session}"
    return arn.resource or external_id
