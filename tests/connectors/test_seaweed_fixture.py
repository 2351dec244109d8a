"""The SeaweedFS fixture itself: an outage is a clear ConnectorError, and the data survives."""

from __future__ import annotations

import pytest

from connectors.fs import ConnectorError, Folder


def test_outage_and_recovery(seaweed, s3_prefix):
    folder = Folder.from_uri(s3_prefix, **seaweed.folder_options, retries=1, connect_timeout=1)
    folder.write_bytes("a.txt", b"before")
    with seaweed.down():
        assert not seaweed.running
        with pytest.raises(
            ConnectorError, match=f"cannot read {s3_prefix}/a.txt .endpoint {seaweed.endpoint}"
        ):
            folder.read_bytes("a.txt")
    assert seaweed.running
    assert folder.read_bytes("a.txt") == b"before"
    folder.write_bytes("b.txt", b"after")
    assert folder.list() == ["a.txt", "b.txt"]


def test_env_and_boto3_client(s3_env, s3_prefix):
    import os

    assert os.environ["AWS_ENDPOINT_URL"] == s3_env.endpoint
    key = s3_prefix.split("/", 3)[3] + "/c.txt"
    s3_env.client().put_object(Bucket=s3_env.bucket, Key=key, Body=b"from boto3")
    assert Folder.from_uri(s3_prefix).read_bytes("c.txt") == b"from boto3"
