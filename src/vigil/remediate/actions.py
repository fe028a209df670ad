"""The remediation actions: what each one changes, and the exact AWS calls it makes.

An :class:`Action` is data plus two functions. ``plan(ci, params)`` is pure: from the resource's
current CI (a dict in AWS Config's shape) and the user's parameters it works out the calls, each a
:class:`Step` with its parameters and a sentence saying what it would do; a resource that is
already as the action wants it gets a plan without steps. ``apply(session, plan)`` makes the calls
through :meth:`AwsSession.client` in order, stops at the first failure and reports every step's
result; an AWS error is a failed step in the :class:`Outcome`, never swallowed.

Adding an action: one plan function here and one entry in ``ACTIONS``. ``rule_ids`` are the rules
whose findings it resolves (empty: it fits any finding on its resource types, as ``stop-instance``
and ``tag-resource`` do); ``calls`` are the IAM actions it needs, for the docs and for a policy.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from vigil.errors import NoCredentialsError, UsageError
from vigil.model import GLOBAL_REGION
from vigil.remediate import tags

if TYPE_CHECKING:
    from vigil.aws.session import AwsSession

ACCOUNT = "AWS::::Account"
WORLD = {"ipv4": "0.0.0.0/0", "ipv6": "::/0"}


@dataclass(frozen=True)
class Step:
    """One AWS call: ``operation`` is the boto3 method name (``revoke_security_group_ingress``)."""

    service: str
    region: str
    operation: str
    params: Mapping[str, Any]
    description: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "region": self.region,
            "operation": self.operation,
            "params": dict(self.params),
            "description": self.description,
        }


@dataclass(frozen=True)
class Plan:
    """What an action would do to one resource; no steps means the resource needs nothing."""

    action: str
    resource_type: str
    resource_id: str
    region: str
    steps: tuple[Step, ...]
    summary: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "resourceType": self.resource_type,
            "resourceId": self.resource_id,
            "region": self.region,
            "summary": self.summary,
            "steps": [s.as_dict() for s in self.steps],
        }


@dataclass(frozen=True)
class StepResult:
    """A call as it was made (``step``), and its error (``Code: message``) when it failed."""

    step: Step
    ok: bool
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {**self.step.as_dict(), "ok": self.ok, "error": self.error}


@dataclass(frozen=True)
class Outcome:
    """What ``apply`` did: the steps made, in order; the first failure ends the run."""

    plan: Plan
    results: tuple[StepResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results) and len(self.done) == len(self.results)

    @property
    def done(self) -> tuple[StepResult, ...]:
        return tuple(r for r in self.results if r.ok)

    @property
    def failure(self) -> StepResult | None:
        return next((r for r in self.results if not r.ok), None)


@dataclass(frozen=True)
class Param:
    name: str
    description: str
    default: str | None = None
    required: bool = False


PlanFn = Callable[[Mapping[str, Any], Mapping[str, str]], Plan]
ApplyFn = Callable[["AwsSession", Plan], Outcome]


@dataclass(frozen=True)
class Action:
    name: str
    title: str
    resource_types: tuple[str, ...]
    rule_ids: tuple[str, ...]
    calls: tuple[str, ...]
    plan: PlanFn
    apply: ApplyFn
    params: tuple[Param, ...] = ()
    rule_defaults: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    all_regions: bool = False  # an account-wide setting: the account item of every region changes

    def fits(self, rule_id: str, resource_type: str) -> bool:
        """Whether this action can fix a finding of ``rule_id`` on a ``resource_type``."""
        return resource_type in self.resource_types and (not self.rule_ids or rule_id in self.rule_ids)

    def parameters(self, given: Mapping[str, str], rule_id: str = "") -> dict[str, str]:
        """The declared defaults, then the rule's, then ``given``; unknown or missing names are errors."""
        declared = {p.name: p for p in self.params}
        unknown = sorted(set(given) - set(declared))
        if unknown:
            listed = ", ".join(f"{p.name} ({p.description})" for p in self.params) or "none"
            raise UsageError(
                f"action {self.name} has no parameter {', '.join(unknown)}",
                hint=f"its parameters: {listed}",
            )
        out = {p.name: p.default for p in self.params if p.default is not None}
        out |= dict(self.rule_defaults.get(rule_id, {})) | dict(given)
        missing = [p.name for p in self.params if p.required and not out.get(p.name)]
        if missing:
            raise UsageError(
                f"action {self.name} needs {', '.join(missing)}",
                hint=" ".join(f"--param {name}=VALUE" for name in missing),
            )
        return out


# ---------------------------------------------------------------------------------------------
# applying


def run_steps(session: AwsSession, plan: Plan) -> Outcome:
    """Make the plan's calls in order; the first AWS error ends the run and is reported."""
    results: list[StepResult] = []
    for step in plan.steps:
        result = call(session, step)
        results.append(result)
        if not result.ok:
            break
    return Outcome(plan, tuple(results))


def call(session: AwsSession, step: Step) -> StepResult:
    """One call; an AWS error becomes a failed result with its code and message."""
    import botocore.exceptions

    from vigil.aws.session import error_code

    region = None if step.region == GLOBAL_REGION else step.region
    client = session.client(step.service, region)
    try:
        getattr(client, step.operation)(**step.params)
    except botocore.exceptions.NoCredentialsError as exc:
        raise NoCredentialsError(
            "no AWS credentials to remediate with",
            hint="configure a profile (aws configure, --profile) or set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY",
        ) from exc
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        code, message = error_code(exc)
        return StepResult(step, False, f"{code}: {message}")
    return StepResult(step, True)


def _deactivate_keys(session: AwsSession, plan: Plan) -> Outcome:
    """A step without ``AccessKeyId`` means every active key of the user: the key ids are not in the
    CI (the credential report names slots), so they are listed first and each active one updated."""
    import botocore.exceptions

    from vigil.aws.session import error_code

    results: list[StepResult] = []
    for step in plan.steps:
        if "AccessKeyId" in step.params:
            concrete = [step]
        else:
            user = step.params["UserName"]
            try:
                listed = session.client("iam").list_access_keys(UserName=user)["AccessKeyMetadata"]
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                code, message = error_code(exc)
                results.append(
                    StepResult(step, False, f"listing the access keys of {user}: {code}: {message}")
                )
                break
            concrete = [
                Step(
                    step.service,
                    step.region,
                    step.operation,
                    {**step.params, "AccessKeyId": key["AccessKeyId"]},
                    f"deactivate access key {key['AccessKeyId']} of IAM user {user}",
                )
                for key in listed
                if key.get("Status") == "Active"
            ]
        for one in concrete:
            results.append(call(session, one))
            if not results[-1].ok:
                return Outcome(plan, tuple(results))
    return Outcome(plan, tuple(results))


# ---------------------------------------------------------------------------------------------
# plans (pure)


def _plan(action: str, ci: Mapping[str, Any], steps: list[Step], nothing: str) -> Plan:
    summary = "; ".join(f"would {s.description}" for s in steps) if steps else nothing
    return Plan(action, ci["resourceType"], ci["resourceId"], ci["awsRegion"], tuple(steps), summary)


def _conf(ci: Mapping[str, Any]) -> Mapping[str, Any]:
    return ci.get("configuration") or {}


def _supp(ci: Mapping[str, Any]) -> Mapping[str, Any]:
    return ci.get("supplementaryConfiguration") or {}


def _flag(params: Mapping[str, str], name: str) -> bool:
    value = params.get(name, "").strip().lower()
    if value in ("true", "yes", "1", "on"):
        return True
    if value in ("false", "no", "0", "off", ""):
        return False
    raise UsageError(
        f"--param {name}={params[name]!r} is not a boolean", hint=f"write {name}=true or {name}=false"
    )


def parse_ports(text: str, name: str = "ports") -> tuple[tuple[int, int], ...]:
    """``22,3389,8000-8100`` → ((22, 22), (3389, 3389), (8000, 8100)); empty: no ports."""
    out = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        low, _, high = item.partition("-")
        try:
            first, last = int(low), int(high or low)
        except ValueError:
            raise UsageError(
                f"--param {name}={text!r}: {item!r} is not a port or range",
                hint=f"write {name}=22,3389 or {name}=8000-8100",
            ) from None
        if not 0 <= first <= last <= 65535:
            raise UsageError(f"--param {name}={text!r}: {item!r} is outside 0-65535")
        out.append((first, last))
    return tuple(out)


def _port_range(perm: Mapping[str, Any]) -> tuple[int, int]:
    if str(perm.get("ipProtocol")) in ("-1", "all") or perm.get("fromPort") is None:
        return (0, 65535)
    low, high = int(perm["fromPort"]), int(perm.get("toPort", perm["fromPort"]))
    return (0, 65535) if low == -1 else (low, high)


def _ports_text(perm: Mapping[str, Any]) -> str:
    protocol = str(perm.get("ipProtocol"))
    if protocol in ("-1", "all"):
        return "all traffic"
    low, high = _port_range(perm)
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def _world_ranges(perm: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(kind, cidr) of the permission's sources that are the whole internet."""
    v4 = {str(r.get("cidrIp")) for r in perm.get("ipv4Ranges") or [] if isinstance(r, Mapping)}
    v4 |= {r for r in perm.get("ipRanges") or [] if isinstance(r, str)}
    v6 = {str(r.get("cidrIpv6")) for r in perm.get("ipv6Ranges") or [] if isinstance(r, Mapping)}
    return [("ipv4", WORLD["ipv4"])] * (WORLD["ipv4"] in v4) + [("ipv6", WORLD["ipv6"])] * (
        WORLD["ipv6"] in v6
    )


def plan_revoke_ingress(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    """Revoke each ingress permission open to 0.0.0.0/0 or ::/0 that reaches ``ports`` (all ports
    when unset), except those wholly within ``except_ports``."""
    ports = parse_ports(params.get("ports", ""))
    keep = parse_ports(params.get("except_ports", ""), "except_ports")
    group = ci["resourceId"]
    name = _conf(ci).get("groupName") or ci.get("resourceName")
    steps = []
    for perm in _conf(ci).get("ipPermissions") or []:
        low, high = _port_range(perm)
        if ports and not any(a <= high and low <= b for a, b in ports):
            continue
        if any(a <= low and high <= b for a, b in keep):
            continue
        for kind, cidr in _world_ranges(perm):
            spec: dict[str, Any] = {"IpProtocol": str(perm.get("ipProtocol"))}
            if spec["IpProtocol"] not in ("-1", "all"):
                spec |= {"FromPort": int(perm["fromPort"]), "ToPort": int(perm["toPort"])}
            spec |= (
                {"IpRanges": [{"CidrIp": cidr}]} if kind == "ipv4" else {"Ipv6Ranges": [{"CidrIpv6": cidr}]}
            )
            steps.append(
                Step(
                    "ec2",
                    ci["awsRegion"],
                    "revoke_security_group_ingress",
                    {"GroupId": group, "IpPermissions": [spec]},
                    f"revoke {_ports_text(perm)} from {cidr} on {group}" + (f" ({name})" if name else ""),
                )
            )
    wanted = f" to ports {params['ports']}" if params.get("ports") else ""
    return _plan("revoke-ingress", ci, steps, f"{group} allows nothing from 0.0.0.0/0 or ::/0{wanted}")


def plan_s3_default_encryption(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    algorithm = params.get("algorithm", "AES256")
    if algorithm not in ("AES256", "aws:kms", "aws:kms:dsse"):
        raise UsageError(
            f"--param algorithm={algorithm!r} is not an S3 default encryption",
            hint="use AES256 (SSE-S3), aws:kms or aws:kms:dsse",
        )
    key = params.get("kms_key_id") or None
    if key and algorithm == "AES256":
        raise UsageError("--param kms_key_id needs algorithm=aws:kms", hint="add --param algorithm=aws:kms")
    default: dict[str, Any] = {"SSEAlgorithm": algorithm} | ({"KMSMasterKeyID": key} if key else {})
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
    if algorithm != "AES256":
        rule["BucketKeyEnabled"] = _flag({"bucket_key": params.get("bucket_key", "true")}, "bucket_key")
    current = [
        (r.get("applyServerSideEncryptionByDefault") or {})
        for r in (_supp(ci).get("ServerSideEncryptionConfiguration") or {}).get("rules") or []
    ]
    bucket = ci["resourceId"]
    if any(c.get("sseAlgorithm") == algorithm and (c.get("kmsMasterKeyID") or None) == key for c in current):
        return _plan(
            "s3-default-encryption", ci, [], f"{bucket} already encrypts with {algorithm} by default"
        )
    what = algorithm + (f" (key {key})" if key else "")
    step = Step(
        "s3",
        ci["awsRegion"],
        "put_bucket_encryption",
        {"Bucket": bucket, "ServerSideEncryptionConfiguration": {"Rules": [rule]}},
        f"set default encryption {what} on bucket {bucket}",
    )
    return _plan("s3-default-encryption", ci, [step], "")


BLOCK_ALL = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


def _all_blocked(found: Mapping[str, Any] | None) -> bool:
    return bool(found) and all(found.get(k[0].lower() + k[1:]) is True for k in BLOCK_ALL)  # type: ignore[union-attr]


def plan_s3_block_public_access(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    bucket = ci["resourceId"]
    if _all_blocked(_supp(ci).get("PublicAccessBlockConfiguration")):
        return _plan("s3-block-public-access", ci, [], f"{bucket} already blocks all public access")
    step = Step(
        "s3",
        ci["awsRegion"],
        "put_public_access_block",
        {"Bucket": bucket, "PublicAccessBlockConfiguration": dict(BLOCK_ALL)},
        f"turn on all four Block Public Access settings of bucket {bucket}",
    )
    return _plan("s3-block-public-access", ci, [step], "")


def plan_account_block_public_access(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    account = ci["resourceId"]
    if _all_blocked(_conf(ci).get("s3PublicAccessBlock")):
        return _plan(
            "account-block-public-access", ci, [], f"account {account} already blocks S3 public access"
        )
    step = Step(
        "s3control",
        ci["awsRegion"],
        "put_public_access_block",
        {"AccountId": account, "PublicAccessBlockConfiguration": dict(BLOCK_ALL)},
        f"turn on all four S3 Block Public Access settings of account {account}",
    )
    return _plan("account-block-public-access", ci, [step], "")


def plan_deactivate_access_key(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    user = ci.get("resourceName") or _conf(ci).get("userName") or ci["resourceId"]
    key = params.get("key_id")
    base = {"UserName": user, "Status": "Inactive"}
    if key:
        step = Step(
            "iam",
            GLOBAL_REGION,
            "update_access_key",
            base | {"AccessKeyId": key},
            f"deactivate access key {key} of IAM user {user}",
        )
        return _plan("deactivate-access-key", ci, [step], "")
    active = [k.get("slot") for k in _supp(ci).get("AccessKeys") or [] if k.get("active")]
    if not active:
        return _plan("deactivate-access-key", ci, [], f"IAM user {user} has no active access key")
    slots = ", ".join(str(s) for s in active)
    step = Step(
        "iam",
        GLOBAL_REGION,
        "update_access_key",
        base,
        f"deactivate every active access key of IAM user {user} (slot {slots})",
    )
    return _plan("deactivate-access-key", ci, [step], "")


def plan_kms_rotation(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    key = ci["resourceId"]
    if _supp(ci).get("KeyRotationStatus") is True:
        return _plan("kms-enable-rotation", ci, [], f"KMS key {key} already rotates")
    call_params: dict[str, Any] = {"KeyId": key}
    days = params.get("rotation_days")
    if days:
        if not days.isdigit() or not 90 <= int(days) <= 2560:
            raise UsageError(f"--param rotation_days={days!r}: AWS accepts 90 to 2560 days")
        call_params["RotationPeriodInDays"] = int(days)
    every = f" every {days} days" if days else ""
    step = Step(
        "kms",
        ci["awsRegion"],
        "enable_key_rotation",
        call_params,
        f"enable automatic rotation{every} of KMS key {key}",
    )
    return _plan("kms-enable-rotation", ci, [step], "")


def plan_ebs_default_encryption(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    region = ci["awsRegion"]
    key = params.get("kms_key_id")
    steps = []
    if _conf(ci).get("ebsEncryptionByDefault") is not True:
        steps.append(
            Step(
                "ec2",
                region,
                "enable_ebs_encryption_by_default",
                {},
                f"turn on EBS encryption by default in {region}",
            )
        )
    if key:
        steps.append(
            Step(
                "ec2",
                region,
                "modify_ebs_default_kms_key_id",
                {"KmsKeyId": key},
                f"make {key} the default EBS key in {region}",
            )
        )
    return _plan(
        "ebs-encryption-by-default", ci, steps, f"EBS encryption by default is already on in {region}"
    )


def plan_stop_instance(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    instance = ci["resourceId"]
    state = (_conf(ci).get("state") or {}).get("name")
    if state in ("stopped", "stopping", "terminated", "shutting-down"):
        return _plan("stop-instance", ci, [], f"instance {instance} is already {state}")
    call_params: dict[str, Any] = {"InstanceIds": [instance]}
    if _flag(params, "hibernate"):
        call_params["Hibernate"] = True
    name = ci.get("resourceName")
    step = Step(
        "ec2",
        ci["awsRegion"],
        "stop_instances",
        call_params,
        f"stop instance {instance}" + (f" ({name})" if name else ""),
    )
    return _plan("stop-instance", ci, [step], "")


def plan_trail_validation(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    trail = _conf(ci).get("trailARN") or ci.get("arn") or ci["resourceId"]
    if _conf(ci).get("logFileValidationEnabled") is True:
        return _plan(
            "trail-log-file-validation", ci, [], f"trail {ci['resourceId']} already validates log files"
        )
    region = _conf(ci).get("homeRegion") or ci["awsRegion"]
    step = Step(
        "cloudtrail",
        region,
        "update_trail",
        {"Name": trail, "EnableLogFileValidation": True},
        f"enable log file validation (digest files) on trail {ci['resourceId']}",
    )
    return _plan("trail-log-file-validation", ci, [step], "")


def plan_tag(ci: Mapping[str, Any], params: Mapping[str, str]) -> Plan:
    key, value = params["key"], params.get("value", "")
    if (ci.get("tags") or {}).get(key) == value:
        return _plan("tag-resource", ci, [], f"{ci['resourceId']} already has tag {key}={value}")
    return _plan("tag-resource", ci, [tags.step(ci, key, value)], "")


# ---------------------------------------------------------------------------------------------
# the table

SG = ("AWS::EC2::SecurityGroup",)
ADMIN_PORTS = {"ports": "22,3389"}

ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action(
            "revoke-ingress",
            "Revoke security-group ingress open to 0.0.0.0/0 or ::/0",
            SG,
            (
                "restricted-ssh",
                "restricted-rdp",
                "restricted-common-ports",
                "vpc-sg-port-restriction-check",
                "security-group-admin-ports-ipv4-restricted",
                "security-group-admin-ports-ipv6-restricted",
                "security-group-cifs-restricted",
                "vpc-sg-open-only-to-authorized-ports",
            ),
            ("ec2:RevokeSecurityGroupIngress",),
            plan_revoke_ingress,
            run_steps,
            (
                Param("ports", "only permissions reaching these ports (22,3389,8000-8100); default: all"),
                Param("except_ports", "keep permissions wholly within these ports (e.g. 80,443)"),
            ),
            {
                "restricted-ssh": {"ports": "22"},
                "restricted-rdp": {"ports": "3389"},
                "restricted-common-ports": {"ports": "20,21,3389,3306,4333"},
                "vpc-sg-port-restriction-check": ADMIN_PORTS,
                "security-group-admin-ports-ipv4-restricted": ADMIN_PORTS,
                "security-group-admin-ports-ipv6-restricted": ADMIN_PORTS,
                "security-group-cifs-restricted": {"ports": "445"},
                "vpc-sg-open-only-to-authorized-ports": {"except_ports": "80,443"},
            },
        ),
        Action(
            "s3-default-encryption",
            "Turn on an S3 bucket's default encryption",
            ("AWS::S3::Bucket",),
            ("s3-bucket-server-side-encryption-enabled", "s3-default-encryption-kms"),
            ("s3:PutEncryptionConfiguration",),
            plan_s3_default_encryption,
            run_steps,
            (
                Param("algorithm", "AES256 (SSE-S3), aws:kms or aws:kms:dsse", "AES256"),
                Param("kms_key_id", "the KMS key (ARN or id) for aws:kms; default: the aws/s3 key"),
                Param("bucket_key", "use an S3 Bucket Key with KMS (fewer KMS calls)", "true"),
            ),
            {"s3-default-encryption-kms": {"algorithm": "aws:kms"}},
        ),
        Action(
            "s3-block-public-access",
            "Turn on all four Block Public Access settings of an S3 bucket",
            ("AWS::S3::Bucket",),
            ("s3-bucket-level-public-access-prohibited",),
            ("s3:PutBucketPublicAccessBlock",),
            plan_s3_block_public_access,
            run_steps,
        ),
        Action(
            "account-block-public-access",
            "Turn on all four S3 Block Public Access settings of the account",
            (ACCOUNT,),
            ("s3-account-level-public-access-blocks-periodic", "s3-account-level-public-access-blocks"),
            ("s3:PutAccountPublicAccessBlock",),
            plan_account_block_public_access,
            run_steps,
            all_regions=True,
        ),
        Action(
            "deactivate-access-key",
            "Deactivate an IAM user's access keys (all active ones, or key_id)",
            ("AWS::IAM::User",),
            (
                "access-keys-rotated",
                "iam-user-unused-credentials-check",
                "iam-user-unused-credentials-45-days",
                "iam-user-single-active-access-key",
            ),
            ("iam:ListAccessKeys", "iam:UpdateAccessKey"),
            plan_deactivate_access_key,
            _deactivate_keys,
            (Param("key_id", "only this access key id; default: every active key of the user"),),
        ),
        Action(
            "kms-enable-rotation",
            "Turn on automatic rotation of a customer-managed KMS key",
            ("AWS::KMS::Key",),
            ("cmk-backing-key-rotation-enabled",),
            ("kms:EnableKeyRotation",),
            plan_kms_rotation,
            run_steps,
            (Param("rotation_days", "rotation period, 90-2560 days (default: AWS's 365)"),),
        ),
        Action(
            "ebs-encryption-by-default",
            "Turn on EBS encryption by default in the finding's region",
            (ACCOUNT,),
            ("ec2-ebs-encryption-by-default",),
            ("ec2:EnableEbsEncryptionByDefault", "ec2:ModifyEbsDefaultKmsKeyId"),
            plan_ebs_default_encryption,
            run_steps,
            (Param("kms_key_id", "also make this KMS key the default EBS key"),),
        ),
        Action(
            "stop-instance",
            "Stop an EC2 instance (containment; its volumes are kept)",
            ("AWS::EC2::Instance",),
            (),
            ("ec2:StopInstances",),
            plan_stop_instance,
            run_steps,
            (Param("hibernate", "hibernate instead of stopping (the instance must support it)", "false"),),
        ),
        Action(
            "trail-log-file-validation",
            "Turn on a CloudTrail trail's log file validation",
            ("AWS::CloudTrail::Trail",),
            ("cloud-trail-log-file-validation-enabled",),
            ("cloudtrail:UpdateTrail",),
            plan_trail_validation,
            run_steps,
        ),
        Action(
            "tag-resource",
            "Tag the resource (mark it for an owner, quarantine, or a later clean-up)",
            tuple(tags.TAGGERS),
            (),
            tuple(sorted({t.permission for t in tags.TAGGERS.values()})),
            plan_tag,
            run_steps,
            (Param("key", "the tag key", required=True), Param("value", "the tag value", "")),
        ),
    )
}


def fitting(rule_id: str, resource_type: str) -> list[Action]:
    """The actions that can fix a finding of ``rule_id`` on a ``resource_type``, rule-specific first."""
    found = [a for a in ACTIONS.values() if a.fits(rule_id, resource_type)]
    return sorted(found, key=lambda a: (not a.rule_ids, a.name))
