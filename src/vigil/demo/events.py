"""Sample CloudTrail records for ``vigil demo``: half an hour of one account's activity that tells a story.

Quiet routine work (an IAM user in the console and an operator's role session on the command line,
both with MFA) runs through the whole window; over it, the moments a security team wants to hear
about: the root user signs in and acts, an IAM user works without MFA, someone fails to sign in, a
leaked access key is tried against everything and denied, SSH is opened to the world, a bucket
policy is replaced and the trail is stopped. :data:`STORY` names each moment, says what it shows and
which CIS AWS Foundations monitoring controls (v5.0+ numbering, spec §2) its records trip, and builds
its records; :func:`story_segments` returns them per moment and :func:`demo_story` in time order.

The records are shaped as CloudTrail writes them today (spec §6.1–6.2): the field names, order and
types of real records, event versions as each service writes them, sign-ins recorded in us-east-1
like other global events. Nothing is random but the seeded generator: the same arguments give the
same records, event IDs included. Addresses are from the documentation ranges (RFC 5737).
"""

from __future__ import annotations

import copy
import hashlib
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["STORY", "WINDOW", "Segment", "demo_story", "story_segments"]

Record = dict[str, Any]

WINDOW = timedelta(minutes=30)
SIGN_IN_REGION = "us-east-1"  # sign-ins and IAM are global: CloudTrail records them in us-east-1 (spec §6.2)
GLOBAL_SOURCES = frozenset({"iam.amazonaws.com", "signin.amazonaws.com"})

# eventVersion as each service writes its management events (real records, 2024).
EVENT_VERSIONS: dict[str, str] = {
    "cloudtrail.amazonaws.com": "1.10",
    "ec2.amazonaws.com": "1.09",
    "iam.amazonaws.com": "1.09",
    "kms.amazonaws.com": "1.09",
    "lambda.amazonaws.com": "1.08",
    "rds.amazonaws.com": "1.08",
    "s3.amazonaws.com": "1.09",
    "secretsmanager.amazonaws.com": "1.09",
    "signin.amazonaws.com": "1.08",
    "ssm.amazonaws.com": "1.08",
    "sts.amazonaws.com": "1.08",
}

CONSOLE = "console.amazonaws.com"  # the userAgent of calls the console makes on a signed-in user's behalf
BROWSER = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
AWS_CLI = (
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1017-aws exe/x86_64.ubuntu.22 prompt/off command/{command}"
)
BOTO3 = (
    "Boto3/1.34.69 md/Botocore#1.34.69 ua/2.0 os/linux#6.5.0-1017-aws md/arch#x86_64 lang/python#3.11.8 "
    "md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.34.69"
)
LOGIN_TO = "https://console.aws.amazon.com/console/home"
TLS_VERSION, CIPHER_SUITE = "TLSv1.3", "TLS_AES_128_GCM_SHA256"


# -- identities --------------------------------------------------------------------------------------

_KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _stable_id(prefix: str, *parts: str, length: int = 16) -> str:
    """An IAM-style unique id (``AIDA…``, ``AKIA…``) that is the same for the same name in every run."""
    digest = hashlib.sha256("/".join(parts).encode()).digest()
    return prefix + "".join(_KEY_ALPHABET[b % 32] for b in digest[:length])


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Actor:
    """Who calls, from where and with what: the ``userIdentity`` block, a source address, a client."""

    identity: Record
    source_ip: str
    user_agent: str
    console: bool = False


def _session(created: datetime, mfa: bool, issuer: Record | None = None) -> Record:
    return {
        "sessionIssuer": issuer or {},
        "webIdFederationData": {},
        "attributes": {"creationDate": _iso(created), "mfaAuthenticated": "true" if mfa else "false"},
    }


def iam_user(account: str, name: str, *, session: tuple[datetime, bool] | None = None) -> Record:
    """An IAM user calling with its long-term key, or (``session``) a console or session-token session."""
    identity: Record = {
        "type": "IAMUser",
        "principalId": _stable_id("AIDA", account, name, length=17),
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "accessKeyId": _stable_id("AKIA", account, name),
        "userName": name,
    }
    if session is not None:
        identity["accessKeyId"] = _stable_id("ASIA", account, name, _iso(session[0]))
        identity["sessionContext"] = _session(*session)
    return identity


def root_user(account: str, created: datetime, mfa: bool) -> Record:
    """The root user in a console session."""
    return {
        "type": "Root",
        "principalId": account,
        "arn": f"arn:aws:iam::{account}:root",
        "accountId": account,
        "accessKeyId": _stable_id("ASIA", account, "root", _iso(created)),
        "sessionContext": _session(created, mfa),
    }


def assumed_role(account: str, role: str, session_name: str, created: datetime, mfa: bool) -> Record:
    """A role session (``sts:AssumeRole``), with or without MFA."""
    role_id = _stable_id("AROA", account, role, length=17)
    issuer = {
        "type": "Role",
        "principalId": role_id,
        "arn": f"arn:aws:iam::{account}:role/{role}",
        "accountId": account,
        "userName": role,
    }
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session_name}",
        "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session_name}",
        "accountId": account,
        "accessKeyId": _stable_id("ASIA", account, role, session_name),
        "sessionContext": _session(created, mfa, issuer),
    }


def _sign_in_identity(account: str, name: str | None, *, failed: bool) -> Record:
    """``userIdentity`` of a ConsoleLogin record: the documented shapes per variant (spec §6.2)."""
    if name is None:
        principal, arn = account, f"arn:aws:iam::{account}:root"
        return {"type": "Root", "principalId": principal, "arn": arn, "accountId": account, "accessKeyId": ""}
    principal = _stable_id("AIDA", account, name, length=17)
    if failed:
        return {
            "type": "IAMUser",
            "principalId": principal,
            "accountId": account,
            "accessKeyId": "",
            "userName": name,
        }
    return {
        "type": "IAMUser",
        "principalId": principal,
        "arn": f"arn:aws:iam::{account}:user/{name}",
        "accountId": account,
        "userName": name,
    }


# -- the record writer -------------------------------------------------------------------------------


def _host(source: str, region: str, bucket: str | None) -> str:
    """``tlsDetails.clientProvidedHostHeader``: the endpoint the client called."""
    if source == "signin.amazonaws.com":
        return "signin.aws.amazon.com"
    if source == "iam.amazonaws.com":
        return "iam.amazonaws.com"
    if source == "s3.amazonaws.com":
        return f"{bucket}.s3.{region}.amazonaws.com" if bucket else f"s3.{region}.amazonaws.com"
    return f"{source.split('.')[0]}.{region}.amazonaws.com"


@dataclass
class _Writer:
    """Makes records for one story: the account, the place, the clock and the seeded generator."""

    account: str
    region: str
    start: datetime
    security_group_id: str
    bucket: str
    trail: str
    rng: random.Random = field(repr=False)

    def at(self, seconds: float) -> datetime:
        return self.start + timedelta(seconds=int(seconds))

    def uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def s3_request_id(self) -> str:
        return f"{self.rng.getrandbits(64):016X}"

    def call(
        self,
        actor: Actor,
        seconds: float,
        source: str,
        name: str,
        *,
        params: Record | None = None,
        response: Record | None = None,
        read_only: bool = True,
        error: tuple[str, str] | None = None,
    ) -> Record:
        """One API call record, fields in CloudTrail's order."""
        region = SIGN_IN_REGION if source in GLOBAL_SOURCES else self.region
        s3 = source == "s3.amazonaws.com"
        request_id = self.s3_request_id() if s3 else self.uuid()
        bucket = params.get("bucketName") if params else None
        record: Record = {
            "eventVersion": EVENT_VERSIONS[source],
            "userIdentity": copy.deepcopy(actor.identity),
            "eventTime": _iso(self.at(seconds)),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": actor.source_ip,
            "userAgent": actor.user_agent,
        }
        if error is not None:
            record["errorCode"], record["errorMessage"] = error
        record["requestParameters"] = params
        record["responseElements"] = (
            {"requestId": request_id, **response} if response and source == "ec2.amazonaws.com" else response
        )
        if s3:
            record["additionalEventData"] = {
                "SignatureVersion": "SigV4",
                "CipherSuite": CIPHER_SUITE,
                "bytesTransferredIn": 0 if read_only else 312,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": f"{self.rng.getrandbits(256):064x}",
                "bytesTransferredOut": 0,
            }
        record["requestID"] = request_id
        record["eventID"] = self.uuid()
        record["readOnly"] = read_only
        if s3 and bucket:
            record["resources"] = [
                {"accountId": self.account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}
            ]
        record["eventType"] = "AwsApiCall"
        record["managementEvent"] = True
        record["recipientAccountId"] = self.account
        record["eventCategory"] = "Management"
        record["tlsDetails"] = {
            "tlsVersion": TLS_VERSION,
            "cipherSuite": CIPHER_SUITE,
            "clientProvidedHostHeader": _host(source, region, bucket),
        }
        if actor.console:
            record["sessionCredentialFromConsole"] = "true"
        return record

    def sign_in(
        self,
        seconds: float,
        user: str | None,
        source_ip: str,
        *,
        mfa: bool,
        failed: bool = False,
    ) -> Record:
        """A ``ConsoleLogin`` record for IAM user ``user`` (the root user when None)."""
        extra: Record = {"LoginTo": LOGIN_TO, "MobileVersion": "No"}
        if mfa and not failed:
            device = "root-account-mfa-device" if user is None else f"{user}-mfa"
            extra["MFAIdentifier"] = f"arn:aws:iam::{self.account}:mfa/{device}"
        extra["MFAUsed"] = "Yes" if mfa else "No"
        record: Record = {
            "eventVersion": EVENT_VERSIONS["signin.amazonaws.com"],
            "userIdentity": _sign_in_identity(self.account, user, failed=failed),
            "eventTime": _iso(self.at(seconds)),
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "awsRegion": SIGN_IN_REGION,
            "sourceIPAddress": source_ip,
            "userAgent": BROWSER,
        }
        if failed:
            record["errorMessage"] = "Failed authentication"
        record["requestParameters"] = None
        record["responseElements"] = {"ConsoleLogin": "Failure" if failed else "Success"}
        record["additionalEventData"] = extra
        record["eventID"] = self.uuid()
        record["readOnly"] = False
        record["eventType"] = "AwsConsoleSignIn"
        record["managementEvent"] = True
        record["recipientAccountId"] = self.account
        record["eventCategory"] = "Management"
        record["tlsDetails"] = {
            "tlsVersion": TLS_VERSION,
            "cipherSuite": CIPHER_SUITE,
            "clientProvidedHostHeader": _host("signin.amazonaws.com", SIGN_IN_REGION, None),
        }
        return record


# -- what the routine looks like ---------------------------------------------------------------------


@dataclass(frozen=True)
class Read:
    """A read-only call of the routine: service, API name, ``requestParameters`` and the CLI command.

    Strings in ``params`` may name ``{bucket}``, ``{region}`` and ``{trail}``: the story's own.
    """

    source: str
    name: str
    params: Record | None = None
    command: str = ""  # the AWS CLI command that makes it, for the CLI's user agent

    def parameters(self, w: _Writer) -> Record | None:
        return None if self.params is None else _fill(self.params, w)


def _fill(value: Any, w: _Writer) -> Any:
    if isinstance(value, str):
        return value.format(bucket=w.bucket, region=w.region, trail=w.trail)
    if isinstance(value, dict):
        return {k: _fill(v, w) for k, v in value.items()}
    return value


_BUCKET = {"bucketName": "{bucket}", "Host": "{bucket}.s3.{region}.amazonaws.com"}
# fmt: off
READS: tuple[Read, ...] = (
    Read("ec2.amazonaws.com", "DescribeInstances", {"instancesSet": {}, "filterSet": {}}, "ec2.describe-instances"),
    Read("ec2.amazonaws.com", "DescribeSecurityGroups",
         {"securityGroupSet": {}, "securityGroupIdSet": {}, "filterSet": {}}, "ec2.describe-security-groups"),
    Read("ec2.amazonaws.com", "DescribeVpcs", {"vpcSet": {}, "filterSet": {}}, "ec2.describe-vpcs"),
    Read("ec2.amazonaws.com", "DescribeVolumes", {"volumeSet": {}, "filterSet": {}}, "ec2.describe-volumes"),
    Read("ec2.amazonaws.com", "DescribeSubnets", {"subnetSet": {}, "filterSet": {}}, "ec2.describe-subnets"),
    Read("iam.amazonaws.com", "ListUsers", None, "iam.list-users"),
    Read("iam.amazonaws.com", "ListRoles", None, "iam.list-roles"),
    Read("iam.amazonaws.com", "GetAccountSummary", None, "iam.get-account-summary"),
    Read("s3.amazonaws.com", "ListBuckets", {"Host": "s3.{region}.amazonaws.com"}, "s3api.list-buckets"),
    Read("s3.amazonaws.com", "GetBucketEncryption", {**_BUCKET, "encryption": ""}, "s3api.get-bucket-encryption"),
    Read("cloudtrail.amazonaws.com", "DescribeTrails", {"trailNameList": [], "includeShadowTrails": True},
         "cloudtrail.describe-trails"),
    Read("cloudtrail.amazonaws.com", "GetTrailStatus", {"name": "{trail}"}, "cloudtrail.get-trail-status"),
    Read("kms.amazonaws.com", "ListKeys", None, "kms.list-keys"),
    Read("lambda.amazonaws.com", "ListFunctions20150331", None, "lambda.list-functions"),
    Read("sts.amazonaws.com", "GetCallerIdentity", None, "sts.get-caller-identity"),
    Read("secretsmanager.amazonaws.com", "ListSecrets", {}, "secretsmanager.list-secrets"),
)
# fmt: on
BACKGROUND_CALLS = 200


def _background(w: _Writer) -> list[Record]:
    """An IAM user in the console and an operator's role session (CLI and a boto3 script), all with MFA."""
    signed_in = w.at(45)
    alice = Actor(
        iam_user(w.account, "alice", session=(signed_in, True)), "203.0.113.24", CONSOLE, console=True
    )
    session = w.at(0) - timedelta(minutes=20)
    role = assumed_role(w.account, "platform-admin", "sam", session, True)
    records = [w.sign_in(40, "alice", alice.source_ip, mfa=True)]
    for _ in range(BACKGROUND_CALLS):
        read = w.rng.choice(READS)
        who = w.rng.random()
        if who < 0.4:
            actor, earliest = alice, 60
        elif who < 0.8:
            ip = w.rng.choice(("198.51.100.14", "198.51.100.20"))
            actor, earliest = Actor(role, ip, AWS_CLI.format(command=read.command)), 0
        else:
            actor, earliest = Actor(role, "198.51.100.14", BOTO3), 0
        seconds = w.rng.uniform(earliest, WINDOW.total_seconds() - 1)
        records.append(w.call(actor, seconds, read.source, read.name, params=read.parameters(w)))
    return records


def _root(w: _Writer) -> list[Record]:
    ip = "198.51.100.77"
    root = Actor(root_user(w.account, w.at(180), False), ip, CONSOLE, console=True)
    return [
        w.sign_in(180, None, ip, mfa=False),
        w.call(root, 236, "iam.amazonaws.com", "GetAccountSummary"),
    ]


def _failed_sign_in(w: _Writer) -> list[Record]:
    ip = "192.0.2.147"
    return [w.sign_in(seconds, "alice", ip, mfa=True, failed=True) for seconds in (420, 437, 461)]


def _bob_console(w: _Writer) -> Actor:
    return Actor(
        iam_user(w.account, "bob", session=(w.at(600), False)), "203.0.113.88", CONSOLE, console=True
    )


def _no_mfa(w: _Writer) -> list[Record]:
    bob = _bob_console(w)
    records = [w.sign_in(600, "bob", bob.source_ip, mfa=False)]
    names = (
        "DescribeInstances",
        "DescribeSecurityGroups",
        "ListBuckets",
        "ListUsers",
        "DescribeTrails",
        "ListKeys",
    )
    by_name = {read.name: read for read in READS}
    for k, name in enumerate(names):
        read = by_name[name]
        records.append(
            w.call(bob, 640 + 45 * k + w.rng.randrange(20), read.source, read.name, params=read.parameters(w))
        )
    return records


# Calls a leaked key tries, and how each service words its refusal: (source, API, IAM action, resource).
# ``None`` for resource: EC2 Describe* calls, which take no resource; S3 answers "Access Denied".
DENIED: tuple[tuple[str, str, str, str | None], ...] = (
    ("iam.amazonaws.com", "ListUsers", "iam:ListUsers", "arn:aws:iam::{account}:user/"),
    ("ec2.amazonaws.com", "DescribeInstances", "ec2:DescribeInstances", None),
    ("s3.amazonaws.com", "ListBuckets", "s3:ListAllMyBuckets", None),
    ("iam.amazonaws.com", "ListRoles", "iam:ListRoles", "arn:aws:iam::{account}:role/"),
    ("secretsmanager.amazonaws.com", "ListSecrets", "secretsmanager:ListSecrets", "*"),
    ("ec2.amazonaws.com", "DescribeSecurityGroups", "ec2:DescribeSecurityGroups", None),
    ("ssm.amazonaws.com", "DescribeParameters", "ssm:DescribeParameters", "arn:aws:ssm:{region}:{account}:*"),
    ("lambda.amazonaws.com", "ListFunctions20150331", "lambda:ListFunctions", "*"),
    ("kms.amazonaws.com", "ListKeys", "kms:ListKeys", "*"),
    (
        "rds.amazonaws.com",
        "DescribeDBInstances",
        "rds:DescribeDBInstances",
        "arn:aws:rds:{region}:{account}:db:*",
    ),
    ("iam.amazonaws.com", "GetAccountAuthorizationDetails", "iam:GetAccountAuthorizationDetails", "*"),
    ("ec2.amazonaws.com", "DescribeSnapshots", "ec2:DescribeSnapshots", None),
)
DENIED_CALLS = 20


def _denial(source: str, action: str, resource: str | None, arn: str) -> tuple[str, str]:
    """``(errorCode, errorMessage)`` as the service words a refusal by IAM."""
    because = f"because no identity-based policy allows the {action} action"
    if source == "ec2.amazonaws.com":
        return (
            "Client.UnauthorizedOperation",
            f"You are not authorized to perform this operation. User: {arn} is not authorized to perform: "
            f"{action} {because}",
        )
    if source == "s3.amazonaws.com":
        return "AccessDenied", "Access Denied"
    # CloudTrail records "AccessDenied" even for services whose API says AccessDeniedException.
    return (
        "AccessDenied",
        f"User: {arn} is not authorized to perform: {action} on resource: {resource} {because}",
    )


def _denied_burst(w: _Writer) -> list[Record]:
    key = Actor(iam_user(w.account, "ci-deploy"), "192.0.2.33", BOTO3)
    records = [w.call(key, 770, "sts.amazonaws.com", "GetCallerIdentity")]
    by_name = {read.name: read for read in READS}
    for k in range(DENIED_CALLS):
        source, name, action, resource = DENIED[k % len(DENIED)]
        where = resource.format(account=w.account, region=w.region) if resource else None
        read = by_name.get(name)
        params = read.parameters(w) if read else None
        error = _denial(source, action, where, key.identity["arn"])
        records.append(
            w.call(key, 790 + 12 * k + w.rng.randrange(10), source, name, params=params, error=error)
        )
    return records


def _ssh_open(w: _Writer) -> list[Record]:
    alice = "dev-alice"
    ip = "203.0.113.51"
    identity = iam_user(w.account, alice)
    describe = Actor(identity, ip, AWS_CLI.format(command="ec2.describe-security-groups"))
    authorize = Actor(identity, ip, AWS_CLI.format(command="ec2.authorize-security-group-ingress"))
    group = w.security_group_id
    rule_id = f"sgr-{w.rng.getrandbits(68):017x}"
    return [
        w.call(
            describe,
            1125,
            "ec2.amazonaws.com",
            "DescribeSecurityGroups",
            params={
                "securityGroupSet": {},
                "securityGroupIdSet": {"items": [{"groupId": group}]},
                "filterSet": {},
            },
        ),
        w.call(
            authorize,
            1162,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            params={
                "groupId": group,
                "ipPermissions": {},
                "ipProtocol": "tcp",
                "fromPort": 22,
                "toPort": 22,
                "cidrIp": "0.0.0.0/0",
            },
            response={
                "_return": True,
                "securityGroupRuleSet": {
                    "items": [
                        {
                            "groupOwnerId": w.account,
                            "groupId": group,
                            "securityGroupRuleId": rule_id,
                            "isEgress": False,
                            "ipProtocol": "tcp",
                            "fromPort": 22,
                            "toPort": 22,
                            "cidrIpv4": "0.0.0.0/0",
                        }
                    ]
                },
            },
            read_only=False,
        ),
    ]


def _bucket_policy(w: _Writer) -> list[Record]:
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PublicRead",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": f"arn:aws:s3:::{w.bucket}/*",
            }
        ],
    }
    params = {
        "bucketPolicy": policy,
        "bucketName": w.bucket,
        "Host": f"{w.bucket}.s3.{w.region}.amazonaws.com",
        "policy": "",
    }
    return [
        w.call(_bob_console(w), 1318, "s3.amazonaws.com", "PutBucketPolicy", params=params, read_only=False)
    ]


def _trail_stopped(w: _Writer) -> list[Record]:
    arn = f"arn:aws:cloudtrail:{w.region}:{w.account}:trail/{w.trail}"
    return [
        w.call(
            _bob_console(w),
            1504,
            "cloudtrail.amazonaws.com",
            "StopLogging",
            params={"name": arn},
            read_only=False,
        )
    ]


# -- the story -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """One moment of the story: what it shows, the CIS monitoring controls it trips, its records."""

    name: str
    title: str
    shows: str
    controls: tuple[str, ...]
    build: Callable[[_Writer], list[Record]] = field(repr=False)


STORY: tuple[Segment, ...] = (
    Segment(
        "background",
        "Routine work",
        "alice reads in the console and sam's platform-admin role session reads from the CLI and a boto3 "
        "script, all signed in with MFA: about 200 Describe/List/Get calls that should trip nothing.",
        (),
        _background,
    ),
    Segment(
        "root-sign-in",
        "The root user signs in",
        "The root user signs in to the console without MFA from an unfamiliar address and makes an API call.",
        ("5.2", "5.3"),
        _root,
    ),
    Segment(
        "failed-sign-in",
        "Failed sign-ins",
        "Three failed console sign-ins for alice within a minute, from an address she never uses.",
        ("5.6",),
        _failed_sign_in,
    ),
    Segment(
        "no-mfa-session",
        "A session without MFA",
        "bob, who has no MFA device, signs in to the console and works there: every call without MFA.",
        ("5.2",),
        _no_mfa,
    ),
    Segment(
        "access-denied-burst",
        "A leaked key probes the account",
        "ci-deploy's access key, used from an unknown address, checks whose it is and is then refused "
        f"{DENIED_CALLS} times in four minutes across IAM, EC2, S3 and more.",
        ("5.1",),
        _denied_burst,
    ),
    Segment(
        "ssh-open",
        "SSH opened to the world",
        "dev-alice opens TCP 22 to 0.0.0.0/0 on a security group from the AWS CLI.",
        ("5.10",),
        _ssh_open,
    ),
    Segment(
        "bucket-policy",
        "A bucket made public",
        "bob, still without MFA, replaces a bucket's policy with one that lets anyone read its objects.",
        ("5.8",),
        _bucket_policy,
    ),
    Segment(
        "trail-stopped",
        "The trail stops logging",
        "bob stops the account's CloudTrail trail: what happens next would not be recorded.",
        ("5.5",),
        _trail_stopped,
    ),
)


def story_segments(
    account_id: str,
    region: str,
    start: datetime,
    *,
    security_group_id: str,
    seed: int = 7,
    bucket: str | None = None,
    trail: str = "org-audit-trail",
) -> list[tuple[Segment, list[Record]]]:
    """Each segment of :data:`STORY` with its records (each list in time order).

    ``start`` is the first second of the window (a naive datetime is taken as UTC); ``bucket``
    defaults to the demo estate's data bucket in ``region``.
    """
    moment = (start if start.tzinfo else start.replace(tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)
    writer = _Writer(
        account=account_id,
        region=region,
        start=moment,
        security_group_id=security_group_id,
        bucket=bucket or f"vigil-demo-data-{account_id}-{region}-0",
        trail=trail,
        rng=random.Random(seed),
    )
    return [(segment, sorted(segment.build(writer), key=lambda r: r["eventTime"])) for segment in STORY]


def demo_story(
    account_id: str,
    region: str,
    start: datetime,
    *,
    security_group_id: str,
    seed: int = 7,
    bucket: str | None = None,
    trail: str = "org-audit-trail",
) -> list[Record]:
    """Every record of the story, in time order, spanning :data:`WINDOW` from ``start``."""
    segments = story_segments(
        account_id, region, start, security_group_id=security_group_id, seed=seed, bucket=bucket, trail=trail
    )
    return sorted((r for _, records in segments for r in records), key=lambda r: r["eventTime"])
