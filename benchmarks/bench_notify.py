"""Notifications: filter-policy evaluation, publishing to 1,000 subscriptions, outbox deliveries over HTTP.

Tables:
  * filter policies: µs per message for a 20-key policy in MessageBody scope, on 10,000 generated
    finding-like messages (severity, ruleId, resource type and tags, account, region, controls…).
    SNS allows 5 top-level keys, and Vigil's ``compile_policy`` counts a nested leaf's values times its
    depth towards the complexity limit of 150, so no plain AND of 20 keys is accepted, nested or not
    (at most 7 nested single-value leaves fit: 2^7 = 128). Two policies are measured:
      - "20 keys, $or": accepted by ``compile_policy``: 2 top-level keys and a ``$or`` of 5 branches
        holding the other 18 leaves, nested up to 3 levels, with prefix, suffix, numeric, exists and
        anything-but (complexity 112, 5 top-level keys). Baseline: the same conditions written by
        hand in Python on the parsed dict.
      - "20 keys, AND": 20 nested exact-value keys all ANDed, over SNS's complexity limit, compiled
        by the same code without the limit check (``filter_policy._compile_object``). Baseline: a
        plain Python loop of dict look-ups and set-membership checks of the same 20 conditions.
    Each policy is timed on the parsed dict (``matches_body(dict)``) and on the message text
    (``matches(str)``, as ``publish`` calls it: JSON parse + flatten + match). Baseline results are
    checked equal to Vigil's on every message.
  * publish: ``topics.publish`` of Vigil's own finding messages (``messages.finding_message``: a flat
    JSON body and 8 attributes) to a topic with 0 subscriptions (the floor: storing the message) and
    to a topic with 1,000 http subscriptions of which a few match (per-account routing with severity,
    resource-type, region and rule filters), with their policies in MessageAttributes scope and in
    MessageBody scope. One transaction (committed) per publish, on SQLite and PostgreSQL; plus the
    subscription choice alone (no store).
  * outbox: ``deliver_due`` to a local webhook receiver (``ThreadingHTTPServer`` on 127.0.0.1 in a
    thread of this process, answering 200 at once), rows claimed and marked sent in committed
    transactions, on SQLite and PostgreSQL; the default http channel (SNS envelope signed with
    SHA256withRSA, 2048-bit key) and ``raw_message_delivery: true`` (the channel still builds and
    signs the envelope, then sends only the message: the RSA cost is paid either way). Baselines:
    a plain ``urllib`` POST loop of the same envelope bytes to the same receiver (the floor), and
    ``HttpChannel.send`` on in-memory deliveries (envelope + signature + POST, no store).

Sizes: 10,000 messages for the policies (best of 3 passes); 300 publishes per row to the 1,000
subscriptions (2,000 to the empty topic); 2,000 deliveries per outbox row. ``--full``: 1,000
publishes, 10,000 deliveries.
"""

from __future__ import annotations

import json
import random
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

from benchlib import SKIPPED_UNREACHABLE, ResultTable, available_backends, main, open_bench_store, ratio
from sqlalchemy import text

from vigil.notify import envelope, filter_policy
from vigil.notify.channels.http import HttpChannel
from vigil.notify.deliver import channel_context, deliver_due
from vigil.notify.filter_policy import FilterPolicy, MessageView, compile_policy
from vigil.notify.messages import finding_message
from vigil.notify.topics import Topics, attributes_from, publish, topics_from
from vigil.settings import Settings
from vigil.store import outbox

MESSAGES = 10_000
PASSES = 3
SUBSCRIPTIONS = 1_000
AIM_PG_DELIVERIES_PER_S = 1_000

SEVERITIES = ("informational", "low", "medium", "high", "critical")
SEVERITY_WEIGHTS = (10, 25, 30, 25, 10)
RANK = {s: i for i, s in enumerate(SEVERITIES)}
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "global")
RESOURCE_TYPES = (
    "AWS::S3::Bucket",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::EC2::Instance",
    "AWS::EC2::SecurityGroup",
    "AWS::RDS::DBInstance",
    "AWS::Lambda::Function",
    "AWS::KMS::Key",
    "AWS::CloudTrail::Trail",
)
RULES = (
    "aws-s3-bucket-public-read",
    "aws-s3-bucket-no-encryption",
    "aws-iam-root-access-key",
    "aws-iam-user-no-mfa",
    "aws-iam-policy-admin-star",
    "aws-ec2-sg-open-ssh",
    "aws-ec2-imdsv1",
    "aws-rds-public",
    "aws-lambda-public-url",
    "aws-kms-rotation-off",
    "aws-cloudtrail-not-multiregion",
    "aws-guardduty-disabled",
)
TEAMS = ("payments", "security", "platform", "data", "web")
ENVS = ("prod", "prod", "staging", "dev")
DATA_CLASSES = ("public", "internal", "confidential", "restricted")
CONTROLS = ("cis-1.4", "cis-2.1.1", "cis-3.1", "cis-4.1", "pci-1.2.1", "pci-8.3", "nist-ac-2", "soc2-cc6.1")
ACCOUNTS = tuple(
    (
        f"{100000000000 + i * 7919:012d}",
        "ou-prod-1a2b" if i % 3 else "ou-dev-9z8y",
        f"acct-{i:03d}-{'prod' if i % 3 else 'dev'}",
    )
    for i in range(250)
)


def _timed(fn: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(PASSES):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


# -- filter policies -------------------------------------------------------------------------------


def finding_doc(rng: random.Random, i: int) -> dict[str, Any]:
    """A finding-like message with nested resource, tags, account and scanner objects."""
    severity = rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0]
    region = rng.choice(REGIONS)
    account_id, ou, name = rng.choice(ACCOUNTS)
    rtype = rng.choice(RESOURCE_TYPES)
    return {
        "kind": "finding",
        "event": rng.choice(("opened", "opened", "reopened", "resolved")),
        "fingerprint": f"{rng.getrandbits(128):032x}",
        "severity": severity,
        "severityRank": RANK[severity],
        "ruleId": rng.choice(RULES),
        "resource": {
            "type": rtype,
            "id": f"arn:aws:{rtype.split('::')[1].lower()}:{region}:{account_id}:res-{i}",
            "name": f"res-{i}",
            "region": region,
            "tags": {
                "env": rng.choice(ENVS),
                "team": rng.choice(TEAMS),
                "dataClass": rng.choice(DATA_CLASSES),
                "owner": f"user{i % 37}@example.com",
            },
        },
        "account": {"id": account_id, "ou": ou, "name": name},
        "region": region,
        "partition": "aws",
        "annotation": f"{rtype} res-{i} fails the check; see the rule's remediation.",
        "controls": rng.sample(CONTROLS, 2),
        "firstSeen": "2026-01-05T10:00:00+00:00",
        "lastSeen": "2026-01-06T10:00:00+00:00",
        "scanner": {"tool": "vigil", "version": "0.6.0", "source": rng.choice(("scan", "prowler", "import"))},
    }


# SNS-valid: 2 AND keys + $or of 5 branches = 20 leaves, complexity 112, 5 top-level keys.
POLICY_OR: dict[str, Any] = {
    "kind": ["finding"],
    "event": ["opened", "reopened"],
    "$or": [
        {  # critical in production accounts and resources
            "severity": ["critical"],
            "account": {"ou": [{"prefix": "ou-prod"}], "id": [{"exists": True}]},
            "resource": {"tags": {"env": ["prod"]}},
        },
        {  # high or worse on confidential S3 and RDS data
            "severityRank": [{"numeric": [">=", 3]}],
            "resource": {
                "type": ["AWS::S3::Bucket", "AWS::RDS::DBInstance"],
                "tags": {"dataClass": ["confidential"]},
            },
            "region": [{"anything-but": ["us-gov-west-1"]}],
        },
        {  # IAM rules on global resources of the security team, production accounts
            "ruleId": [{"prefix": "aws-iam-"}],
            "resource": {"tags": {"team": ["security"]}, "region": ["global"]},
            "account": {"name": [{"suffix": "-prod"}]},
        },
        {  # the payments team's non-dev resources, medium or worse, from scans
            "resource": {"tags": {"team": ["payments"], "env": [{"anything-but": ["dev"]}]}},
            "scanner": {"source": ["scan"]},
            "severity": [{"anything-but": ["informational", "low"]}],
        },
        {  # logging and detection rules tied to a CIS control
            "ruleId": [{"prefix": "aws-cloudtrail-"}, {"prefix": "aws-guardduty-"}],
            "controls": [{"prefix": "cis-"}],
        },
    ],
}


def floor_or(m: dict[str, Any]) -> bool:
    """POLICY_OR by hand on the parsed dict (every field is present in the generated messages)."""
    if m.get("kind") != "finding" or m.get("event") not in ("opened", "reopened"):
        return False
    account, resource = m["account"], m["resource"]
    tags = resource["tags"]
    severity, rule = m["severity"], m["ruleId"]
    return (
        (
            severity == "critical"
            and account["ou"].startswith("ou-prod")
            and "id" in account
            and tags["env"] == "prod"
        )
        or (
            m["severityRank"] >= 3
            and resource["type"] in ("AWS::S3::Bucket", "AWS::RDS::DBInstance")
            and tags["dataClass"] == "confidential"
            and m["region"] != "us-gov-west-1"
        )
        or (
            rule.startswith("aws-iam-")
            and tags["team"] == "security"
            and resource["region"] == "global"
            and account["name"].endswith("-prod")
        )
        or (
            tags["team"] == "payments"
            and tags["env"] != "dev"
            and m["scanner"]["source"] == "scan"
            and severity not in ("informational", "low")
        )
        or (
            rule.startswith(("aws-cloudtrail-", "aws-guardduty-"))
            and any(c.startswith("cis-") for c in m["controls"])
        )
    )


# 20 nested exact-value conditions, all ANDed: (dotted path, allowed values).
CONDITIONS_AND: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("kind", ("finding",)),
    ("partition", ("aws",)),
    ("scanner.tool", ("vigil",)),
    ("scanner.version", ("0.6.0",)),
    ("event", ("opened", "reopened", "resolved")),
    ("region", REGIONS[:5]),
    ("resource.region", REGIONS[:5]),
    ("account.ou", ("ou-prod-1a2b", "ou-dev-9z8y")),
    ("account.id", tuple(a[0] for a in ACCOUNTS[:240])),
    ("account.name", tuple(a[2] for a in ACCOUNTS[:240])),
    ("resource.type", RESOURCE_TYPES[:8]),
    ("ruleId", RULES[:11]),
    ("severity", SEVERITIES[1:]),
    ("severityRank", (1, 2, 3, 4)),
    ("resource.tags.env", ("prod", "staging")),
    ("resource.tags.team", TEAMS[:4]),
    ("resource.tags.dataClass", DATA_CLASSES[1:]),
    ("resource.tags.owner", tuple(f"user{i}@example.com" for i in range(35))),
    ("scanner.source", ("scan", "prowler")),
    ("controls", CONTROLS[:7]),
)


def _nest(conditions: Sequence[tuple[str, Sequence[Any]]]) -> dict[str, Any]:
    policy: dict[str, Any] = {}
    for path, allowed in conditions:
        *parents, leaf = path.split(".")
        node = policy
        for p in parents:
            node = node.setdefault(p, {})
        node[leaf] = list(allowed)
    return policy


POLICY_AND = _nest(CONDITIONS_AND)
_FLOOR_AND = tuple((tuple(path.split(".")), frozenset(allowed)) for path, allowed in CONDITIONS_AND)


def floor_and(m: dict[str, Any]) -> bool:
    """CONDITIONS_AND as plain dict look-ups and set membership (a list matches if one element does)."""
    for path, allowed in _FLOOR_AND:
        value: Any = m
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, list):
            if not any(v in allowed for v in value):
                return False
        elif value not in allowed:
            return False
    return True


def compile_unlimited(policy: dict[str, Any]) -> FilterPolicy:
    """The matcher ``compile_policy`` builds, without the 5-key and complexity checks."""
    root = filter_policy._compile_object(policy, "", 1, "MessageBody", filter_policy.DEFAULT_NUMERIC_DECIMALS)
    return FilterPolicy("MessageBody", root, policy)


def _leaves(policy: Any) -> int:
    if isinstance(policy, list):
        return sum(_leaves(b) for b in policy)
    return sum(_leaves(v) if isinstance(v, dict) or k == "$or" else 1 for k, v in policy.items())


def policy_table(full: bool) -> ResultTable:
    rng = random.Random(6)
    docs = [finding_doc(rng, i) for i in range(MESSAGES)]
    texts = [json.dumps(d) for d in docs]
    loads = json.loads
    try:
        compile_policy(POLICY_AND, "MessageBody")
        and_valid = "accepted"
    except filter_policy.FilterPolicyError as exc:
        and_valid = f"rejected ({exc.reason})"
    policy_or = compile_policy(POLICY_OR, "MessageBody")
    cases = (
        ("20 keys, $or (SNS-valid)", policy_or, floor_or, POLICY_OR),
        ("20 keys, AND (over the limit)", compile_unlimited(POLICY_AND), floor_and, POLICY_AND),
    )
    result = ResultTable(
        f"Filter-policy evaluation, MessageBody scope: {MESSAGES:,} finding-like messages "
        f"({sum(map(len, texts)) / len(texts):,.0f} bytes of JSON each on average), best of {PASSES} passes",
        notes=[
            "us_per_msg: microseconds per message; vs_floor: that time / the hand-written Python check on the "
            "parsed dict (lower is better; 1.0 = the floor). 'Vigil, text' is what publish does per "
            "subscription: json.loads + flatten + match; its floor parses with json.loads then checks.",
            f"$or policy: compile_policy accepts it (complexity {policy_or.combinations}, "
            f"{policy_or.root.top_keys} top-level keys). AND policy: compile_policy {and_valid}; compiled "
            "without the limit checks to time 20 ANDed keys.",
        ],
    )
    for name, policy, floor, source in cases:
        vigil_hits = [policy.matches_body(d) for d in docs]
        same = vigil_hits == [floor(d) for d in docs] == [policy.matches(t) for t in texts]
        floor_s = _timed(lambda floor=floor: [floor(d) for d in docs])
        floor_text_s = _timed(lambda floor=floor: [floor(loads(t)) for t in texts])
        dict_s = _timed(lambda policy=policy: [policy.matches_body(d) for d in docs])
        text_s = _timed(lambda policy=policy: [policy.matches(t) for t in texts])
        base = {"what": name, "leaves": _leaves(source), "match_rate": sum(vigil_hits) / len(docs)}
        for variant, seconds in (
            ("floor: Python on the dict (baseline)", floor_s),
            ("floor: json.loads + Python", floor_text_s),
            ("Vigil, parsed dict", dict_s),
            ("Vigil, text (as publish)", text_s),
        ):
            us = seconds / len(docs) * 1e6
            result.rows.append(
                base | {"variant": variant, "us_per_msg": us, "vs_floor": ratio(seconds, floor_s)}
            )
        result.notes.append(
            f"{name}: Vigil's results equal the baseline's on every message: {'yes' if same else 'NO'}"
        )
    return result


# -- publish ---------------------------------------------------------------------------------------

TOPIC_SUBS, TOPIC_EMPTY = "bench-routes", "bench-empty"


def finding_messages(n: int, rng: random.Random) -> list[tuple[str, str, dict[str, dict[str, str]]]]:
    """(subject, body, SNS attributes) of ``n`` findings, as Vigil publishes them."""
    out = []
    for i in range(n):
        account_id = rng.choice(ACCOUNTS)[0]
        finding = SimpleNamespace(
            fingerprint=f"{rng.getrandbits(128):032x}",
            severity=rng.choices(SEVERITIES, SEVERITY_WEIGHTS)[0],
            rule_id=rng.choice(RULES),
            resource_type=rng.choice(RESOURCE_TYPES),
            resource_id=f"res-{i}",
            resource_name=f"res-{i}",
            account_id=account_id,
            region=rng.choice(REGIONS),
            annotation="fails the check",
            controls=rng.sample(CONTROLS, 2),
            first_seen=datetime(2026, 1, 5, tzinfo=UTC),
            last_seen=datetime(2026, 1, 6, tzinfo=UTC),
        )
        subject, body, plain = finding_message(finding, rng.choice(("opened", "reopened", "resolved")))
        out.append((subject, body, attributes_from(plain)))
    return out


def route_policy(i: int, scope: str) -> dict[str, Any]:
    """Subscription i: one account (4 subscriptions per account) and one more filter of four kinds."""
    account = [ACCOUNTS[(i // 4) % len(ACCOUNTS)][0]]
    kind = i % 4
    if kind == 0:
        return {"account": account, "severity": ["high", "critical"]}
    if kind == 1:
        return {"account": account, "resourceType": [{"prefix": "AWS::S3::"}, {"prefix": "AWS::IAM::"}]}
    if kind == 2:
        severity = (
            {"severityRank": [{"numeric": [">=", 2]}]}
            if scope == "MessageAttributes"
            else {"severity": [{"anything-but": ["informational", "low"]}]}
        )
        return {"account": account, "region": [{"anything-but": ["us-east-1"]}], **severity}
    return {"account": account, "ruleId": [{"prefix": "aws-iam-"}], "kind": ["finding"], "event": ["opened"]}


def notify_settings(keys_dir: str, subscriptions: Sequence[dict[str, Any]]) -> Settings:
    return Settings.model_validate(
        {
            "notify": {
                "keys_dir": keys_dir,
                "topics": [{"name": TOPIC_EMPTY}, {"name": TOPIC_SUBS, "subscriptions": list(subscriptions)}],
            }
        }
    )


def routed_topics(scope: str) -> Topics:
    subs = [
        {
            "protocol": "http",
            "endpoint": f"http://127.0.0.1:9/hooks/{i}",
            "filter_policy": route_policy(i, scope),
            "filter_policy_scope": scope,
        }
        for i in range(SUBSCRIPTIONS)
    ]
    return topics_from(notify_settings(tempfile.gettempdir(), subs).notify)


def publish_table(full: bool) -> ResultTable:
    n_routed = 1_000 if full else 300
    n_empty = 2_000
    messages = finding_messages(max(n_routed, n_empty), random.Random(8))
    at = datetime(2026, 1, 6, 12, tzinfo=UTC)
    by_scope = {scope: routed_topics(scope) for scope in ("MessageAttributes", "MessageBody")}
    result = ResultTable(
        f"Publish: Vigil's finding messages to a topic with {SUBSCRIPTIONS:,} http subscriptions of which a few "
        "match, and to a topic with none",
        notes=[
            "publishes_per_s: topics.publish calls per second, each in its own committed transaction (the "
            "message row + one outbox row per matching subscription); vs_floor: that rate / the rate of "
            "publishing to the topic with 0 subscriptions on the same backend.",
            f"Subscriptions: {SUBSCRIPTIONS:,} per-account routes ({len(ACCOUNTS)} accounts, 4 each) with one more "
            "filter each: severity list, resourceType prefixes, region anything-but + severity rank (numeric, "
            "or anything-but in body scope), ruleId prefix + kind + event. deliveries_per_publish: how many "
            "matched on average. 'choose only': the list comprehension publish runs (every subscription's "
            "accepts), no store.",
        ],
    )
    for scope, topics in by_scope.items():
        subs = topics.subscriptions(TOPIC_SUBS)
        sample = messages[:n_routed]
        started = time.perf_counter()
        matched = sum(
            sum(1 for s in subs if s.accepts(view))
            for view in (MessageView(body, attrs) for _, body, attrs in sample)
        )
        seconds = time.perf_counter() - started
        result.rows.append(
            {
                "backend": "-",
                "what": f"{SUBSCRIPTIONS:,} subs, {scope}: choose only",
                "publishes": len(sample),
                "deliveries_per_publish": matched / len(sample),
                "ms_per_publish": seconds / len(sample) * 1000,
                "publishes_per_s": len(sample) / seconds,
            }
        )
    for backend, reachable in available_backends().items():
        if not reachable:
            result.rows.append({"backend": backend, "what": SKIPPED_UNREACHABLE})
            continue
        floor_rate: float | None = None
        with open_bench_store(backend) as bench:
            runs: list[tuple[str, Topics, str, int]] = [
                ("0 subscriptions (floor)", by_scope["MessageAttributes"], TOPIC_EMPTY, n_empty)
            ]
            runs += [(f"{SUBSCRIPTIONS:,} subs, {s}", t, TOPIC_SUBS, n_routed) for s, t in by_scope.items()]
            for k, (what, topics, topic, n) in enumerate(runs):
                deliveries = 0
                started = time.perf_counter()
                for j, (subject, body, attrs) in enumerate(messages[:n]):
                    with bench.store.begin() as conn:
                        done = publish(
                            conn,
                            topics,
                            topic,
                            message=body,
                            subject=subject,
                            attributes=attrs,
                            at=at,
                            message_id=f"bench-{k}-{j:06d}",
                        )
                    deliveries += done.deliveries
                seconds = time.perf_counter() - started
                rate = n / seconds
                floor_rate = floor_rate or rate
                result.rows.append(
                    {
                        "backend": backend,
                        "what": what,
                        "publishes": n,
                        "deliveries_per_publish": deliveries / n,
                        "ms_per_publish": seconds / n * 1000,
                        "publishes_per_s": rate,
                        "vs_floor": ratio(rate, floor_rate),
                    }
                )
    return result


# -- outbox ----------------------------------------------------------------------------------------


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    received = 0
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()
        with _Receiver.lock:
            _Receiver.received += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def receiver() -> Iterator[str]:
    """A webhook receiver on 127.0.0.1 in a thread; its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="bench-receiver", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def urllib_floor(url: str, bodies: Sequence[bytes]) -> float:
    headers = {"Content-Type": envelope.DEFAULT_CONTENT_TYPE, "x-amz-sns-message-type": "Notification"}
    started = time.perf_counter()
    for body in bodies:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        with urllib.request.urlopen(request, timeout=15) as answer:
            answer.read()
    return time.perf_counter() - started


def _pg_durability(store: Any) -> str:
    with store.connect() as conn:
        values = [conn.execute(text(f"SHOW {name}")).scalar_one() for name in ("synchronous_commit", "fsync")]
    return f"synchronous_commit={values[0]}, fsync={values[1]}"


def outbox_table(full: bool) -> ResultTable:
    n = 10_000 if full else 2_000
    messages = finding_messages(n, random.Random(9))
    created = datetime.now(UTC) - timedelta(seconds=5)
    result = ResultTable(
        f"Outbox: {n:,} deliveries to a local webhook receiver (ThreadingHTTPServer on 127.0.0.1, in a thread of "
        "this process)",
        notes=[
            "deliveries_per_s: delivered and acknowledged (200) per second; vs_floor: that rate / the plain urllib "
            f"POST loop's (same receiver, same envelope bytes, no store, no signing). Aim on PostgreSQL: ≥ "
            f"{AIM_PG_DELIVERIES_PER_S:,}/s.",
            "deliver_due(limit=100) is called until nothing is due: it claims up to 100 rows (a SELECT … FOR UPDATE "
            "SKIP LOCKED on PostgreSQL, and one UPDATE per row, one transaction), then sends each and marks it sent "
            "in its own committed transaction. The messages are published beforehand (not timed).",
            "signed: the default http channel (SNS envelope, SHA256withRSA 2048-bit signature per delivery). raw: "
            "raw_message_delivery: true — HttpChannel.send still builds and signs the whole envelope, then posts "
            "the message alone, so the RSA signature is computed and thrown away: the row measures that.",
            "The receiver shares this process's GIL, so every row (baselines included) pays for it.",
        ],
    )
    with tempfile.TemporaryDirectory(prefix="vigil-bench-keys-") as keys, receiver() as url:
        variants = {
            "signed": {"protocol": "http", "endpoint": url},
            "raw": {"protocol": "http", "endpoint": url + "?raw", "raw_message_delivery": True},
        }
        settings = notify_settings(keys, list(variants.values()))
        topics = topics_from(settings.notify)
        context = channel_context(settings)
        signer = context.signer  # the key is made here, not in a timed loop
        subs = {name: s for name, s in zip(variants, topics.subscriptions(TOPIC_SUBS), strict=True)}

        def delivery(j: int, sub: Any) -> outbox.Delivery:
            subject, body, attrs = messages[j]
            return outbox.Delivery(
                f"mem-{j:06d}",
                sub.id,
                TOPIC_SUBS,
                "http",
                sub.endpoint,
                outbox.PENDING,
                0,
                created,
                None,
                created,
                subject,
                body,
                {k: dict(v) for k, v in attrs.items()},
            )

        in_memory = [delivery(j, subs["signed"]) for j in range(n)]
        bodies = [
            envelope.http_body(
                signer.sign(
                    envelope.notification(
                        message_id=d.message_id,
                        topic_arn=f"arn:aws:sns:local:000000000000:{TOPIC_SUBS}",
                        message=d.message,
                        timestamp=d.created_at,
                        subject=d.subject,
                        attributes=d.attributes,
                        unsubscribe_url="http://127.0.0.1/notify/unsubscribe",
                        signing_cert_url="http://127.0.0.1/notify/cert.pem",
                    )
                ),
                raw=False,
            )
            for d in in_memory
        ]
        floor_s = urllib_floor(url, bodies)
        floor_rate = n / floor_s
        started = time.perf_counter()
        for d in in_memory[:500]:
            signer.sign(
                {
                    "Type": "Notification",
                    "MessageId": d.message_id,
                    "TopicArn": "t",
                    "Message": d.message,
                    "Timestamp": "x",
                }
            )
        sign_rate = 500 / (time.perf_counter() - started)
        result.rows.append(
            {
                "backend": "-",
                "what": "urllib POST loop (floor)",
                "deliveries": n,
                "deliveries_per_s": floor_rate,
                "vs_floor": 1.0,
                "body_bytes": sum(map(len, bodies)) / n,
            }
        )
        result.rows.append(
            {"backend": "-", "what": "Signer.sign alone (RSA-2048)", "deliveries_per_s": sign_rate}
        )
        channel = HttpChannel()
        for name, sub in subs.items():
            batch = in_memory if name == "signed" else [delivery(j, sub) for j in range(n)]
            started = time.perf_counter()
            ok = sum(channel.send(d, sub, context).ok for d in batch)
            rate = n / (time.perf_counter() - started)
            result.rows.append(
                {
                    "backend": "-",
                    "what": f"HttpChannel.send, no store, {name}",
                    "deliveries": ok,
                    "deliveries_per_s": rate,
                    "vs_floor": ratio(rate, floor_rate),
                }
            )
        for backend, reachable in available_backends().items():
            if not reachable:
                result.rows.append({"backend": backend, "what": SKIPPED_UNREACHABLE})
                continue
            with open_bench_store(backend) as bench:
                if backend == "postgresql":
                    result.notes.append(f"PostgreSQL: {_pg_durability(bench.store)}.")
                else:
                    result.notes.append(
                        "SQLite: WAL with synchronous=NORMAL (Vigil's pragmas): every commit is durable against a "
                        "crash of the process, not fsynced against power loss."
                    )
                for name, sub in subs.items():
                    only = Topics({TOPIC_SUBS: (sub,)})
                    with bench.store.begin() as conn:
                        for j, (subject, body, attrs) in enumerate(messages):
                            publish(
                                conn,
                                only,
                                TOPIC_SUBS,
                                message=body,
                                subject=subject,
                                attributes=attrs,
                                at=created,
                                message_id=f"{name}-{j:06d}",
                            )
                    before = _Receiver.received
                    sent = calls = 0
                    started = time.perf_counter()
                    while True:
                        report = deliver_due(bench.store, topics, context, limit=100)
                        calls += 1
                        sent += report.sent
                        if report.retried or report.dead:
                            raise RuntimeError(f"deliveries failed: {report.errors[:3]}")
                        if not report.sent:
                            break
                    seconds = time.perf_counter() - started
                    rate = sent / seconds
                    with bench.store.connect() as conn:
                        counts = outbox.counts(conn)
                    result.rows.append(
                        {
                            "backend": backend,
                            "what": f"deliver_due, {name}",
                            "deliveries": sent,
                            "received": _Receiver.received - before,
                            "deliveries_per_s": rate,
                            "vs_floor": ratio(rate, floor_rate),
                            "vs_aim": ratio(rate, AIM_PG_DELIVERIES_PER_S)
                            if backend == "postgresql"
                            else None,
                            "sent_rows": counts.get(outbox.SENT, 0),
                        }
                    )
                    with bench.store.begin() as conn:  # the next variant starts from an empty outbox
                        conn.execute(text("DELETE FROM deliveries"))
    return result


# -- entry -----------------------------------------------------------------------------------------


def run(full: bool = False) -> list[ResultTable]:
    tables: list[ResultTable] = []
    for step in (policy_table, publish_table, outbox_table):
        started = time.perf_counter()
        table = step(full)
        table.notes.append(f"this part took {time.perf_counter() - started:.1f} s in all")
        tables.append(table)
    return tables


if __name__ == "__main__":
    main(run)
