"""Resources from AWS CLI output files: the same raw dict and the same Resources as the live path."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from clouds.aws.resource_estate import ACCOUNT, REGIONS, build_estate, mocked_account
from permscope.clouds.aws.collect.resource_calls import (
    BUCKET_CALLS,
    GLOBAL_CALLS,
    REGIONAL,
    all_calls,
    cli_service,
    global_section,
)
from permscope.clouds.aws.collect.resources import collect_resources
from permscope.clouds.aws.files.resources import read_resource_files
from permscope.clouds.aws.transform.resources import transform_resources
from permscope.core.errors import InputError


def cli_output(response: dict[str, Any]) -> str:
    """What `aws ... --output json` prints for a response: indented JSON, nothing for an empty response."""
    return json.dumps(response, indent=4) + "\n" if response else ""


def cli_error(code: str, operation: str, message: str) -> str:
    """What the AWS CLI prints on stderr when a call fails."""
    return f"\nAn error occurred ({code}) when calling the {operation} operation: {message}\n"


def write_call(path: Path, operation: str, entry: dict[str, Any]) -> None:
    """Write one call the way `aws ... > <path>.json 2> <path>.err` leaves it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    error = entry.get("Error")
    if isinstance(error, dict):
        path.with_name(path.name + ".json").write_text("")
        path.with_name(path.name + ".err").write_text(cli_error(error["Code"], operation, error["Message"]))
        return
    path.with_name(path.name + ".json").write_text(cli_output(entry))
    path.with_name(path.name + ".err").write_text("")


def write_cli_layout(raw: dict[str, Any], root: Path) -> None:
    """The files the README's commands would leave for the account whose live reads are `raw`."""
    for call in GLOBAL_CALLS:
        entry = raw[global_section(call)][call.raw_key]
        write_call(root / cli_service(call.client) / call.file, call.operation, entry)
    for bucket, reads in raw["s3"]["buckets"].items():
        for call in BUCKET_CALLS.calls:
            write_call(root / "s3api" / "buckets" / bucket / call.file, call.operation, reads[call.raw_key])
    for region, services in raw["regions"].items():
        for service, (listings, items) in REGIONAL.items():
            for call in listings:
                write_call(
                    root / region / service / call.file, call.operation, services[service][call.raw_key]
                )
            if items is None:
                continue
            for name, reads in services[service][items.collection].items():
                for call in items.calls:
                    path = root / region / service / items.collection / name / call.file
                    write_call(path, call.operation, reads[call.raw_key])


def pruned(value: Any) -> Any:
    """The value without empty per-item collections (a directory with no items leaves no files)."""
    if isinstance(value, dict):
        return {
            k: pruned(v) for k, v in value.items() if not (isinstance(v, dict) and not v and k != "Error")
        }
    return value


@pytest.fixture(scope="module")
def live_raw() -> Iterator[dict[str, Any]]:
    """The live raw reads of the moto estate (collected once for the module)."""
    with mocked_account():
        session = boto3.Session(region_name="us-east-1")
        build_estate(session)
        yield collect_resources(session, ACCOUNT, REGIONS)


def test_files_written_as_the_cli_does_give_the_same_raw_and_resources_as_the_live_path(
    live_raw: dict[str, Any], tmp_path: Path
) -> None:
    write_cli_layout(live_raw, tmp_path)
    from_files = read_resource_files([tmp_path])
    assert pruned(from_files) == pruned(live_raw)
    live_resources, live_warnings = transform_resources(live_raw, ACCOUNT)
    file_resources, file_warnings = transform_resources(from_files, ACCOUNT)
    assert file_resources == live_resources
    assert file_warnings == live_warnings == []
    assert len(file_resources) > 25
    assert (tmp_path / "s3api" / "buckets" / "private-bkt" / "get-bucket-policy.err").read_text().strip()
    assert (
        tmp_path / "eu-west-1" / "ecr" / "repositories" / "team" / "app" / "get-repository-policy.json"
    ).exists()


BUCKET_POLICY = (
    '{"Version":"2012-10-17","Statement":[{"Sid":"Public","Effect":"Allow","Principal":"*",'
    '"Action":"s3:GetObject","Resource":"arn:aws:s3:::site-bkt/*"}]}'
)


def write(root: Path, relative: str, text: str, *, gzipped: bool = False) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if gzipped:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


@pytest.fixture
def handwritten(tmp_path: Path) -> Path:
    """A small account exported by hand with the README's commands (outputs as the AWS CLI prints them)."""
    write(
        tmp_path,
        "s3api/list-buckets.json.gz",
        json.dumps(
            {
                "Buckets": [
                    {"Name": "site-bkt", "CreationDate": "2024-03-01T10:00:00+00:00"},
                    {"Name": "logs-bkt", "CreationDate": "2024-03-02T10:00:00+00:00"},
                ],
                "Owner": {"DisplayName": "ops", "ID": "owner-id"},
            },
            indent=4,
        ),
        gzipped=True,
    )
    write(
        tmp_path,
        "s3control/get-public-access-block.err",
        cli_error(
            "NoSuchPublicAccessBlockConfiguration",
            "GetPublicAccessBlock",
            "The public access block configuration was not found",
        ),
    )
    site = "s3api/buckets/site-bkt/"
    write(tmp_path, site + "get-bucket-location.json", '{\n    "LocationConstraint": "eu-central-1"\n}\n')
    write(tmp_path, site + "get-bucket-policy.json", json.dumps({"Policy": BUCKET_POLICY}, indent=4))
    write(
        tmp_path,
        site + "get-bucket-acl.json",
        json.dumps(
            {
                "Owner": {"ID": "owner-id"},
                "Grants": [
                    {"Grantee": {"ID": "owner-id", "Type": "CanonicalUser"}, "Permission": "FULL_CONTROL"}
                ],
            }
        ),
    )
    write(
        tmp_path,
        site + "get-public-access-block.json",
        json.dumps(
            {
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "IgnorePublicAcls": True,
                    "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True,
                }
            }
        ),
    )
    write(
        tmp_path,
        site + "get-bucket-encryption.json",
        json.dumps(
            {
                "ServerSideEncryptionConfiguration": {
                    "Rules": [
                        {
                            "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                            "BucketKeyEnabled": False,
                        }
                    ]
                }
            }
        ),
    )
    logs = "s3api/buckets/logs-bkt/"
    write(tmp_path, logs + "get-bucket-location.json", '{\n    "LocationConstraint": null\n}\n')
    write(tmp_path, logs + "get-bucket-policy.json", "")
    write(
        tmp_path,
        logs + "get-bucket-policy.err",
        "\nAn error occurred (AccessDenied) when calling the GetBucketPolicy operation: Access Denied\n",
    )
    # two pages, as `--starting-token` runs leave them, concatenated in one file
    write(
        tmp_path,
        "us-east-1/lambda/list-functions.json",
        json.dumps(
            {
                "Functions": [
                    {
                        "FunctionName": "a",
                        "FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:a",
                        "Role": f"arn:aws:iam::{ACCOUNT}:role/a",
                    }
                ],
                "NextToken": "t",
            }
        )
        + "\n"
        + json.dumps(
            {
                "Functions": [
                    {
                        "FunctionName": "b",
                        "FunctionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:b",
                        "Role": f"arn:aws:iam::{ACCOUNT}:role/b",
                    }
                ]
            }
        ),
    )
    write(
        tmp_path,
        "us-east-1/lambda/functions/a/get-policy.err",
        cli_error("ResourceNotFoundException", "GetPolicy", "The resource you requested does not exist."),
    )
    write(tmp_path, "us-east-1/lambda/functions/b/get-policy.json", "")  # the stderr was not kept
    write(
        tmp_path,
        "us-east-1/ecr/describe-repositories.json",
        json.dumps(
            {
                "repositories": [
                    {
                        "repositoryArn": f"arn:aws:ecr:us-east-1:{ACCOUNT}:repository/team/app",
                        "repositoryName": "team/app",
                        "registryId": ACCOUNT,
                    }
                ]
            }
        ),
    )
    write(
        tmp_path,
        "us-east-1/ecr/repositories/team/app/get-repository-policy.json",
        json.dumps(
            {
                "registryId": ACCOUNT,
                "repositoryName": "team/app",
                "policyText": '{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999999999999:root"},"Action":"ecr:BatchGetImage"}]}',
            }
        ),
    )
    write(tmp_path, "us-east-1/sqs/list-queues.json", "")  # no queues: the CLI prints nothing
    write(tmp_path, ".DS_Store", "ignored")
    return tmp_path


def test_reads_handwritten_cli_files(handwritten: Path) -> None:
    raw = read_resource_files([handwritten])
    assert raw["s3"]["GetAccountPublicAccessBlock"] == {
        "Error": {
            "Code": "NoSuchPublicAccessBlockConfiguration",
            "Message": "The public access block configuration was not found",
        }
    }
    functions = raw["regions"]["us-east-1"]["lambda"]
    assert [f["FunctionName"] for f in functions["ListFunctions"]["Functions"]] == ["a", "b"]
    assert "NextToken" not in functions["ListFunctions"]
    assert functions["functions"]["b"]["GetPolicy"]["Error"]["Code"] == "EmptyOutput"
    assert raw["regions"]["us-east-1"]["sqs"]["ListQueues"] == {}

    resources, warnings = transform_resources(raw, ACCOUNT)
    named = {r.display_name: r for r in resources}
    site = named["site-bkt"]
    assert site.region == "eu-central-1"
    assert site.policy == json.loads(BUCKET_POLICY)
    assert site.facts["publicByPolicy"] is True
    assert site.facts["public"] is False  # RestrictPublicBuckets on the bucket
    assert site.facts["encryption"] == "AES256"
    logs = named["logs-bkt"]
    assert logs.region == "us-east-1"
    assert logs.facts["publicByPolicy"] is None
    assert logs.facts["errors"]["GetBucketPolicy"] == "AccessDenied: Access Denied"
    assert logs.facts["errors"]["GetBucketAcl"] == "NotCollected"
    assert named["a"].facts["hasPolicy"] is False
    assert named["b"].facts["hasPolicy"] is None
    assert named["team/app"].facts["crossAccountPrincipals"] == ["arn:aws:iam::999999999999:root"]
    assert "s3 bucket logs-bkt: GetBucketPolicy failed (AccessDenied: Access Denied)" in warnings
    assert any(
        w.startswith("lambda function b in us-east-1: GetPolicy failed (EmptyOutput") for w in warnings
    )
    assert any("logs-bkt: GetBucketAcl was not collected" in w for w in warnings)


def test_a_later_directory_wins_for_the_same_call(
    handwritten: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    later = tmp_path_factory.mktemp("later")
    write(later, "s3api/buckets/logs-bkt/get-bucket-policy.json", json.dumps({"Policy": BUCKET_POLICY}))
    raw = read_resource_files([handwritten, later])
    assert raw["s3"]["buckets"]["logs-bkt"]["GetBucketPolicy"] == {"Policy": BUCKET_POLICY}
    assert raw["s3"]["buckets"]["site-bkt"]["GetBucketLocation"] == {"LocationConstraint": "eu-central-1"}


def test_an_unrecognised_stderr_is_kept_as_a_cli_error(tmp_path: Path) -> None:
    write(tmp_path, "eu-west-1/kms/keys/k1/get-key-policy.err", "Unable to locate credentials.\n")
    raw = read_resource_files([tmp_path])
    error = raw["regions"]["eu-west-1"]["kms"]["keys"]["k1"]["GetKeyPolicy"]["Error"]
    assert error["Code"] == "CliError" and "Unable to locate credentials." in error["Message"]


def test_the_cli_error_with_retries_is_parsed(tmp_path: Path) -> None:
    write(
        tmp_path,
        "us-east-1/sns/list-topics.err",
        "\nAn error occurred (Throttling) when calling the ListTopics operation (reached max retries: 2): Rate exceeded\n",
    )
    raw = read_resource_files([tmp_path])
    assert raw["regions"]["us-east-1"]["sns"]["ListTopics"] == {
        "Error": {"Code": "Throttling", "Message": "Rate exceeded"}
    }


@pytest.mark.parametrize(
    ("relative", "text", "problem"),
    [
        ("s3api/list-bucket.json", "{}", "not a file of the resource layout"),
        ("us-east-1/ec2/describe-vpcs.json", "{}", "not a file of the resource layout"),
        ("nowhere-1/ec2/describe-instances.json", "{}", "not a file of the resource layout"),
        ("us-east-1/lambda/functions/get-policy.json", "{}", "not a file of the resource layout"),
        ("us-east-1/ec2/describe-instances.json", '{"Reservations": [', "truncated or invalid JSON"),
        ("us-east-1/ec2/describe-instances.json", "[1, 2]", "expected a JSON object"),
        ("us-east-1/ec2/describe-instances.json", '{"Reservations": {}}', "Reservations is not a list"),
        (
            "s3api/buckets/b/get-bucket-policy.json",
            '{"Policy": "{}"}\n{"Policy": "{}"}',
            "holds 2 JSON objects",
        ),
    ],
)
def test_bad_files_are_refused_naming_the_file(
    tmp_path: Path, relative: str, text: str, problem: str
) -> None:
    path = write(tmp_path, relative, text)
    with pytest.raises(InputError, match=problem) as caught:
        read_resource_files([tmp_path])
    assert caught.value.source == str(path)


def test_paths_must_be_existing_directories(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such directory"):
        read_resource_files([tmp_path / "missing"])
    file = write(tmp_path, "list-buckets.json", "{}")
    with pytest.raises(InputError, match="is a file"):
        read_resource_files([file])
    with pytest.raises(InputError, match="no resource directory given"):
        read_resource_files([])


def test_the_readme_commands_write_every_file_the_reader_knows(readme_section: str) -> None:
    bucket_loop = next(line for line in readme_section.splitlines() if line.strip().startswith("for c in"))
    for call in all_calls():
        if call in BUCKET_CALLS.calls:
            assert f" {call.file}" in bucket_loop, call.file
        else:
            assert f"{cli_service(call.client)} {call.file}" in readme_section, call.file
    for service, (_, items) in REGIONAL.items():
        if items is not None:
            assert f'"$r/{service}/{items.collection}/' in readme_section, service


@pytest.fixture
def readme_section() -> str:
    """The README's "Resources from files" section."""
    text = (Path(__file__).resolve().parents[4] / "README.md").read_text()
    start = text.index("### Resources from files")
    return text[start : text.index("\n## ", start)]
