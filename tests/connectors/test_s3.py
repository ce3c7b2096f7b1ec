"""The s3 connector against a real S3-compatible server (moto's server mode, started here on a
port the OS picks) and the real SQLite store; the bucket is looked at with boto3, not the connector."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from interlace.backends.sqlite import SqliteBackend
from interlace.connectors.base import Incoming
from interlace.connectors.s3 import S3Connector, S3Settings, S3SinkOptions, S3SourceOptions
from interlace.connectors.s3.sigv4 import sign
from interlace.connectors.s3.source import BucketSource
from interlace.errors import ConnectorError, DeliveryError
from interlace.message import Message

from cloud_support import StoreIngress, boto, new_bucket, s3_server, settings


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with s3_server() as url:
        yield url


@pytest.fixture
def s3(endpoint: str) -> Any:
    return boto(endpoint)


@pytest.fixture
def bucket(s3: Any) -> str:
    return new_bucket(s3)


@pytest.fixture
def backend(sqlite_store: SqliteBackend) -> SqliteBackend:
    return sqlite_store


def connector(endpoint: str, bucket: str, **more: Any) -> S3Connector:
    return S3Connector("lake", S3Settings.model_validate(settings(endpoint, bucket, **more)))


def stored(db: Path) -> list[Any]:
    with sqlite3.connect(db) as conn:
        return [json.loads(r[0])["body"] for r in conn.execute("SELECT message FROM work ORDER BY id")]


def source(conn: S3Connector, **options: Any) -> BucketSource:
    made = conn.source("f", S3SourceOptions.model_validate(options))
    assert isinstance(made, BucketSource)
    return made


def test_the_signature_is_the_one_botocore_computes() -> None:
    """The signer against the AWS SDK's own SigV4 (botocore), on a request with an encoded key
    and query, a session token and a body."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    now = 1_764_600_000.0
    body = b'{"id": 1}'
    import hashlib
    import time

    digest = hashlib.sha256(body).hexdigest()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(now))
    path, query = "/bkt/in%20box/%C3%A9t%C3%A9%2B1.json", "partNumber=2&uploadId=a%2Fb%3D"
    ours = sign("PUT", "127.0.0.1:9000", path, query, {"content-type": "application/json"}, digest,
                access_key="AK", secret_key="SK", region="eu-west-3", session_token="TOK", now=now)  # fmt: skip
    request = AWSRequest("PUT", f"http://127.0.0.1:9000{path}?{query}", data=body,
                         headers={"content-type": "application/json"})  # fmt: skip
    request.context["timestamp"] = stamp
    request.headers["X-Amz-Date"] = stamp
    request.headers["X-Amz-Content-SHA256"] = digest
    request.headers["X-Amz-Security-Token"] = "TOK"
    auth = S3SigV4Auth(Credentials("AK", "SK", "TOK"), "s3", "eu-west-3")
    canonical = auth.canonical_request(request)
    expected = auth.signature(auth.string_to_sign(request, canonical), request)
    assert ours["authorization"].endswith(f"Signature={expected}")


async def test_a_message_becomes_an_object_and_a_redelivery_the_same_one(endpoint: str, s3: Any, bucket: str) -> None:
    conn = connector(endpoint, bucket, prefix="out/")
    sink = conn.sink(S3SinkOptions(key="orders/{order_no}{ext}"))
    message = Message(flow="f", body={"order_no": "A/1", "total": 10})
    result = await sink.deliver(message, "d1")
    again = await sink.deliver(message, "d1")
    await conn.close()
    assert result == again and result["parts"] == 1  # type: ignore[index]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["out/orders/A%2F1.jsonl"]  # a `/` in a value is not a folder
    got = s3.get_object(Bucket=bucket, Key=keys[0])
    assert json.loads(got["Body"].read()) == {"order_no": "A/1", "total": 10}
    assert got["ContentType"] == "application/x-ndjson"


async def test_a_large_object_is_uploaded_in_parts(endpoint: str, s3: Any, bucket: str) -> None:
    conn = connector(endpoint, bucket, format={"type": "json"})
    mib = 1024 * 1024
    sink = conn.sink(S3SinkOptions(key="big{ext}", multipart_threshold=5 * mib, part_size=5 * mib))
    rows = [{"n": i, "pad": "x" * 1000} for i in range(6_000)]  # about 6 MiB
    result = await sink.deliver(Message(flow="f", body=rows), "d1")
    await conn.close()
    assert result["parts"] == 2  # type: ignore[index]
    head = s3.head_object(Bucket=bucket, Key="big.json")
    assert head["ETag"].strip('"').endswith("-2")  # S3's mark of a two-part upload
    assert head["ContentLength"] == result["bytes"]  # type: ignore[index]
    assert json.loads(s3.get_object(Bucket=bucket, Key="big.json")["Body"].read()) == rows
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


async def test_a_failed_multipart_upload_is_aborted(endpoint: str, s3: Any, bucket: str) -> None:
    conn = connector(endpoint, bucket, format={"type": "json"})
    mib = 1024 * 1024
    parts = 0
    real = conn.client.call

    async def failing(method: str, key: str | None, params: Any = None, body: bytes = b"", headers: Any = None) -> Any:
        nonlocal parts
        if params and "partNumber" in params:
            parts += 1
            if parts == 2:
                raise ConnectorError("the link dropped")
        return await real(method, key, params, body, headers)

    conn.client.call = failing  # type: ignore[method-assign]
    sink = conn.sink(S3SinkOptions(key="big{ext}", multipart_threshold=5 * mib, part_size=5 * mib))
    with pytest.raises(DeliveryError, match="the link dropped") as caught:
        await sink.deliver(Message(flow="f", body=[{"pad": "x" * 1000}] * 6_000), "d1")
    await conn.close()
    assert caught.value.retryable
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


async def test_new_objects_are_read_once_across_restarts(
    endpoint: str, s3: Any, bucket: str, backend: SqliteBackend, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="in/a.jsonl", Body=b'{"n": 1}\n{"n": 2}\n')
    s3.put_object(Bucket=bucket, Key="in/skip.txt", Body=b"not for this flow")
    s3.put_object(Bucket=bucket, Key="other/x.jsonl", Body=b'{"n": 99}\n')
    ingress = StoreIngress(backend)
    conn = connector(endpoint, bucket)
    first = source(conn, prefix="in/", pattern="*.jsonl")
    assert await first.poll(ingress) == 1
    assert await first.poll(ingress) == 0  # nothing new
    s3.put_object(Bucket=bucket, Key="in/b.jsonl", Body=b'{"n": 3}\n')
    # a restart: a new source, its state only from the stored cursor
    second = source(conn, prefix="in/", pattern="*.jsonl")
    second.seen = type(second.seen).load(await backend.load_cursor(second.cursor_name))
    assert await second.poll(ingress) == 1
    s3.put_object(Bucket=bucket, Key="in/a.jsonl", Body=b'{"n": 4}\n')  # rewritten: a new version
    assert await second.poll(ingress) == 1
    await conn.close()
    assert stored(tmp_path / "hub.db") == [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 4}]
    cursor = await backend.load_cursor(second.cursor_name)
    assert isinstance(cursor, dict) and sorted(cursor["recent"]) == ["in/a.jsonl", "in/b.jsonl"]
    assert s3.list_objects_v2(Bucket=bucket, Prefix="in/")["KeyCount"] == 3  # after: keep


async def test_an_object_cut_short_by_a_crash_resumes_after_its_last_stored_batch(
    endpoint: str, s3: Any, bucket: str, backend: SqliteBackend, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="a.jsonl", Body=b"".join(b'{"n": %d}\n' % i for i in range(1, 11)))
    conn = connector(endpoint, bucket)

    class Crashing(StoreIngress):
        calls = 0

        async def submit(self, flow: str, items: Sequence[Incoming], **kw: Any) -> list[str]:
            self.calls += 1
            if self.calls == 3:
                raise ConnectionError("the hub stopped")
            return await super().submit(flow, items, **kw)

    crashing = source(conn, batch_size=4)
    with pytest.raises(ConnectionError):
        await crashing.poll(Crashing(backend))
    assert len(stored(tmp_path / "hub.db")) == 8
    restarted = source(conn, batch_size=4, poll_interval=0.05)
    task = asyncio.create_task(restarted.run(StoreIngress(backend)))
    for _ in range(600):
        if len(stored(tmp_path / "hub.db")) >= 10 and restarted.seen.recent:
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.2)  # a few more polls: none may read the object again
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await conn.close()
    assert [b["n"] for b in stored(tmp_path / "hub.db")] == list(range(1, 11))


async def test_bad_records_are_reported_beside_the_input_and_delete_removes_what_was_read(
    endpoint: str, s3: Any, bucket: str, backend: SqliteBackend, tmp_path: Path
) -> None:
    s3.put_object(Bucket=bucket, Key="drop/a.jsonl", Body=b'{"n": 1}\nnot json\n{"n": 3}\n')
    conn = connector(endpoint, bucket, prefix="drop/")
    assert await source(conn, after="delete").poll(StoreIngress(backend)) == 1
    await conn.close()
    assert stored(tmp_path / "hub.db") == [{"n": 1}, {"n": 3}]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["drop/error/a.jsonl.report.json"]
    report = json.loads(s3.get_object(Bucket=bucket, Key=keys[0])["Body"].read())
    assert report["failed"] == 1 and report["records"][0]["record"] == 2


async def test_many_objects_across_listing_pages(
    endpoint: str, s3: Any, bucket: str, backend: SqliteBackend, tmp_path: Path
) -> None:
    for i in range(25):
        s3.put_object(Bucket=bucket, Key=f"k/{i:03}.jsonl", Body=b'{"n": %d}\n' % i)
    conn = connector(endpoint, bucket)
    found = [o.key async for o in conn.client.list("k/", page=10)]
    assert found == [f"k/{i:03}.jsonl" for i in range(25)]
    assert await source(conn).poll(StoreIngress(backend)) == 25
    await conn.close()
    assert sorted(b["n"] for b in stored(tmp_path / "hub.db")) == list(range(25))


async def test_the_probe_names_a_missing_bucket_and_bad_credentials(endpoint: str, bucket: str) -> None:
    missing = connector(endpoint, "no-such-bucket-here")
    with pytest.raises(ConnectorError, match="bucket 'no-such-bucket-here' does not exist"):
        await missing.probe()
    await missing.close()
    ok = connector(endpoint, bucket)
    await ok.probe()
    await ok.probe_use("source", S3SourceOptions())
    await ok.close()


async def test_the_twin_renders_without_a_server() -> None:
    conn = connector("http://127.0.0.1:9", "never-contacted")
    twin = conn.twin(S3SinkOptions(key="{flow}/{order_no}{ext}"))
    assert await twin.deliver(Message(flow="f", body={"order_no": 7}), "d") == {"twin": "f/7.jsonl", "bytes": 16}
    with pytest.raises(DeliveryError, match="no field 'order_no'"):
        await twin.deliver(Message(flow="f", body={"id": 7}), "d")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"bucket": None}, "bucket"),
        ({"bucket": "Bad_Bucket"}, "is not a bucket name"),
        ({"endpoint_url": "s3.example.com"}, "is not an endpoint URL"),
        ({"prefix": "/abs"}, "is not a key prefix"),
    ],
)
def test_bad_settings_are_refused_clearly(change: dict[str, Any], message: str) -> None:
    from pydantic import ValidationError

    data = {k: v for k, v in {**settings("http://127.0.0.1:9000", "ok-bucket"), **change}.items() if v is not None}
    with pytest.raises(ValidationError, match=message):
        S3Settings.model_validate(data)
    with pytest.raises(ValidationError, match="part_size is larger"):
        S3SinkOptions(multipart_threshold=5 * 1024 * 1024, part_size=6 * 1024 * 1024)


async def test_a_bucket_notification_starts_a_listing_at_once(
    endpoint: str, s3: Any, bucket: str, backend: SqliteBackend, tmp_path: Path
) -> None:
    """S3 event notifications to SQS (moto's server sends them, as AWS does): with a poll_interval
    of an hour, a new object is read as soon as its notification arrives, and the notification is
    deleted from the queue once the object is read."""
    import boto3

    from cloud_support import ACCESS_KEY, REGION, SECRET_KEY

    sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
                       aws_secret_access_key=SECRET_KEY)  # fmt: skip
    queue = sqs.create_queue(QueueName=f"q-{bucket}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration={
        "QueueConfigurations": [{"QueueArn": arn, "Events": ["s3:ObjectCreated:*"]}],
    })  # fmt: skip
    sqs.purge_queue(QueueUrl=queue)  # the test event S3 sends when the configuration is set
    conn = connector(endpoint, bucket)
    await conn.probe_use("source", S3SourceOptions(notifications=queue))
    with pytest.raises(ConnectorError, match="cannot read the notification queue"):
        await conn.probe_use("source", S3SourceOptions(notifications=queue + "-missing"))
    made = source(conn, poll_interval="1h", notifications=queue)
    task = asyncio.create_task(made.run(StoreIngress(backend)))
    try:
        for _ in range(600):
            if made.listings:
                break
            await asyncio.sleep(0.05)
        s3.put_object(Bucket=bucket, Key="late.jsonl", Body=b'{"n": 1}\n')
        for _ in range(600):
            if stored(tmp_path / "hub.db"):
                break
            await asyncio.sleep(0.05)
        assert stored(tmp_path / "hub.db") == [{"n": 1}]  # within seconds, not the hour
        for _ in range(600):
            attributes = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
            if attributes["ApproximateNumberOfMessages"] == attributes["ApproximateNumberOfMessagesNotVisible"] == "0":
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the notification was not deleted: {attributes}")
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await conn.close()
