"""Live collection of AWS resources with their policies (boto3), as a raw dict shaped like AWS CLI output.

The raw dict (the file reader `files.resources.read_resource_files` returns the same shape):

    {
      "s3": {
        "ListBuckets": {"Buckets": [...], "Owner": {...}},
        "GetAccountPublicAccessBlock": {"PublicAccessBlockConfiguration": {...}},   # s3control
        "buckets": {"<bucket>": {"GetBucketLocation": {...}, "GetBucketPolicy": {"Policy": "<json>"},
                                 "GetBucketAcl": {...}, "GetPublicAccessBlock": {...},
                                 "GetBucketEncryption": {...}}},
      },
      "iam": {"ListInstanceProfiles": {"InstanceProfiles": [...]}},
      "regions": {
        "<region>": {
          "ec2": {"DescribeInstances": {"Reservations": [...]}, "DescribeSecurityGroups": {...}},
          "lambda": {"ListFunctions": {...}, "functions": {"<name>": {"GetPolicy": {...}}}},
          "kms": {"ListKeys": {...}, "ListAliases": {...},
                  "keys": {"<key id>": {"DescribeKey": ..., "GetKeyPolicy": ..., "GetKeyRotationStatus": ...}}},
          "secretsmanager": {"ListSecrets": {...}, "secrets": {"<name>": {"GetResourcePolicy": {...}}}},
          "sqs": {"ListQueues": {...}, "queues": {"<queue name>": {"GetQueueAttributes": {...}}}},
          "sns": {"ListTopics": {...}, "topics": {"<topic name>": {"GetTopicAttributes": {...}}}},
          "ecr": {"DescribeRepositories": {...}, "repositories": {"<name>": {"GetRepositoryPolicy": {...}}}},
        }
      }
    }

Every leaf is the API response without `ResponseMetadata` (timestamps as ISO-8601 UTC text, paginated
listings merged), or `{"Error": {"Code": ..., "Message": ...}}` when the call failed. A missing policy
(NoSuchBucketPolicy, ResourceNotFoundException, RepositoryPolicyNotFoundException, ...) is recorded the
same way and read as a fact by the transform; AccessDenied on one resource (or a listing) is recorded there
and the collection goes on, as is a resource deleted between its listing and its read. Any other failure
(throttling that outlived botocore's retries, a server or network error) raises CollectionError naming the
call: the account's run fails and keeps its previous data rather than storing a silently partial list.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore import xform_name
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from permscope.clouds.aws.collect.resource_calls import (
    ACCOUNT_PUBLIC_ACCESS_BLOCK,
    BUCKET_CALLS,
    LIST_BUCKETS,
    LIST_INSTANCE_PROFILES,
    REGIONAL,
    ApiCall,
    ItemCollection,
    all_calls,
    bucket_location_region,
)
from permscope.clouds.aws.collect.support import (
    DENIED_CODES,
    UNAVAILABLE_CODES,
    CollectionError,
    describe_error,
    error_code,
    jsonable,
)
from permscope.core.arn import is_account_id, resource_name

RESOURCE_API_CALLS: tuple[str, ...] = tuple(dict.fromkeys(call.api_call for call in all_calls()))
RESOURCE_IAM_ACTIONS: dict[str, str] = {call.api_call: call.iam_action for call in all_calls()}
DEFAULT_REGION = "us-east-1"

Raw = dict[str, Any]
# A resource deleted between its listing and its read, or in a state that refuses the read.
GONE_CODES = frozenset(
    {
        "NoSuchBucket",
        "NotFoundException",
        "ResourceNotFoundException",
        "AWS.SimpleQueueService.NonExistentQueue",
        "QueueDoesNotExist",
        "NotFound",
        "RepositoryNotFoundException",
        "KMSInvalidStateException",
        "AllAccessDisabled",
        "PermanentRedirect",  # a bucket read in the wrong region (botocore usually follows these itself)
        "AuthorizationHeaderMalformed",
    }
)
RECORDED_CODES = (
    DENIED_CODES | UNAVAILABLE_CODES | GONE_CODES | frozenset().union(*(c.absent_codes for c in all_calls()))
)


def _error(code: str, message: str) -> Raw:
    return {"Error": {"Code": code, "Message": message}}


def _record(invoke: Callable[[], Any], what: str) -> Raw:
    """The plain response of one call, or the error entry of a denied / absent / gone read.

    Any other failure (throttling that outlived botocore's retries, a server or network error) raises
    CollectionError naming the call, so that the account's run fails rather than silently missing data.
    """
    try:
        return dict(jsonable(invoke()))
    except ClientError as exc:
        code = error_code(exc)
        if code in RECORDED_CODES:
            return _error(code, str(exc.response.get("Error", {}).get("Message") or exc))
        raise CollectionError(f"{what}: {describe_error(exc)}") from exc
    except NoCredentialsError:
        raise
    except BotoCoreError as exc:
        raise CollectionError(f"{what}: {describe_error(exc)}") from exc


def is_error(entry: Any) -> bool:
    """Whether a raw entry records a failed call."""
    return isinstance(entry, Mapping) and isinstance(entry.get("Error"), Mapping)


def _unprefixed_host(request: Any, **_: Any) -> None:
    """Call an explicit endpoint URL as given: S3 Control's endpoint rules put `<account id>.` before its host,
    which resolves on AWS but not for a local endpoint (moto, LocalStack, a proxy)."""
    parts = urlsplit(request.url)
    account, _, rest = parts.netloc.partition(".")
    if is_account_id(account) and rest:
        request.url = urlunsplit(parts._replace(netloc=rest))


class _Clients:
    """boto3 clients per (service, region), created under a lock: a boto3 Session is not thread-safe."""

    def __init__(
        self,
        session: boto3.Session,
        endpoint_url: str | None,
        config: Config | None,
        lock: threading.Lock | None = None,
    ) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.config = config or Config()
        self._clients: dict[tuple[str, str], BaseClient] = {}
        self._lock = lock or threading.Lock()

    def get(self, service: str, region: str) -> BaseClient:
        """The client of `service` in `region` (one per pair)."""
        with self._lock:
            client = self._clients.get((service, region))
            if client is None:
                config = self.config
                if self.endpoint_url and service == "s3":
                    config = config.merge(Config(s3={"addressing_style": "path"}))
                client = self.session.client(
                    service,  # type: ignore[call-overload]
                    region_name=region,
                    endpoint_url=self.endpoint_url,
                    config=config,
                )
                if self.endpoint_url and service == "s3control":
                    client.meta.events.register("before-sign.s3-control", _unprefixed_host)
                self._clients[(service, region)] = client
            return client


def _call(client: BaseClient, call: ApiCall, **params: Any) -> Raw:
    """One call, paginated and merged when it is a listing with a paginator."""
    name = xform_name(call.operation)
    region = client.meta.region_name
    subject = next((f" {key}={value}" for key, value in params.items() if isinstance(value, str)), "")
    what = f"{call.api_call} in {region}{subject}"
    if call.list_key is not None and client.can_paginate(name):
        paging = {"PaginationConfig": {"PageSize": call.page_size}} if call.page_size else {}
        pages = client.get_paginator(name)
        return _record(lambda: pages.paginate(**params, **paging).build_full_result(), what)
    return _record(lambda: getattr(client, name)(**params), what)


def _names(listing: Raw, key: str, field: str | None) -> list[str]:
    """The item names of a listing (empty when the listing failed)."""
    if is_error(listing):
        return []
    names = []
    for item in listing.get(key) or []:
        value = item.get(field) if field is not None and isinstance(item, Mapping) else item
        if isinstance(value, str) and value:
            names.append(value)
    return names


def bucket_region(location: Raw, default: str) -> str:
    """The region to read a bucket in: from GetBucketLocation, or `default` when that read failed."""
    return default if is_error(location) else bucket_location_region(location)


def _collect_s3(clients: _Clients, account_id: str, home: str) -> Raw:
    client = clients.get("s3", home)
    listing = _call(client, LIST_BUCKETS)
    section: Raw = {
        LIST_BUCKETS.raw_key: listing,
        ACCOUNT_PUBLIC_ACCESS_BLOCK.raw_key: _call(
            clients.get("s3control", home), ACCOUNT_PUBLIC_ACCESS_BLOCK, AccountId=account_id
        ),
        BUCKET_CALLS.collection: {},
    }
    location_call, *other_calls = BUCKET_CALLS.calls
    for bucket in _names(listing, "Buckets", "Name"):
        location = _call(client, location_call, Bucket=bucket)
        regional = clients.get("s3", bucket_region(location, home))
        entry: Raw = {location_call.raw_key: location}
        for call in other_calls:
            entry[call.raw_key] = _call(regional, call, Bucket=bucket)
        section[BUCKET_CALLS.collection][bucket] = entry
    return section


def _item_params(service: str, name: str, listing_item: Any) -> dict[str, Any]:
    """The request parameters of a per-item call, from the item's name and its listing entry."""
    if service == "lambda":
        return {"FunctionName": name}
    if service == "kms":
        return {"KeyId": name}
    if service == "secretsmanager":
        return {"SecretId": listing_item or name}
    if service == "sqs":
        return {"QueueUrl": listing_item, "AttributeNames": ["All"]}
    if service == "sns":
        return {"TopicArn": listing_item}
    return {"repositoryName": name}


def _items(service: str, listing: Raw) -> dict[str, Any]:
    """Item name -> what a per-item call needs (ARN or URL), from a service's main listing."""
    if is_error(listing):
        return {}
    if service == "lambda":
        return {name: None for name in _names(listing, "Functions", "FunctionName")}
    if service == "kms":
        return {name: None for name in _names(listing, "Keys", "KeyId")}
    if service == "secretsmanager":
        return {
            str(item["Name"]): item.get("ARN")
            for item in listing.get("SecretList") or []
            if isinstance(item, Mapping) and item.get("Name")
        }
    if service == "sqs":
        return {url.rstrip("/").rsplit("/", 1)[-1]: url for url in _names(listing, "QueueUrls", None)}
    if service == "sns":
        return {resource_name(arn): arn for arn in _names(listing, "Topics", "TopicArn")}
    return {name: None for name in _names(listing, "repositories", "repositoryName")}


def _collect_service(
    client: BaseClient, service: str, listings: tuple[ApiCall, ...], items: ItemCollection | None
) -> Raw:
    section: Raw = {call.raw_key: _call(client, call) for call in listings}
    if items is None:
        return section
    section[items.collection] = {}
    for name, reference in _items(service, section[listings[0].raw_key]).items():
        params = _item_params(service, name, reference)
        entry = {}
        for call in items.calls:
            extra = {"PolicyName": "default"} if call.operation == "GetKeyPolicy" else {}
            entry[call.raw_key] = _call(client, call, **params, **extra)
        section[items.collection][name] = entry
    return section


def _collect_iam(clients: _Clients, home: str) -> Raw:
    return {LIST_INSTANCE_PROFILES.raw_key: _call(clients.get("iam", home), LIST_INSTANCE_PROFILES)}


def _collect_region(clients: _Clients, region: str) -> Raw:
    return {
        service: _collect_service(clients.get(service, region), service, listings, items)
        for service, (listings, items) in REGIONAL.items()
    }


def collect_resources(
    session: boto3.Session,
    account_id: str,
    regions: Sequence[str],
    *,
    endpoint_url: str | None = None,
    config: Config | None = None,
    global_services: bool = True,
    max_workers: int = 1,
    client_lock: threading.Lock | None = None,
) -> dict[str, Any]:
    """Read the resources of one account in `regions` (see the module docstring for the raw shape).

    `global_services=False` leaves out the account-wide part (S3 and IAM instance profiles), for callers
    that split one account's regions over several calls. `max_workers` > 1 collects regions in parallel
    threads (the clients are thread-safe; their creation is serialised). A boto3 Session is not thread-safe:
    a caller that creates clients of the same session in other threads passes the lock it holds for that
    as `client_lock`.
    """
    clients = _Clients(session, endpoint_url, config, client_lock)
    home = regions[0] if regions else DEFAULT_REGION
    for service in REGIONAL:
        for region in regions:
            clients.get(service, region)  # create up front, in this thread
    raw: Raw = {"regions": {}}
    jobs: list[tuple[str, Callable[[], Raw]]] = []
    if global_services:
        jobs.append(("s3", partial(_collect_s3, clients, account_id, home)))
        jobs.append(("iam", partial(_collect_iam, clients, home)))
    for region in regions:
        jobs.append((f"region:{region}", partial(_collect_region, clients, region)))
    if max_workers > 1:
        with ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="permscope-resources") as pool:
            results = list(zip([name for name, _ in jobs], pool.map(lambda job: job[1](), jobs), strict=True))
    else:
        results = [(name, job()) for name, job in jobs]
    for name, result in results:
        if name.startswith("region:"):
            raw["regions"][name.removeprefix("region:")] = result
        else:
            raw[name] = result
    return raw
