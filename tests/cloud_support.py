"""Real local servers for the cloud connectors' tests: an S3-compatible server (moto's server mode,
on a port the OS picks), and an S3 client of its own (boto3) to look at the bucket with, so a test
never checks the connector with the connector."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

ACCESS_KEY = "AKIAINTERLACETEST"
SECRET_KEY = "interlace-test-secret-key"
REGION = "us-east-1"


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server in a thread on 127.0.0.1 (port 0); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def boto(endpoint: str) -> Any:
    """An independent S3 client on the same server."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip


def new_bucket(client: Any) -> str:
    name = f"il-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    return name


def settings(endpoint: str, bucket: str, **more: Any) -> dict[str, Any]:
    return {
        "bucket": bucket, "endpoint_url": endpoint, "region": REGION, "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY, **more,
    }  # fmt: skip
