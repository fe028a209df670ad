"""``RESOURCE_TYPES``: every resource type Vigil records, in one explicit table.

Each entry names the AWS Config type string, the boto3 service, the collector
(``collect(fx, region, ids) -> Batch``), whether the type is regional or global (IAM: recorded once
with ``awsRegion: "global"``), the CloudTrail events that change it with the JMESPath(s) to the
resource ids (or names/ARNs) inside each record, and volatile paths (usage timestamps that refresh
the current CI instead of growing its history).

To add a type: write its collector in ``<service>.py`` and add one entry here. The meta-test
records every entry from moto and checks the CI's shape, so a type without a test fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from vigil.aws.resources import (
    account,
    awslambda,
    cloudtrail,
    cloudwatch,
    config,
    ec2,
    ecr,
    efs,
    elbv2,
    guardduty,
    iam,
    kms,
    logs,
    rds,
    s3,
    secretsmanager,
    sns,
    sqs,
)
from vigil.aws.resources.base import Batch, Fetch

Collector = Callable[[Fetch, str, frozenset[str] | None], Batch]


@dataclass(frozen=True)
class ChangeEvent:
    """CloudTrail events (one source, several names) that change resources of a type.

    ``paths`` are JMESPath expressions into the record; each yields an id, name or ARN, or a list of
    them. ``prefix`` keeps only values that start with it (EC2's shared events such as CreateTags
    name resources of every type)."""

    source: str
    names: tuple[str, ...]
    paths: tuple[str, ...]
    prefix: str = ""
    everywhere: bool = False  # an account-wide setting: re-record the type in every region


@dataclass(frozen=True)
class ResourceType:
    name: str
    service: str
    collect: Collector
    scope: Literal["regional", "global"]
    events: tuple[ChangeEvent, ...]
    volatile: tuple[str, ...] = ()

    @property
    def short(self) -> str:
        return self.name.split("::")[-1]


def on(source: str, names: str, *paths: str, prefix: str = "", everywhere: bool = False) -> ChangeEvent:
    """A ``ChangeEvent`` from a space-separated list of event names (keeps the table readable)."""
    return ChangeEvent(source, tuple(names.split()), paths, prefix, everywhere)


def _ec2(names: str, prefix: str, *paths: str) -> tuple[ChangeEvent, ...]:
    """EC2 events for one type, plus the tag events shared by every EC2 type."""
    tags = on(
        _EC2, "CreateTags DeleteTags", "requestParameters.resourcesSet.items[].resourceId", prefix=prefix
    )
    return (on(_EC2, names, *paths, prefix=prefix), tags)


_IAM = "iam.amazonaws.com"
_EC2 = "ec2.amazonaws.com"
# Account-wide settings change the account's own item; its id is the account id in the record.
ACCOUNT_PATH = "recipientAccountId"

RESOURCE_TYPES: dict[str, ResourceType] = {
    t.name: t
    for t in (
        ResourceType(
            account.ACCOUNT,
            "iam",
            account.collect_account,
            "regional",
            (
                on(
                    _IAM,
                    (
                        "UpdateAccountPasswordPolicy DeleteAccountPasswordPolicy CreateAccessKey "
                        "DeleteAccessKey EnableMFADevice DeactivateMFADevice CreateUser DeleteUser"
                    ),
                    ACCOUNT_PATH,
                ),
                on(
                    _EC2,
                    (
                        "EnableEbsEncryptionByDefault DisableEbsEncryptionByDefault "
                        "ModifyEbsDefaultKmsKeyId ResetEbsDefaultKmsKeyId"
                    ),
                    ACCOUNT_PATH,
                ),
                on(
                    "s3.amazonaws.com",
                    "PutAccountPublicAccessBlock DeleteAccountPublicAccessBlock",
                    ACCOUNT_PATH,
                    everywhere=True,
                ),
                on(
                    "account.amazonaws.com",
                    "PutAlternateContact DeleteAlternateContact",
                    ACCOUNT_PATH,
                    everywhere=True,
                ),
                on("access-analyzer.amazonaws.com", "CreateAnalyzer DeleteAnalyzer", ACCOUNT_PATH),
                on(
                    "securityhub.amazonaws.com",
                    "EnableSecurityHub DisableSecurityHub BatchEnableStandards BatchDisableStandards",
                    ACCOUNT_PATH,
                ),
                on(
                    "config.amazonaws.com",
                    (
                        "PutConfigurationRecorder DeleteConfigurationRecorder StartConfigurationRecorder "
                        "StopConfigurationRecorder"
                    ),
                    ACCOUNT_PATH,
                ),
                on("guardduty.amazonaws.com", "CreateDetector DeleteDetector", ACCOUNT_PATH),
            ),
            volatile=account.VOLATILE,
        ),
        ResourceType(
            iam.USER,
            "iam",
            iam.collect_users,
            "global",
            (
                on(
                    _IAM,
                    (
                        "CreateUser DeleteUser UpdateUser TagUser UntagUser AttachUserPolicy "
                        "DetachUserPolicy PutUserPolicy DeleteUserPolicy AddUserToGroup "
                        "RemoveUserFromGroup CreateLoginProfile UpdateLoginProfile DeleteLoginProfile "
                        "CreateAccessKey UpdateAccessKey DeleteAccessKey EnableMFADevice "
                        "DeactivateMFADevice PutUserPermissionsBoundary DeleteUserPermissionsBoundary"
                    ),
                    "requestParameters.userName",
                    "responseElements.user.userId",
                ),
            ),
            volatile=iam.USER_VOLATILE,
        ),
        ResourceType(
            iam.ROLE,
            "iam",
            iam.collect_roles,
            "global",
            (
                on(
                    _IAM,
                    (
                        "CreateRole DeleteRole UpdateRole UpdateRoleDescription UpdateAssumeRolePolicy "
                        "TagRole UntagRole AttachRolePolicy DetachRolePolicy PutRolePolicy "
                        "DeleteRolePolicy PutRolePermissionsBoundary DeleteRolePermissionsBoundary"
                    ),
                    "requestParameters.roleName",
                    "responseElements.role.roleId",
                ),
            ),
            volatile=iam.ROLE_VOLATILE,
        ),
        ResourceType(
            iam.POLICY,
            "iam",
            iam.collect_policies,
            "global",
            (
                on(
                    _IAM,
                    (
                        "CreatePolicy DeletePolicy CreatePolicyVersion DeletePolicyVersion "
                        "SetDefaultPolicyVersion TagPolicy UntagPolicy AttachUserPolicy DetachUserPolicy "
                        "AttachRolePolicy DetachRolePolicy AttachGroupPolicy DetachGroupPolicy"
                    ),
                    "requestParameters.policyArn",
                    "responseElements.policy.policyId",
                ),
            ),
        ),
        ResourceType(
            ec2.INSTANCE,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.INSTANCE]),
            "regional",
            _ec2(
                (
                    "RunInstances TerminateInstances StartInstances StopInstances "
                    "ModifyInstanceAttribute ModifyInstanceMetadataOptions "
                    "AssociateIamInstanceProfile DisassociateIamInstanceProfile "
                    "ReplaceIamInstanceProfileAssociation AttachVolume DetachVolume MonitorInstances "
                    "UnmonitorInstances AssociateAddress"
                ),
                "i-",
                "requestParameters.instancesSet.items[].instanceId",
                "responseElements.instancesSet.items[].instanceId",
                "requestParameters.instanceId",
                "requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId",
                "requestParameters.AssociateIamInstanceProfileRequest.InstanceId",
            ),
        ),
        ResourceType(
            ec2.VOLUME,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.VOLUME]),
            "regional",
            _ec2(
                ("CreateVolume DeleteVolume AttachVolume DetachVolume ModifyVolume ModifyVolumeAttribute"),
                "vol-",
                "requestParameters.volumeId",
                "responseElements.volumeId",
                "requestParameters.ModifyVolumeRequest.VolumeId",
            ),
        ),
        ResourceType(
            ec2.SECURITY_GROUP,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.SECURITY_GROUP]),
            "regional",
            _ec2(
                (
                    "CreateSecurityGroup DeleteSecurityGroup AuthorizeSecurityGroupIngress "
                    "AuthorizeSecurityGroupEgress RevokeSecurityGroupIngress "
                    "RevokeSecurityGroupEgress ModifySecurityGroupRules "
                    "UpdateSecurityGroupRuleDescriptionsIngress "
                    "UpdateSecurityGroupRuleDescriptionsEgress RunInstances "
                    "ModifyNetworkInterfaceAttribute"
                ),
                "sg-",
                "requestParameters.groupId",
                "responseElements.groupId",
                "requestParameters.ModifySecurityGroupRulesRequest.GroupId",
                "requestParameters.groupSet.items[].groupId",
                "responseElements.instancesSet.items[].groupSet.items[].groupId",
            ),
        ),
        ResourceType(
            ec2.NETWORK_INTERFACE,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.NETWORK_INTERFACE]),
            "regional",
            _ec2(
                (
                    "CreateNetworkInterface DeleteNetworkInterface AttachNetworkInterface "
                    "ModifyNetworkInterfaceAttribute RunInstances AssociateAddress"
                ),
                "eni-",
                "requestParameters.networkInterfaceId",
                "responseElements.networkInterface.networkInterfaceId",
                "responseElements.instancesSet.items[].networkInterfaceSet.items[].networkInterfaceId",
            ),
        ),
        ResourceType(
            ec2.VPC,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.VPC]),
            "regional",
            _ec2(
                (
                    "CreateVpc DeleteVpc ModifyVpcAttribute AssociateVpcCidrBlock "
                    "DisassociateVpcCidrBlock AttachInternetGateway DetachInternetGateway "
                    "CreateSubnet CreateSecurityGroup CreateRouteTable CreateNetworkAcl"
                ),
                "vpc-",
                "requestParameters.vpcId",
                "responseElements.vpc.vpcId",
            ),
        ),
        ResourceType(
            ec2.SUBNET,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.SUBNET]),
            "regional",
            _ec2(
                (
                    "CreateSubnet DeleteSubnet ModifySubnetAttribute AssociateRouteTable "
                    "AssociateSubnetCidrBlock DisassociateSubnetCidrBlock"
                ),
                "subnet-",
                "requestParameters.subnetId",
                "responseElements.subnet.subnetId",
            ),
        ),
        ResourceType(
            ec2.INTERNET_GATEWAY,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.INTERNET_GATEWAY]),
            "regional",
            _ec2(
                ("CreateInternetGateway DeleteInternetGateway AttachInternetGateway DetachInternetGateway"),
                "igw-",
                "requestParameters.internetGatewayId",
                "responseElements.internetGateway.internetGatewayId",
            ),
        ),
        ResourceType(
            ec2.ROUTE_TABLE,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.ROUTE_TABLE]),
            "regional",
            _ec2(
                (
                    "CreateRouteTable DeleteRouteTable CreateRoute ReplaceRoute DeleteRoute "
                    "AssociateRouteTable ReplaceRouteTableAssociation"
                ),
                "rtb-",
                "requestParameters.routeTableId",
                "responseElements.routeTable.routeTableId",
            ),
        ),
        ResourceType(
            ec2.NETWORK_ACL,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.NETWORK_ACL]),
            "regional",
            _ec2(
                (
                    "CreateNetworkAcl DeleteNetworkAcl CreateNetworkAclEntry ReplaceNetworkAclEntry "
                    "DeleteNetworkAclEntry ReplaceNetworkAclAssociation"
                ),
                "acl-",
                "requestParameters.networkAclId",
                "responseElements.networkAcl.networkAclId",
            ),
        ),
        ResourceType(
            s3.BUCKET,
            "s3",
            s3.collect_buckets,
            "regional",
            (
                on(
                    "s3.amazonaws.com",
                    (
                        "CreateBucket DeleteBucket PutBucketPolicy DeleteBucketPolicy PutBucketAcl "
                        "PutBucketEncryption DeleteBucketEncryption PutBucketPublicAccessBlock "
                        "DeleteBucketPublicAccessBlock PutBucketVersioning PutBucketLogging "
                        "PutBucketOwnershipControls DeleteBucketOwnershipControls PutBucketTagging "
                        "DeleteBucketTagging"
                    ),
                    "requestParameters.bucketName",
                ),
            ),
        ),
        ResourceType(
            kms.KEY,
            "kms",
            kms.collect_keys,
            "regional",
            (
                on(
                    "kms.amazonaws.com",
                    (
                        "CreateKey EnableKeyRotation DisableKeyRotation PutKeyPolicy ScheduleKeyDeletion "
                        "CancelKeyDeletion EnableKey DisableKey TagResource UntagResource CreateAlias "
                        "UpdateAlias DeleteAlias"
                    ),
                    "requestParameters.keyId",
                    "responseElements.keyMetadata.keyId",
                    "requestParameters.targetKeyId",
                ),
            ),
        ),
        ResourceType(
            cloudtrail.TRAIL,
            "cloudtrail",
            cloudtrail.collect_trails,
            "regional",
            (
                on(
                    "cloudtrail.amazonaws.com",
                    (
                        "CreateTrail UpdateTrail DeleteTrail StartLogging StopLogging PutEventSelectors "
                        "PutInsightSelectors AddTags RemoveTags"
                    ),
                    "requestParameters.name",
                    "requestParameters.trailName",
                    "requestParameters.resourceId",
                    "responseElements.trailARN",
                ),
            ),
            volatile=cloudtrail.VOLATILE,
        ),
        ResourceType(
            iam.GROUP,
            "iam",
            iam.collect_groups,
            "global",
            (
                on(
                    _IAM,
                    (
                        "CreateGroup DeleteGroup UpdateGroup AttachGroupPolicy DetachGroupPolicy "
                        "PutGroupPolicy DeleteGroupPolicy AddUserToGroup RemoveUserFromGroup"
                    ),
                    "requestParameters.groupName",
                    "responseElements.group.groupId",
                ),
            ),
        ),
        ResourceType(
            ec2.SNAPSHOT,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.SNAPSHOT]),
            "regional",
            _ec2(
                (
                    "CreateSnapshot CopySnapshot DeleteSnapshot ModifySnapshotAttribute "
                    "ResetSnapshotAttribute ModifySnapshotTier RestoreSnapshotTier"
                ),
                "snap-",
                "responseElements.snapshotId",
                "requestParameters.snapshotId",
                "requestParameters.*.SnapshotId",
            ),
        ),
        ResourceType(
            ec2.NAT_GATEWAY,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.NAT_GATEWAY]),
            "regional",
            _ec2(
                (
                    "CreateNatGateway DeleteNatGateway AssociateNatGatewayAddress "
                    "DisassociateNatGatewayAddress AssignPrivateNatGatewayAddress "
                    "UnassignPrivateNatGatewayAddress"
                ),
                "nat-",
                "responseElements.CreateNatGatewayResponse.natGateway.natGatewayId",
                "requestParameters.*.NatGatewayId",
            ),
        ),
        ResourceType(
            ec2.EIP,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.EIP]),
            "regional",
            (
                *_ec2(
                    "AllocateAddress ReleaseAddress AssociateAddress DisassociateAddress",
                    "eipalloc-",
                    "responseElements.allocationId",
                    "requestParameters.allocationId",
                ),
                # EC2-Classic style calls name the address by its public IP (the EIP's resourceName).
                on(_EC2, "AssociateAddress DisassociateAddress ReleaseAddress", "requestParameters.publicIp"),
            ),
        ),
        ResourceType(
            ec2.FLOW_LOG,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.FLOW_LOG]),
            "regional",
            _ec2(
                "CreateFlowLogs DeleteFlowLogs",
                "fl-",
                "responseElements.CreateFlowLogsResponse.flowLogIdSet.item",
                "requestParameters.DeleteFlowLogsRequest.FlowLogId.content",
                "requestParameters.DeleteFlowLogsRequest.FlowLogId[].content",
            ),
        ),
        ResourceType(
            ec2.PEERING,
            "ec2",
            ec2.collector(ec2.KINDS[ec2.PEERING]),
            "regional",
            _ec2(
                (
                    "CreateVpcPeeringConnection AcceptVpcPeeringConnection RejectVpcPeeringConnection "
                    "DeleteVpcPeeringConnection ModifyVpcPeeringConnectionOptions"
                ),
                "pcx-",
                "responseElements.vpcPeeringConnection.vpcPeeringConnectionId",
                "requestParameters.vpcPeeringConnectionId",
                "requestParameters.*.VpcPeeringConnectionId",
            ),
        ),
        ResourceType(
            logs.LOG_GROUP,
            "logs",
            logs.collect_log_groups,
            "regional",
            (
                on(
                    "logs.amazonaws.com",
                    (
                        "CreateLogGroup DeleteLogGroup PutRetentionPolicy DeleteRetentionPolicy "
                        "AssociateKmsKey DisassociateKmsKey PutMetricFilter DeleteMetricFilter "
                        "TagLogGroup UntagLogGroup TagResource UntagResource PutDataProtectionPolicy "
                        "DeleteDataProtectionPolicy"
                    ),
                    "requestParameters.logGroupName",
                    "requestParameters.logGroupIdentifier",
                    "requestParameters.resourceArn",
                ),
                # the trail that delivers to a group is on the group's item too
                on(
                    "cloudtrail.amazonaws.com",
                    "CreateTrail UpdateTrail",
                    "requestParameters.cloudWatchLogsLogGroupArn",
                ),
            ),
            volatile=logs.VOLATILE,
        ),
        ResourceType(
            cloudwatch.ALARM,
            "cloudwatch",
            cloudwatch.collect_alarms,
            "regional",
            (
                on(
                    "monitoring.amazonaws.com",
                    (
                        "PutMetricAlarm DeleteAlarms EnableAlarmActions DisableAlarmActions "
                        "TagResource UntagResource"
                    ),
                    "requestParameters.alarmName",
                    "requestParameters.alarmNames[]",
                    "requestParameters.resourceARN",
                ),
            ),
            volatile=cloudwatch.VOLATILE,
        ),
        ResourceType(
            sns.TOPIC,
            "sns",
            sns.collect_topics,
            "regional",
            (
                on(
                    "sns.amazonaws.com",
                    (
                        "CreateTopic DeleteTopic SetTopicAttributes Subscribe ConfirmSubscription "
                        "Unsubscribe AddPermission RemovePermission TagResource UntagResource "
                        "PutDataProtectionPolicy"
                    ),
                    "requestParameters.topicArn",
                    "responseElements.topicArn",
                    "requestParameters.resourceArn",
                    # Unsubscribe names only the subscription (``<topic ARN>:<id>``)
                    "requestParameters.subscriptionArn",
                ),
            ),
        ),
        ResourceType(
            sqs.QUEUE,
            "sqs",
            sqs.collect_queues,
            "regional",
            (
                on(
                    "sqs.amazonaws.com",
                    (
                        "CreateQueue DeleteQueue SetQueueAttributes TagQueue UntagQueue AddPermission "
                        "RemovePermission"
                    ),
                    "requestParameters.queueUrl",
                    "responseElements.queueUrl",
                ),
                # a topic subscribing the queue (the endpoint is the queue's ARN)
                on("sns.amazonaws.com", "Subscribe", "requestParameters.endpoint", prefix="arn:"),
            ),
        ),
        ResourceType(
            config.RECORDER,
            "config",
            config.collect_recorders,
            "regional",
            (
                on(
                    "config.amazonaws.com",
                    (
                        "PutConfigurationRecorder DeleteConfigurationRecorder "
                        "StartConfigurationRecorder StopConfigurationRecorder"
                    ),
                    "requestParameters.configurationRecorder.name",
                    "requestParameters.configurationRecorderName",
                ),
                # a region's one delivery channel belongs to its recorder, whatever the two are named
                on("config.amazonaws.com", "PutDeliveryChannel DeleteDeliveryChannel", ACCOUNT_PATH),
            ),
            volatile=config.VOLATILE,
        ),
        ResourceType(
            rds.DB_INSTANCE,
            "rds",
            rds.collect_db_instances,
            "regional",
            (
                on(
                    "rds.amazonaws.com",
                    (
                        "CreateDBInstance DeleteDBInstance ModifyDBInstance RebootDBInstance "
                        "StartDBInstance StopDBInstance CreateDBInstanceReadReplica PromoteReadReplica "
                        "RestoreDBInstanceFromDBSnapshot RestoreDBInstanceFromS3 "
                        "RestoreDBInstanceToPointInTime AddTagsToResource RemoveTagsFromResource"
                    ),
                    "requestParameters.dBInstanceIdentifier",
                    "requestParameters.newDBInstanceIdentifier",
                    "requestParameters.targetDBInstanceIdentifier",
                    "responseElements.dbiResourceId",
                    "requestParameters.resourceName",
                ),
            ),
            volatile=rds.INSTANCE_VOLATILE,
        ),
        ResourceType(
            rds.DB_SNAPSHOT,
            "rds",
            rds.collect_db_snapshots,
            "regional",
            (
                on(
                    "rds.amazonaws.com",
                    (
                        "CreateDBSnapshot DeleteDBSnapshot CopyDBSnapshot ModifyDBSnapshot "
                        "ModifyDBSnapshotAttribute AddTagsToResource RemoveTagsFromResource"
                    ),
                    "requestParameters.dBSnapshotIdentifier",
                    "requestParameters.targetDBSnapshotIdentifier",
                    "requestParameters.resourceName",
                ),
            ),
        ),
        ResourceType(
            awslambda.FUNCTION,
            "lambda",
            awslambda.collect_functions,
            "regional",
            (
                on(
                    "lambda.amazonaws.com",
                    (
                        "CreateFunction20150331 DeleteFunction20150331 UpdateFunctionCode20150331v2 "
                        "UpdateFunctionConfiguration20150331v2 AddPermission20150331v2 "
                        "RemovePermission20150331v2 TagResource20170331v2 UntagResource20170331v2 "
                        "TagResource20170331 UntagResource20170331 PutFunctionConcurrency20171031 "
                        "DeleteFunctionConcurrency20171031"
                    ),
                    "requestParameters.functionName",
                    "responseElements.functionName",
                    "requestParameters.resource",
                ),
            ),
        ),
        ResourceType(
            elbv2.LOAD_BALANCER,
            "elbv2",
            elbv2.collect_load_balancers,
            "regional",
            (
                on(
                    "elasticloadbalancing.amazonaws.com",
                    (
                        "CreateLoadBalancer DeleteLoadBalancer ModifyLoadBalancerAttributes "
                        "SetSecurityGroups SetSubnets SetIpAddressType CreateListener DeleteListener "
                        "ModifyListener AddListenerCertificates RemoveListenerCertificates "
                        "RegisterTargets DeregisterTargets ModifyTargetGroup "
                        "ModifyTargetGroupAttributes AddTags RemoveTags"
                    ),
                    "requestParameters.loadBalancerArn",
                    "responseElements.loadBalancers[].loadBalancerArn",
                    "requestParameters.listenerArn",
                    "requestParameters.targetGroupArn",
                    "requestParameters.resourceArns[]",
                ),
            ),
            volatile=elbv2.VOLATILE,
        ),
        ResourceType(
            efs.FILE_SYSTEM,
            "efs",
            efs.collect_file_systems,
            "regional",
            (
                on(
                    "elasticfilesystem.amazonaws.com",
                    (
                        "CreateFileSystem DeleteFileSystem UpdateFileSystem PutBackupPolicy "
                        "PutFileSystemPolicy DeleteFileSystemPolicy PutLifecycleConfiguration "
                        "CreateMountTarget DeleteMountTarget ModifyMountTargetSecurityGroups "
                        "CreateTags DeleteTags TagResource UntagResource"
                    ),
                    "requestParameters.fileSystemId",
                    "responseElements.fileSystemId",
                    "requestParameters.mountTargetId",
                    "requestParameters.resourceId",
                ),
            ),
            volatile=efs.VOLATILE,
        ),
        ResourceType(
            guardduty.DETECTOR,
            "guardduty",
            guardduty.collect_detectors,
            "regional",
            (
                on(
                    "guardduty.amazonaws.com",
                    "CreateDetector UpdateDetector DeleteDetector TagResource UntagResource",
                    "requestParameters.detectorId",
                    "responseElements.detectorId",
                    "requestParameters.resourceArn",
                ),
            ),
        ),
        ResourceType(
            secretsmanager.SECRET,
            "secretsmanager",
            secretsmanager.collect_secrets,
            "regional",
            (
                on(
                    "secretsmanager.amazonaws.com",
                    (
                        "CreateSecret DeleteSecret RestoreSecret UpdateSecret PutSecretValue "
                        "UpdateSecretVersionStage RotateSecret CancelRotateSecret PutResourcePolicy "
                        "DeleteResourcePolicy TagResource UntagResource ReplicateSecretToRegions "
                        "RemoveRegionsFromReplication"
                    ),
                    "requestParameters.secretId",
                    "requestParameters.name",
                    "responseElements.arn",
                ),
            ),
            volatile=secretsmanager.VOLATILE,
        ),
        ResourceType(
            ecr.REPOSITORY,
            "ecr",
            ecr.collect_repositories,
            "regional",
            (
                on(
                    "ecr.amazonaws.com",
                    (
                        "CreateRepository DeleteRepository SetRepositoryPolicy DeleteRepositoryPolicy "
                        "PutLifecyclePolicy DeleteLifecyclePolicy PutImageScanningConfiguration "
                        "PutImageTagMutability TagResource UntagResource"
                    ),
                    "requestParameters.repositoryName",
                    "requestParameters.resourceArn",
                ),
            ),
        ),
    )
}


def selected_types(
    include: list[str] | tuple[str, ...] = (), exclude: list[str] | tuple[str, ...] = ()
) -> list[ResourceType]:
    """The table's entries to record: all, or ``include`` only, minus ``exclude`` (names already validated)."""
    names = include or list(RESOURCE_TYPES)
    return [RESOURCE_TYPES[n] for n in names if n not in set(exclude)]
