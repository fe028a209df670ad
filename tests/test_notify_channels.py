"""The ``sms``/``chat`` (Apprise), ``aws-sns`` and ``sqs`` channels, against real receivers: an HTTP
server on loopback for Apprise's ``json://``, and moto's SNS and SQS over HTTP for the AWS ones."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import botocore.exceptions
import pytest

from conftest import Account
from vigil.aws.session import AwsSession
from vigil.demo import emulator
from vigil.notify import envelope
from vigil.notify.channels import CHANNELS, ChannelContext
from vigil.notify.channels.apprise import AppriseChannel, redact, secret_parts, summary
from vigil.notify.channels.aws import SnsChannel, SqsChannel, failure
from vigil.notify.topics import Subscription, attributes_from, topics_from
from vigil.settings import NotifySettings
from vigil.store.outbox import Delivery

# apprise imports imghdr (deprecated in 3.11) for its PGP plugin; not ours to fix
pytestmark = pytest.mark.filterwarnings("ignore:'imghdr' is deprecated:DeprecationWarning")

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FINDING = {
    "severity": "high",
    "rule_id": "restricted-ssh",
    "resource_id": "sg-0abc123",
    "region": "us-east-1",
    "annotation": "port 22 is open to 0.0.0.0/0",
}


def prepare(
    tmp_path: Path,
    protocol: str,
    endpoint: str,
    *,
    message: str = "disk full on db-1",
    subject: str | None = "Disk",
    attributes: dict[str, Any] | None = None,
    raw: bool = False,
    session: AwsSession | None = None,
) -> tuple[Delivery, Subscription, ChannelContext]:
    notify = NotifySettings.model_validate(
        {
            "keys_dir": str(tmp_path / "keys"),
            "http_timeout": 5,
            "topics": [
                {
                    "name": "alerts",
                    "subscriptions": [
                        {"protocol": protocol, "endpoint": endpoint, "raw_message_delivery": raw}
                    ],
                }
            ],
        }
    )
    (sub,) = topics_from(notify).subscriptions("alerts")
    delivery = Delivery(
        message_id="5f0c6a7e-1d2b-4c3a-9e8f-0a1b2c3d4e5f",
        subscription=sub.id,
        topic="alerts",
        protocol=protocol,
        endpoint=endpoint,
        status="pending",
        attempts=0,
        next_at=T0,
        last_error=None,
        created_at=T0,
        subject=subject,
        message=message,
        attributes=attributes or {},
    )
    context = ChannelContext(notify)
    if session is not None:
        context.extra["aws_session"] = session
    return delivery, sub, context


# -- Apprise on loopback -----------------------------------------------------------------------


class Receiver:
    """An HTTP server on 127.0.0.1 recording each POST: (path, JSON body)."""

    def __init__(self) -> None:
        received: list[tuple[str, dict[str, Any]]] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.received = received
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_chat_reaches_a_json_receiver_with_title_and_body(tmp_path: Path, receiver: Receiver) -> None:
    delivery, sub, context = prepare(tmp_path, "chat", f"json://127.0.0.1:{receiver.port}/hooks/vigil")
    outcome = CHANNELS["chat"].send(delivery, sub, context)
    assert outcome.ok, outcome.error
    ((path, payload),) = receiver.received
    assert path == "/hooks/vigil"
    assert payload["title"] == "Disk"
    assert payload["message"] == "disk full on db-1"
    assert payload["type"] == "info"


def test_a_finding_is_summarised_and_the_topic_is_the_title_without_a_subject(
    tmp_path: Path, receiver: Receiver
) -> None:
    delivery, sub, context = prepare(
        tmp_path, "sms", f"json://127.0.0.1:{receiver.port}/", message=json.dumps(FINDING), subject=None
    )
    outcome = CHANNELS["sms"].send(delivery, sub, context)
    assert outcome.ok, outcome.error
    ((_, payload),) = receiver.received
    assert payload["title"] == "alerts"
    assert (
        payload["message"] == "[HIGH] restricted-ssh on sg-0abc123 (us-east-1): port 22 is open to 0.0.0.0/0"
    )
    assert payload["type"] == "failure"


def test_several_urls_from_the_environment_each_receive_it(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "VIGIL_CHAT_URLS", f"json://127.0.0.1:{receiver.port}/a, json://127.0.0.1:{receiver.port}/b"
    )
    delivery, sub, context = prepare(tmp_path, "chat", "env:VIGIL_CHAT_URLS")
    assert AppriseChannel().send(delivery, sub, context).ok
    assert sorted(path for path, _ in receiver.received) == ["/a", "/b"]


def test_a_refused_connection_fails_without_showing_the_urls_secrets(tmp_path: Path) -> None:
    port = closed_port()
    delivery, sub, context = prepare(
        tmp_path, "chat", f"json://vigiluser:s3cretpw@127.0.0.1:{port}/t0kenpath"
    )
    outcome = AppriseChannel().send(delivery, sub, context)
    assert not outcome.ok
    assert outcome.error is not None
    assert "json://" in outcome.error and "could not send" in outcome.error
    for secret in ("s3cretpw", "vigiluser", "t0kenpath"):
        assert secret not in outcome.error


def test_an_unknown_scheme_or_a_missing_variable_is_a_failure_that_names_no_token(tmp_path: Path) -> None:
    delivery, sub, context = prepare(tmp_path, "chat", "nosuchservice://tok3nvalue/other")
    outcome = AppriseChannel().send(delivery, sub, context)
    assert not outcome.ok and outcome.error is not None
    assert "nosuchservice://" in outcome.error and "tok3nvalue" not in outcome.error
    delivery, sub, context = prepare(tmp_path, "chat", "env:VIGIL_NO_SUCH_CHAT")
    outcome = AppriseChannel().send(delivery, sub, context)
    assert not outcome.ok and "VIGIL_NO_SUCH_CHAT" in (outcome.error or "")


@pytest.mark.parametrize(
    ("url", "secrets", "kept"),
    [
        ("slack://T0AAAA/B0BBBB/xoxb4242zz", ["T0AAAA", "B0BBBB", "xoxb4242zz"], "Slack"),
        ("tgram://123456789:AAbbCCdd/-100200300", ["123456789", "AAbbCCdd", "-100200300"], "Telegram"),
        ("discord://9876543210/webhooktok", ["9876543210", "webhooktok"], "Discord"),
        ("json://u:pw1@hooks.example.com/x?token=q1q2q3", ["pw1", "q1q2q3"], "hooks.example.com"),
    ],
)
def test_every_part_of_an_apprise_url_that_could_be_a_token_is_blanked(
    url: str, secrets: list[str], kept: str
) -> None:
    text = redact(f"{kept}: sending to {url} failed ({', '.join(secrets)})", secret_parts(url))
    assert all(s not in text for s in secrets)
    assert text.startswith(f"{kept}: sending to *** failed")


def test_alarm_and_plain_messages_summaries() -> None:
    alarm = {
        "AlarmName": "cpu-high",
        "NewStateValue": "ALARM",
        "Region": "US East (N. Virginia)",
        "NewStateReason": "Threshold Crossed: 1 datapoint [94.1] was greater than the threshold (90.0).",
    }
    assert summary(json.dumps(alarm)) == (
        "[ALARM] cpu-high (US East (N. Virginia)): "
        "Threshold Crossed: 1 datapoint [94.1] was greater than the threshold (90.0)."
    )
    assert summary(json.dumps({"finding": FINDING})).startswith("[HIGH] restricted-ssh on sg-0abc123")
    assert summary('{"not": "a finding"}') == '{"not": "a finding"}'
    assert summary("plain text") == "plain text"


# -- aws-sns and sqs on moto ------------------------------------------------------------------


def receive(account: Account, queue_url: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    answer = account.client("sqs", region).receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=2, MessageAttributeNames=["All"]
    )
    return list(answer.get("Messages", []))


def test_aws_sns_publishes_to_a_topic_in_the_arns_region(tmp_path: Path, account: Account) -> None:
    region = "eu-west-1"  # not the session's home region: the ARN's region is used
    sns, sqs = account.client("sns", region), account.client("sqs", region)
    topic = sns.create_topic(Name="vigil-forward")["TopicArn"]
    queue_url = sqs.create_queue(QueueName="forwarded")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    attributes = attributes_from({"severity": "high", "count": 3, "tags": ["a", "b"]})
    long_subject = 'ALARM: "cpu-high"\nin US East ' + "x" * 150
    delivery, sub, context = prepare(
        tmp_path,
        "aws-sns",
        topic,
        message=json.dumps(FINDING),
        subject=long_subject,
        attributes=attributes,
        session=AwsSession(account.settings()),
    )
    outcome = CHANNELS["aws-sns"].send(delivery, sub, context)
    assert outcome.ok, outcome.error
    (received,) = receive(account, queue_url, region)
    body = json.loads(received["Body"])
    assert body["TopicArn"] == topic
    assert json.loads(body["Message"]) == FINDING
    assert body["Subject"].startswith('ALARM: "cpu-high" in US East xxx')
    assert len(body["Subject"]) == 100 and "\n" not in body["Subject"]
    assert body["MessageAttributes"] == {
        "severity": {"Type": "String", "Value": "high"},
        "count": {"Type": "Number", "Value": "3"},
        "tags": {"Type": "String.Array", "Value": '["a","b"]'},
    }


def test_aws_sns_sends_sms_to_a_phone_number_and_refuses_other_endpoints(
    tmp_path: Path, account: Account
) -> None:
    session = AwsSession(account.settings())
    delivery, sub, context = prepare(tmp_path, "aws-sns", "+15555550123", session=session)
    outcome = SnsChannel().send(delivery, sub, context)
    assert outcome.ok, outcome.error
    delivery, sub, context = prepare(tmp_path, "aws-sns", "not-a-topic", session=session)
    outcome = SnsChannel().send(delivery, sub, context)
    assert not outcome.ok and "neither an SNS topic ARN nor an E.164 phone number" in (outcome.error or "")


def test_aws_sns_to_a_missing_topic_names_the_error_code(tmp_path: Path, account: Account) -> None:
    missing = f"arn:aws:sns:us-east-1:{account.account_id}:no-such-topic"
    delivery, sub, context = prepare(tmp_path, "aws-sns", missing, session=AwsSession(account.settings()))
    outcome = SnsChannel().send(delivery, sub, context)
    assert not outcome.ok
    assert (outcome.error or "").startswith("NotFound") and "failed" in (outcome.error or "")


def test_sqs_gets_the_signed_envelope(tmp_path: Path, account: Account) -> None:
    queue_url = account.client("sqs").create_queue(QueueName="alerts")["QueueUrl"]
    attributes = attributes_from({"severity": "high"})
    delivery, sub, context = prepare(
        tmp_path, "sqs", queue_url, attributes=attributes, session=AwsSession(account.settings())
    )
    outcome = CHANNELS["sqs"].send(delivery, sub, context)
    assert outcome.ok, outcome.error
    (received,) = receive(account, queue_url)
    body = json.loads(received["Body"])
    assert envelope.verify(body, context.signer.certificate_pem)
    assert body["Type"] == "Notification" and body["MessageId"] == delivery.message_id
    assert body["Subject"] == "Disk" and body["Message"] == "disk full on db-1"
    assert body["TopicArn"] == "arn:vigil:sns:local:vigil:alerts"
    assert body["MessageAttributes"] == {"severity": {"Type": "String", "Value": "high"}}
    assert "MessageAttributes" not in received  # SNS puts them in the envelope, not on the SQS message


def test_sqs_raw_delivery_to_a_queue_arn_carries_ten_attributes(tmp_path: Path, account: Account) -> None:
    region = "eu-west-1"
    sqs = account.client("sqs", region)
    queue_url = sqs.create_queue(QueueName="raw-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    attributes = attributes_from({f"a{n:02d}": n for n in range(12)} | {"a00": "first"})
    delivery, sub, context = prepare(
        tmp_path,
        "sqs",
        queue_arn,
        raw=True,
        message=json.dumps(FINDING),
        attributes=attributes,
        session=AwsSession(account.settings()),
    )
    outcome = SqsChannel().send(delivery, sub, context)
    assert outcome.ok, outcome.error
    (received,) = receive(account, queue_url, region)
    assert json.loads(received["Body"]) == FINDING
    got = received["MessageAttributes"]
    assert sorted(got) == [f"a{n:02d}" for n in range(10)]
    assert got["a00"] == {"StringValue": "first", "DataType": "String"}
    assert got["a05"] == {"StringValue": "5", "DataType": "Number"}


def test_sqs_to_a_missing_queue_names_the_error_code(tmp_path: Path, account: Account) -> None:
    missing = f"arn:aws:sqs:us-east-1:{account.account_id}:no-such-queue"
    delivery, sub, context = prepare(tmp_path, "sqs", missing, session=AwsSession(account.settings()))
    outcome = SqsChannel().send(delivery, sub, context)
    assert not outcome.ok
    assert "QueueDoesNotExist" in (outcome.error or "") or "NonExistentQueue" in (outcome.error or "")
    assert "failed" in (outcome.error or "")


def test_without_a_session_in_the_context_one_is_made_from_the_default_settings(
    tmp_path: Path, moto_endpoint: str, base_credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # boto3 honours it; AwsSettings() has no endpoint
    queue_url = account_default_queue(moto_endpoint)
    delivery, sub, context = prepare(tmp_path, "sqs", queue_url, raw=True, message="hello")
    outcome = SqsChannel().send(delivery, sub, context)
    assert outcome.ok, outcome.error
    assert isinstance(context.extra["aws_session"], AwsSession)


def account_default_queue(endpoint: str) -> str:
    import boto3

    client = boto3.client(
        "sqs",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=emulator.EMULATOR_KEY_ID,
        aws_secret_access_key=emulator.EMULATOR_SECRET,
    )
    return str(client.create_queue(QueueName="vigil-default-session")["QueueUrl"])


@pytest.mark.parametrize(
    ("code", "status", "kind"),
    [
        ("Throttling", 400, "retryable"),
        ("ServiceUnavailable", 503, "retryable"),
        ("InternalError", 500, "retryable"),
        ("AccessDenied", 403, "failed"),
        ("NotFound", 404, "failed"),
    ],
)
def test_aws_errors_say_whether_they_are_worth_retrying(code: str, status: int, kind: str) -> None:
    exc = botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": "nope"}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "Publish",
    )
    outcome = failure(exc, "publish to arn:aws:sns:us-east-1:123456789012:t")
    assert (
        not outcome.ok
        and outcome.error == f"{code}: publish to arn:aws:sns:us-east-1:123456789012:t {kind}: nope"
    )
    network = failure(botocore.exceptions.EndpointConnectionError(endpoint_url="https://sns"), "publish")
    assert "retryable" in (network.error or "")
