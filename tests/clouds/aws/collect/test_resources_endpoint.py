"""Live resource collection through `endpoint_url` against a moto server on 127.0.0.1 (no in-process mock)."""

from __future__ import annotations

import socket

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from clouds.aws.resource_estate import ACCOUNT
from permscope.clouds.aws.collect.resources import collect_resources
from permscope.clouds.aws.transform.resources import transform_resources


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_collects_through_an_endpoint_url_from_a_moto_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 path-style addressing and s3control without the account host prefix work against one endpoint."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    port = _free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        session = boto3.Session(region_name="us-east-1")
        s3 = session.client("s3", endpoint_url=endpoint)
        s3.create_bucket(Bucket="served-bkt")
        s3.put_bucket_policy(
            Bucket="served-bkt",
            Policy='{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", '
            '"Resource": "arn:aws:s3:::served-bkt/*"}]}',
        )
        session.client("sqs", endpoint_url=endpoint).create_queue(QueueName="served-q")
        config = Config(retries={"mode": "adaptive", "max_attempts": 3})
        raw = collect_resources(session, ACCOUNT, ["us-east-1"], endpoint_url=endpoint, config=config)
    finally:
        server.stop()
    resources, warnings = transform_resources(raw, ACCOUNT)
    assert warnings == []
    named = {resource.display_name: resource for resource in resources}
    assert {r.display_name for r in resources if r.resource_type in {"s3:bucket", "sqs:queue"}} == {
        "served-bkt",
        "served-q",
    }
    assert named["served-bkt"].facts["public"] is True
    assert raw["s3"]["GetAccountPublicAccessBlock"]["Error"]["Code"] == "NoSuchPublicAccessBlockConfiguration"
    assert named["served-q"].resource_type == "sqs:queue"
