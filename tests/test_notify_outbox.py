"""Durable delivery: SNS's retry schedule, the outbox, the worker on an injected clock, redrive."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from vigil.errors import ConfigError
from vigil.notify.channels import ChannelContext, Outcome
from vigil.notify.deliver import LEASE, deliver_due
from vigil.notify.delivery_policy import DeliveryPolicy, delays, next_delay, parse_policy
from vigil.notify.topics import publish, topics_from
from vigil.settings import NotifySettings
from vigil.store import Store, outbox

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def test_the_default_policy_is_three_retries_twenty_seconds_apart() -> None:
    assert delays(DeliveryPolicy()) == [20.0, 20.0, 20.0]
    assert [next_delay(DeliveryPolicy(), n) for n in (1, 2, 3, 4)] == [20.0, 20.0, 20.0, None]


@pytest.mark.parametrize("function", ["linear", "arithmetic", "geometric", "exponential"])
def test_the_four_phases_in_order(function: str) -> None:
    p = parse_policy(
        {
            "numRetries": 10,
            "numNoDelayRetries": 2,
            "numMinDelayRetries": 2,
            "numMaxDelayRetries": 2,
            "minDelayTarget": 5,
            "maxDelayTarget": 80,
            "backoffFunction": function,
        }
    )
    schedule = delays(p)
    assert schedule[:4] == [0.0, 0.0, 5.0, 5.0] and schedule[-2:] == [80.0, 80.0]
    backoff = schedule[4:8]
    assert backoff == sorted(backoff) and backoff[-1] == 80.0 and backoff[0] > 5.0


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"numRetries": 101}, "outside 0..100"),
        ({"minDelayTarget": 30, "maxDelayTarget": 20}, "must be 1..maxDelayTarget"),
        ({"numRetries": 2, "numNoDelayRetries": 3}, "exceed numRetries"),
        ({"numRetries": 100, "minDelayTarget": 60, "maxDelayTarget": 60}, "more than 3600 s"),
        ({"backoffFunction": "cubic"}, "unknown backoff"),
        ({"retries": 3}, "unknown field"),
    ],
)
def test_invalid_policies_say_what_is_wrong(raw: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        parse_policy(raw)
    assert problem in str(excinfo.value)


def settings(*subscriptions: dict[str, Any]) -> NotifySettings:
    return NotifySettings.model_validate(
        {"topics": [{"name": "alerts", "subscriptions": list(subscriptions)}]}
    )


@dataclass
class Scripted:
    """A channel that answers from a script (one Outcome per attempt), recording what it was sent."""

    script: list[Outcome]
    sent: list[tuple[str, int]] = field(default_factory=list)

    def send(self, delivery: Any, subscription: Any, context: Any) -> Outcome:
        self.sent.append((delivery.message_id, delivery.attempts))
        return self.script.pop(0) if self.script else Outcome(True)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_publish_writes_one_delivery_per_subscription_once(store: Store) -> None:
    topics = topics_from(
        settings({"protocol": "http", "endpoint": "http://127.0.0.1:9/a"}, {"protocol": "inbox"})
    )
    with store.begin() as conn:
        first = publish(conn, topics, "alerts", message="m", subject="s", at=T0, message_id="m-1")
        again = publish(conn, topics, "alerts", message="m", subject="s", at=T0, message_id="m-1")
        nobody = publish(conn, topics, "arn:vigil:sns:local:vigil:elsewhere", message="m", at=T0)
    assert (first.deliveries, again.deliveries, nobody.deliveries) == (2, 0, 0)
    with store.connect() as conn:
        assert outbox.counts(conn) == {"pending": 1, "held": 1}


def test_retries_follow_the_policy_on_the_clock_then_dead_then_redrive(store: Store) -> None:
    topics = topics_from(
        settings(
            {
                "protocol": "http",
                "endpoint": "http://127.0.0.1:9/hook",
                "delivery_policy": {"numRetries": 2, "minDelayTarget": 10, "maxDelayTarget": 10},
            }
        )
    )
    with store.begin() as conn:
        publish(conn, topics, "alerts", message="m", at=T0, message_id="m-1")
    clock = Clock(T0)
    failing = Scripted([Outcome(False, "HTTP 500"), Outcome(False, "timeout"), Outcome(False, "HTTP 503")])
    context = ChannelContext(NotifySettings())

    def run() -> Any:
        return deliver_due(store, topics, context, clock=clock, channels={"http": failing})

    assert run().retried == 1  # attempt 1 fails: next in 10 s
    clock.now = T0 + timedelta(seconds=9)
    assert run().as_dict()["retried"] == 0 and failing.sent == [("m-1", 0)]  # not due yet
    clock.now = T0 + timedelta(seconds=10)
    assert run().retried == 1  # attempt 2 fails
    clock.now = T0 + timedelta(seconds=20)
    report = run()  # attempt 3 fails: 2 retries spent
    assert (report.dead, failing.sent) == (1, [("m-1", 0), ("m-1", 1), ("m-1", 2)])
    with store.connect() as conn:
        (dead,) = outbox.listing(conn, statuses=[outbox.DEAD])
    assert (dead.attempts, dead.last_error) == (3, "HTTP 503")
    with store.begin() as conn:
        assert outbox.redrive(conn, clock.now) == 1
    assert run().sent == 1 and failing.sent[-1] == ("m-1", 0)


def test_retry_after_postpones_and_a_claimed_row_is_not_sent_twice(store: Store) -> None:
    topics = topics_from(settings({"protocol": "http", "endpoint": "http://127.0.0.1:9/hook"}))
    with store.begin() as conn:
        publish(conn, topics, "alerts", message="m", at=T0, message_id="m-1")
    clock = Clock(T0)
    busy = Scripted([Outcome(False, "HTTP 429", retry_after=120.0)])
    context = ChannelContext(NotifySettings())
    deliver_due(store, topics, context, clock=clock, channels={"http": busy})
    clock.now = T0 + timedelta(seconds=60)  # the policy alone would retry at 20 s
    assert deliver_due(store, topics, context, clock=clock, channels={"http": busy}).sent == 0
    clock.now = T0 + timedelta(seconds=120)
    assert deliver_due(store, topics, context, clock=clock, channels={"http": busy}).sent == 1
    # a worker that claimed rows and died leaves them to the next one after the lease
    with store.begin() as conn:
        publish(conn, topics, "alerts", message="n", at=clock.now, message_id="m-2")
    from vigil.notify.deliver import claim

    assert [d.message_id for d in claim(store, clock.now, 10)] == ["m-2"]
    assert claim(store, clock.now + timedelta(seconds=1), 10) == []
    later = Scripted([])
    clock.now += LEASE
    assert deliver_due(store, topics, context, clock=clock, channels={"http": later}).sent == 1
    assert later.sent == [("m-2", 0)]


def test_an_unknown_subscription_or_protocol_goes_dead_with_the_reason(store: Store) -> None:
    topics = topics_from(settings({"protocol": "sms", "endpoint": "json://127.0.0.1:9"}))
    with store.begin() as conn:
        publish(conn, topics, "alerts", message="m", at=T0, message_id="m-1")
    report = deliver_due(store, topics, ChannelContext(NotifySettings()), clock=Clock(T0), channels={})
    assert report.dead == 1 and "no channel delivers sms yet" in report.errors[0]


class Receiver:
    """A real HTTP endpoint on loopback answering from a script: a status, or "hang" (no answer in time)."""

    def __init__(self, script: list[int | str]) -> None:
        import http.server
        import threading

        self.script = script
        self.received: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                step = outer.script.pop(0) if outer.script else 200
                if step == "hang":
                    import time

                    time.sleep(1.5)
                    step = 200
                self.send_response(int(step))
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_http_delivery_retries_through_500_and_a_timeout_then_verifies(
    store: Store, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import orjson

    from vigil.notify import envelope

    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    receiver = Receiver([500, "hang"])
    try:
        notify = NotifySettings.model_validate(
            {
                "keys_dir": str(tmp_path / "keys"),
                "http_timeout": 0.5,
                "topics": [
                    {
                        "name": "alerts",
                        "subscriptions": [
                            {
                                "protocol": "http",
                                "endpoint": receiver.url,
                                "hmac_secret": "env:HOOK_SECRET",
                                "delivery_policy": {
                                    "numRetries": 3,
                                    "minDelayTarget": 5,
                                    "maxDelayTarget": 5,
                                },
                            }
                        ],
                    }
                ],
            }
        )
        topics = topics_from(notify)
        with store.begin() as conn:
            publish(
                conn,
                topics,
                "alerts",
                message='{"severity": "high"}',
                subject="Finding opened",
                at=T0,
                attributes={"severity": {"DataType": "String", "StringValue": "high"}},
                message_id="m-1",
            )
        clock = Clock(T0)
        context = ChannelContext(notify)
        outcomes = []
        for seconds in (0, 5, 10):
            clock.now = T0 + timedelta(seconds=seconds)
            outcomes.append(deliver_due(store, topics, context, clock=clock).as_dict())
        assert [(o["sent"], o["retried"]) for o in outcomes] == [(0, 1), (0, 1), (1, 0)]
        assert len(receiver.received) == 3
        headers, body = receiver.received[-1]
        signed = orjson.loads(body)
        assert headers["x-amz-sns-message-id"] == "m-1" == signed["MessageId"]  # the same id on every retry
        assert {h["x-amz-sns-message-id"] for h, _ in receiver.received} == {"m-1"}
        assert envelope.verify(signed, context.signer.certificate_pem)
        assert envelope.verify_hmac(body, b"s3cret", headers["x-vigil-signature"])
        assert (
            signed["Subject"] == "Finding opened"
            and signed["MessageAttributes"]["severity"]["Value"] == "high"
        )
        with store.connect() as conn:
            (sent,) = outbox.listing(conn, statuses=[outbox.SENT])
        assert sent.attempts == 3
    finally:
        receiver.close()


def test_notify_commands_publish_deliver_list_inbox_and_ack(tmp_path: Any) -> None:
    import orjson
    from typer.testing import CliRunner

    from vigil.cli import app

    receiver = Receiver([])
    config = tmp_path / "vigil.yaml"
    config.write_text(
        f"""notify:
  keys_dir: {tmp_path / "keys"}
  topics:
    - name: alerts
      subscriptions:
        - {{protocol: http, endpoint: "{receiver.url}", filter_policy: {{severity: [high, critical]}}}}
        - {{protocol: inbox}}
"""
    )
    base = ["--db", str(tmp_path / "n.db"), "--config", str(config)]
    run = CliRunner().invoke
    try:
        high = {"severity": {"DataType": "String", "StringValue": "high"}}
        low = {"severity": {"DataType": "String", "StringValue": "low"}}
        one = run(
            app,
            [
                "notify",
                "publish",
                "alerts",
                "-m",
                "SSH open",
                "--subject",
                "Finding",
                "--attributes",
                orjson.dumps(high).decode(),
                "-o",
                "json",
                *base,
            ],
        )
        assert one.exit_code == 0, one.output
        assert orjson.loads(one.stdout)["deliveries"] == 2
        two = run(
            app,
            [
                "notify",
                "publish",
                "alerts",
                "-m",
                "tag missing",
                "--attributes",
                orjson.dumps(low).decode(),
                "-o",
                "json",
                *base,
            ],
        )
        assert orjson.loads(two.stdout)["deliveries"] == 1  # the filter policy keeps it from the webhook
        sent = run(app, ["notify", "deliver", "-o", "json", *base])
        assert orjson.loads(sent.stdout) == {"sent": 1, "retried": 0, "dead": 0, "errors": []}
        assert len(receiver.received) == 1 and b"SSH open" in receiver.received[0][1]
        listed = orjson.loads(run(app, ["notify", "deliveries", "-o", "json", *base]).stdout)
        assert sorted(d["status"] for d in listed) == ["held", "held", "sent"]
        inbox = orjson.loads(run(app, ["notify", "inbox", "-o", "json", *base]).stdout)
        assert [m["message"] for m in inbox] == ["SSH open", "tag missing"]
        acked = run(app, ["notify", "ack", inbox[0]["messageId"], *base])
        assert acked.exit_code == 0 and "acknowledged 1" in acked.output
        assert len(orjson.loads(run(app, ["notify", "inbox", "-o", "json", *base]).stdout)) == 1
        subs = orjson.loads(run(app, ["notify", "subscriptions", "-o", "json", *base]).stdout)
        assert [s["protocol"] for s in subs] == ["http", "inbox"] and subs[0]["retryDelays"] == [
            20.0,
            20.0,
            20.0,
        ]
        missing = run(app, ["notify", "publish", "nowhere", "-m", "x", *base])
        assert missing.exit_code == 2 and "no topic" in missing.output
    finally:
        receiver.close()


def test_findings_that_open_are_published_and_filter_policies_pick_the_severe(
    seeded: Any, tmp_path: Any
) -> None:
    import orjson
    from sqlalchemy import select

    from vigil import engine
    from vigil.engine import Context
    from vigil.settings import LoadedSettings, Settings
    from vigil.store.schema import published_messages

    settings = Settings.model_validate(
        {
            "db": str(tmp_path / "f.db"),
            "aws": seeded.account.settings().model_dump(),
            "notify": {
                "topics": [
                    {
                        "name": "vigil-alerts",
                        "subscriptions": [
                            {
                                "protocol": "inbox",
                                "filter_policy": {"severity": ["critical"], "event": ["opened"]},
                            }
                        ],
                    }
                ]
            },
        }
    )
    with Context(LoadedSettings(settings=settings)) as ctx:
        engine.scan(ctx)
        report = engine.evaluate(ctx)
        with ctx.store.connect() as conn:
            messages = [
                orjson.loads(r.message)
                for r in conn.execute(
                    select(published_messages).where(published_messages.c.source == "finding")
                )
            ]
            held = outbox.listing(conn, statuses=[outbox.HELD], limit=10_000)
    assert len(messages) == len(report.changes.opened) > 0
    assert {m["event"] for m in messages} == {"opened"} and all(m["kind"] == "finding" for m in messages)
    critical = [m for m in messages if m["severity"] == "critical"]
    assert critical and len(held) == len(critical)
    assert all(d.subject and d.subject.startswith("OPENED: [critical]") for d in held)


def test_raw_http_delivery_sends_the_message_alone_with_snss_headers(store: Store, tmp_path: Any) -> None:
    receiver = Receiver([])
    try:
        notify = NotifySettings.model_validate(
            {
                "keys_dir": str(tmp_path / "keys"),
                "topics": [
                    {
                        "name": "alerts",
                        "subscriptions": [
                            {"protocol": "http", "endpoint": receiver.url, "raw_message_delivery": True}
                        ],
                    }
                ],
            }
        )
        topics = topics_from(notify)
        with store.begin() as conn:
            publish(conn, topics, "alerts", message="plain text", subject="S", at=T0, message_id="m-raw")
        assert deliver_due(store, topics, ChannelContext(notify), clock=Clock(T0)).sent == 1
        ((headers, body),) = receiver.received
        assert body == b"plain text"
        assert (headers["x-amz-sns-rawdelivery"], headers["x-amz-sns-message-id"]) == ("true", "m-raw")
        assert headers["x-amz-sns-topic-arn"].endswith(":alerts")
        assert not (tmp_path / "keys").exists()  # nothing was signed, so no key was made
    finally:
        receiver.close()
