"""Benchmark load: a million CloudTrail records or more, made from real ones, seeded and fast.

No large real CloudTrail corpus is available, so the load is built from the real records the team
keeps in ``shared/data/cloudtrail`` (stratus-red-team's detonation logs, AWS's documented examples,
cloud-custodian's test events; see ``shared/data/INDEX.md``), used as templates. Each generated record
is one template, shallow-copied, with what differs between two real records replaced: event ID
(unique), event time (increasing over about a day), account, region (us-east-1 for global services,
as CloudTrail records them), principal (IAM users, role sessions, root; their ids and access keys),
source address, user agent, request ID. The mix is set by class, not by the templates' own counts
(which are attack detonations): mostly read-only calls, some writes, a few per cent refused calls
and a few console sign-ins. Without the shared folder, the demo story's records
(``vigil.demo.events``) are the templates.

    python benchmarks/eventgen.py OUT_DIR N [--per-file 1000] [--seed 1] [--no-gzip]

writes N records as CloudTrail writes them to S3 (``AWSLogs/<account>/CloudTrail/<region>/…``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import sys
import time
from bisect import bisect
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from vigil.demo import events as demo

Record = dict[str, Any]

DESCRIPTION = (
    "CloudTrail load generated from real records: the 310 stratus-red-team detonation records, AWS's "
    "documented examples and cloud-custodian's test events (shared/data/cloudtrail) serve as templates; "
    "each generated record is a shallow copy of one template with a unique event ID, an increasing event "
    "time over about a day, and an account, region, principal (IAM user, role session or root, with its "
    "ids and access key), source address, user agent and request ID drawn by a seeded generator. The mix "
    "is set by class: about 88% read-only calls, 8% writes, 3% refused calls (AccessDenied, "
    "Client.UnauthorizedOperation) and 1% console sign-ins. Synthetic load in real shapes, not a real "
    "account's traffic."
)

REGIONS = ("us-east-1", "eu-west-1", "us-west-2", "eu-central-1", "ap-southeast-2", "us-east-2")
REGION_WEIGHTS = (0.35, 0.25, 0.15, 0.1, 0.08, 0.07)
START = datetime(2026, 1, 5, tzinfo=UTC)
SPAN_SECONDS = 86_400
MIX = {"read": 0.88, "write": 0.08, "error": 0.03, "signin": 0.01}
GLOBAL_SOURCES = frozenset(
    {"iam.amazonaws.com", "signin.amazonaws.com", "cloudfront.amazonaws.com", "organizations.amazonaws.com"}
)
API_AGENTS = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1017-aws exe/x86_64.ubuntu.22 prompt/off",
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0-1017-aws md/arch#x86_64 lang/python#3.11.8 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69",
    "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.171.0",
    "APN/1.0 HashiCorp/1.0 Terraform/1.8.5 (+https://www.terraform.io) terraform-provider-aws/5.59.0",
    "console.amazonaws.com",
    "AWS Internal",
)
BROWSERS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:125.0) Gecko/20100101 Firefox/125.0",
)
FIRST_NAMES = ("ana", "ben", "chen", "dana", "eli", "fatima", "gus", "hana", "ivan", "jo", "kofi", "lena")
ROLES = ("platform-admin", "ReadOnlyAuditor", "ci-deploy", "data-pipeline", "OrganizationAccountAccessRole")
IDENTITY_FIELDS = ("principalId", "arn", "accountId", "accessKeyId", "userName", "sessionContext")
_MASK64 = (1 << 64) - 1


# -- templates ---------------------------------------------------------------------------------------


def shared_data() -> Path | None:
    """The team's shared data folder, found as ``tests/conftest.py`` finds it; None when absent."""
    candidates = [
        os.environ.get("VIGIL_SHARED_DATA", ""),
        str(Path(__file__).resolve().parents[2] / "shared" / "data"),
        "/work/shared/data",
    ]
    for candidate in candidates:
        if candidate and (Path(candidate) / "cloudtrail").is_dir():
            return Path(candidate)
    return None


def load_templates(data: Path | None = None) -> list[Record]:
    """The real records under ``<data>/cloudtrail`` that can serve as templates; the demo's without it."""
    folder = (data or shared_data() or Path("/nonexistent")) / "cloudtrail"
    found: list[Record] = []
    if folder.is_dir():
        for path in sorted(folder.glob("stratus-red-team/docs/detonation-logs/*.json")):
            found.extend(json.loads(path.read_text()))
        docs = folder / "aws-docs-examples.jsonl"
        if docs.is_file():
            found.extend(json.loads(line)["event"] for line in docs.read_text().splitlines() if line.strip())
        for path in sorted(folder.glob("custodian-cwe/*.json")):
            body = json.loads(path.read_text())
            found.append(body.get("detail", body))
    usable = [r for r in found if _usable(r)]
    if usable:
        return usable
    return demo.demo_story("111122223333", "us-east-1", START, security_group_id="sg-0a1b2c3d4e5f60718")


def _usable(record: Record) -> bool:
    identity = record.get("userIdentity") or {}
    return (
        record.get("eventType") in {"AwsApiCall", "AwsConsoleSignIn"}
        and "eventID" in record
        and identity.get("type") in {"IAMUser", "AssumedRole", "Root"}
    )


def _kind(record: Record) -> str:
    if record["eventSource"] == "signin.amazonaws.com":
        return "signin"
    if "errorCode" in record:
        return "error"
    read_only = record.get("readOnly")
    if read_only is None:
        read_only = record["eventName"].startswith(("Describe", "List", "Get", "Head", "Lookup"))
    return "read" if read_only else "write"


@dataclass(frozen=True)
class Template:
    """A real record prepared once: what is copied as is, and how each varying field is replaced."""

    base: Record
    identity: Record
    identity_type: str
    replace: tuple[str, ...]  # userIdentity fields taken from the drawn principal
    global_region: bool
    tls: dict[str, Record] | None  # per region, the template's tlsDetails with the right endpoint
    keep_ip: bool
    agents: tuple[str, ...]
    s3_request_id: bool
    ec2_response: bool


def _template(record: Record, regions: Sequence[str]) -> Template:
    base = dict(record)
    identity = record["userIdentity"]
    # principalId and accountId always (some published samples have them redacted); the others when the
    # template has them (a failed sign-in has no arn; a sign-in's accessKeyId is "").
    replace = tuple(
        k
        for k in IDENTITY_FIELDS
        if k in {"principalId", "accountId"} or (k in identity and identity[k] != "")
    )
    tls = None
    if isinstance(record.get("tlsDetails"), dict):
        host = record["tlsDetails"].get("clientProvidedHostHeader", "")
        old = record.get("awsRegion", "")
        tls = {r: {**record["tlsDetails"], "clientProvidedHostHeader": host.replace(old, r)} for r in regions}
    ip = str(record.get("sourceIPAddress", ""))
    agent = str(record.get("userAgent", ""))
    if agent.startswith("stratus-red-team"):  # the detonation tool marks its calls: give them real clients
        agents: tuple[str, ...] = BROWSERS if record["eventSource"] == "signin.amazonaws.com" else API_AGENTS
    else:
        agents = (agent,)
    response = record.get("responseElements")
    return Template(
        base=base,
        identity=identity,
        identity_type=identity["type"],
        replace=replace,
        global_region=record["eventSource"] in GLOBAL_SOURCES,
        tls=tls,
        keep_ip=not ip[:1].isdigit(),  # "AWS Internal", "cloudformation.amazonaws.com": a service called
        agents=agents,
        s3_request_id=record["eventSource"] == "s3.amazonaws.com",
        ec2_response=isinstance(response, dict) and "requestId" in response,
    )


def _weights(templates: Sequence[Record]) -> list[float]:
    """Each template's share: its class's share of :data:`MIX`, split evenly over the class's APIs."""
    kinds = [_kind(t) for t in templates]
    apis: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for kind, t in zip(kinds, templates, strict=True):
        apis[kind][(t["eventSource"], t["eventName"])] += 1
    weights = []
    for kind, t in zip(kinds, templates, strict=True):
        per_api = apis[kind]
        weights.append(MIX[kind] / len(per_api) / per_api[(t["eventSource"], t["eventName"])])
    return weights


# -- principals --------------------------------------------------------------------------------------


def _principals(
    rng: random.Random, account: str, created: datetime
) -> dict[str, list[tuple[Record, Record]]]:
    """An account's callers by identity type: each as (long-term key, session) userIdentity blocks."""
    users = []
    names = [f"{n}.{rng.choice(FIRST_NAMES)}" for n in FIRST_NAMES] + [
        "terraform",
        "backup-agent",
        "monitoring",
    ]
    for name in names:
        users.append(
            (
                demo.iam_user(account, name),
                demo.iam_user(account, name, session=(created, rng.random() < 0.7)),
            )
        )
    sessions = []
    for role in ROLES:
        for k in range(6):
            session_name = (
                f"{rng.choice(FIRST_NAMES)}-{k}" if k < 3 else f"botocore-session-{rng.getrandbits(40)}"
            )
            session = demo.assumed_role(account, role, session_name, created, k < 2)
            sessions.append((session, session))
    root = demo.root_user(account, created, False)
    return {"IAMUser": users, "AssumedRole": sessions, "Root": [(root, root)]}


def _addresses(rng: random.Random, count: int) -> list[str]:
    """Source addresses from the documentation ranges (RFC 5737)."""
    nets = ("192.0.2", "198.51.100", "203.0.113")
    return [f"{rng.choice(nets)}.{rng.randrange(1, 255)}" for _ in range(count)]


def _accounts(rng: random.Random, count: int) -> list[str]:
    found: dict[str, None] = {}
    while len(found) < count:
        found[f"{rng.randrange(10**11, 10**12):012d}"] = None
    return list(found)


def _event_id(i: int, salt: int, extra: int) -> str:
    """A UUID-shaped, unique ID: a bijection (splitmix64's mixer) of the record's index fills 64 of its bits."""
    z = (i + salt) & _MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    z ^= z >> 31
    return (
        f"{z >> 32:08x}-{(z >> 16) & 0xFFFF:04x}-4{extra & 0xFFF:03x}-"
        f"{8 | (extra >> 12) & 3:x}{(extra >> 14) & 0xFFF:03x}-{z & 0xFFFF:04x}{(extra >> 26) & 0xFFFFFFFF:08x}"
    )


# -- the generator -----------------------------------------------------------------------------------


def generate(
    n: int,
    *,
    seed: int = 1,
    start: datetime | None = None,
    accounts: int = 20,
    regions: Sequence[str] = REGIONS,
    templates: Sequence[Record] | None = None,
    span_seconds: int = SPAN_SECONDS,
) -> Iterator[Record]:
    """``n`` CloudTrail records in time order over ``span_seconds`` (a day) from ``start``; the same
    for the same seed.

    Records share the nested values they do not change (request parameters, session contexts) with
    their template and with each other: treat them as read-only.
    """
    rng = random.Random(seed)
    moment = start or START
    moment = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)  # naive: UTC
    epoch = int(moment.timestamp())
    real = list(templates) if templates is not None else load_templates()
    prepared = [_template(t, regions) for t in real]
    cumulative: list[float] = []
    total = 0.0
    for weight in _weights(real):
        total += weight
        cumulative.append(total)
    region_cumulative: list[float] = []
    acc = 0.0
    weights = REGION_WEIGHTS if len(regions) == len(REGION_WEIGHTS) else (1.0,) * len(regions)
    for weight in weights:
        acc += weight
        region_cumulative.append(acc)
    created = datetime.fromtimestamp(epoch - 3600, UTC)
    account_ids = _accounts(rng, accounts)
    callers = {a: _principals(rng, a, created) for a in account_ids}
    addresses = {a: _addresses(rng, 30) for a in account_ids}
    subsets: dict[tuple[str, str, int, tuple[str, ...]], Record] = {}
    salt = rng.getrandbits(64)
    random_ = rng.random
    bits = rng.getrandbits
    last_second, stamp = -1, ""
    for i in range(n):
        t = prepared[bisect(cumulative, random_() * total)]
        second = (i * span_seconds) // n if n else 0
        if second != last_second:
            last_second = second
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch + second))
        account = account_ids[int(random_() * len(account_ids))]
        pool = callers[account][t.identity_type]
        index = int(random_() * len(pool))
        key = (account, t.identity_type, index, t.replace)
        fields = subsets.get(key)
        if fields is None:
            caller = pool[index][1 if "sessionContext" in t.replace else 0]
            fields = subsets[key] = {k: caller[k] for k in t.replace if k in caller}
        region = "us-east-1" if t.global_region else regions[bisect(region_cumulative, random_() * acc)]
        record = t.base.copy()
        record["userIdentity"] = {**t.identity, **fields}
        record["eventTime"] = stamp
        record["awsRegion"] = region
        record["recipientAccountId"] = account
        if not t.keep_ip:
            ips = addresses[account]
            record["sourceIPAddress"] = ips[int(random_() * len(ips))]
        agents = t.agents
        record["userAgent"] = agents[int(random_() * len(agents))] if len(agents) > 1 else agents[0]
        if "requestID" in record:
            if t.s3_request_id:
                request_id = f"{bits(64):016X}"
            else:
                h = f"{bits(128):032x}"
                request_id = f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
            record["requestID"] = request_id
            if t.ec2_response:
                record["responseElements"] = {**record["responseElements"], "requestId": request_id}
        record["eventID"] = _event_id(i, salt, bits(58))
        if t.tls is not None:
            record["tlsDetails"] = t.tls[region]
        yield record


# -- CloudTrail's S3 layout --------------------------------------------------------------------------

_UNIQUE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _file_name(rng: random.Random, account: str, region: str, last_time: str, gz: bool) -> Path:
    """``AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<16>.json.gz``."""
    year, month, day = last_time[:4], last_time[5:7], last_time[8:10]
    minute = f"{year}{month}{day}T{last_time[11:13]}{last_time[14:16]}Z"
    unique = "".join(rng.choice(_UNIQUE_ALPHABET) for _ in range(16))
    suffix = ".json.gz" if gz else ".json"
    name = f"{account}_CloudTrail_{region}_{minute}_{unique}{suffix}"
    return Path("AWSLogs", account, "CloudTrail", region, year, month, day, name)


def _delivery_window(event_time: str) -> str:
    """``2026-01-01T10:07:31Z`` → ``2026-01-01T10:05``: the five-minute window a record is delivered in."""
    return f"{event_time[:14]}{int(event_time[14:16]) // 5 * 5:02d}"


def write_files(
    out_dir: Path | str,
    n: int,
    *,
    per_file: int = 1_000,
    gz: bool = True,
    seed: int = 1,
    start: datetime | None = None,
    accounts: int = 20,
    regions: Sequence[str] = REGIONS,
    span_seconds: int = SPAN_SECONDS,
) -> list[Path]:
    """Write ``n`` generated records as CloudTrail log files under ``out_dir``; the files written.

    Records go to the file of their account and region (``{"Records": [...]}``); a file is closed at
    ``per_file`` records or when a record falls in a later five-minute delivery window (CloudTrail
    delivers about every five minutes), and is named after its newest record's minute, as
    CloudTrail names deliveries.
    """
    root = Path(out_dir)
    names = random.Random(f"files/{seed}")
    buffers: dict[tuple[str, str], list[Record]] = defaultdict(list)
    windows: dict[tuple[str, str], str] = {}
    written: list[Path] = []

    def flush(account: str, region: str) -> None:
        records = buffers.pop((account, region))
        path = root / _file_name(names, account, region, records[-1]["eventTime"], gz)
        path.parent.mkdir(parents=True, exist_ok=True)
        body = orjson.dumps({"Records": records})
        path.write_bytes(gzip.compress(body, compresslevel=6) if gz else body)
        written.append(path)

    for record in generate(
        n, seed=seed, start=start, accounts=accounts, regions=regions, span_seconds=span_seconds
    ):
        key = (record["recipientAccountId"], record["awsRegion"])
        window = _delivery_window(record["eventTime"])
        if key in buffers and windows.get(key) != window:
            flush(*key)
        windows[key] = window
        buffer = buffers[key]
        buffer.append(record)
        if len(buffer) >= per_file:
            flush(*key)
    for key in sorted(buffers):
        flush(*key)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("n", type=int)
    parser.add_argument("--per-file", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-gzip", action="store_true")
    args = parser.parse_args(argv)
    print(DESCRIPTION)
    started = time.perf_counter()
    files = write_files(args.out_dir, args.n, per_file=args.per_file, gz=not args.no_gzip, seed=args.seed)
    elapsed = time.perf_counter() - started
    print(f"{args.n:,} records in {len(files):,} files under {args.out_dir} in {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
