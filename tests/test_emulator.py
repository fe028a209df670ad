"""The embedded emulator's own parts: the request log, and the answer for services moto lacks."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest
from botocore.config import Config

from vigil.demo import emulator


def test_requests_are_counted_per_access_key_and_missing_services_answer_plainly() -> None:
    with emulator.start() as em:
        assert em.requests is not None
        account = emulator.new_account(em.endpoint)
        ec2 = account.client("ec2", "eu-west-1")
        ec2.describe_vpcs()
        ec2.describe_subnets()
        account.client("s3").list_buckets()
        counts = em.requests.snapshot()
        assert counts[account.credentials["AccessKeyId"]] == 3
        assert counts[emulator.EMULATOR_KEY_ID] == 1  # the role assumption that made the account

        plain = boto3.client(
            "accessanalyzer",
            region_name="us-east-1",
            endpoint_url=em.endpoint,
            aws_access_key_id=account.credentials["AccessKeyId"],
            aws_secret_access_key=account.credentials["SecretAccessKey"],
            aws_session_token=account.credentials["SessionToken"],
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        with pytest.raises(botocore.exceptions.ClientError) as err:
            plain.list_analyzers()
        response = err.value.response
        assert response["ResponseMetadata"]["HTTPStatusCode"] == 501
        assert "x-amzn-requestid" not in response["ResponseMetadata"].get("HTTPHeaders", {})
        assert em.requests.snapshot()[account.credentials["AccessKeyId"]] == 4
