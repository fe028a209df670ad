"""The embedded AWS emulator: moto's server, in this process, on a free loopback port.

Vigil talks to it over real HTTP with boto3, exactly as to AWS; only the endpoint differs. Used by
``vigil demo``, the tests and the benchmarks.
"""

from __future__ import annotations

import logging
import os
import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import Any

from vigil.errors import EmulatorUnavailable

# Without this, DescribeSnapshots(OwnerIds=['self']) and DescribeImages return about 1,300
# Amazon-owned items per region (measured), which no real account shows.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")

EMULATOR_KEY_ID = "AKIAVIGILDEMO0000000"
EMULATOR_SECRET = "vigil-demo-secret-not-a-real-credential"


# Services Vigil reads that moto does not emulate, by signing name. Without this, moto prints a
# "no backend" notice to stdout and werkzeug a traceback for each call.
MISSING_SERVICES = {"access-analyzer": "IAM Access Analyzer"}


class RequestLog:
    """WSGI middleware counting the requests the emulator serves, per access key id.

    Every signed AWS request names its key in ``Authorization: AWS4-HMAC-SHA256 Credential=<key>/…``;
    each emulator account is reached with keys of its own, so the counts tell who made how many calls
    (the benchmarks compare tools' API calls this way, from the server's side)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        header = environ.get("HTTP_AUTHORIZATION", "")
        _, _, rest = header.partition("Credential=")
        scope = rest.split(",", 1)[0].split("/") if rest else [""]
        with self._lock:
            self.counts[scope[0]] += 1
        service = scope[3] if len(scope) > 3 else ""
        if service in MISSING_SERVICES:
            # what an endpoint without the service answers: no AWS error shape, no request id
            body = f"the embedded emulator (moto) has no {MISSING_SERVICES[service]} backend".encode()
            start_response(
                "501 Not Implemented", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))]
            )
            return [body]
        return self.app(environ, start_response)

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.counts)


@dataclass
class Emulator:
    """A running moto server."""

    server: Any
    endpoint: str
    requests: RequestLog | None = None

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(host: str = "127.0.0.1", port: int = 0) -> Emulator:
    """Start moto's threaded server on ``host:port`` (0: a free port). Binds loopback by default."""
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise EmulatorUnavailable(
            "the embedded AWS emulator (moto) is not installed",
            hint="install Vigil with its emulator extra: pip install 'vigil[emulator]' (make demo does this)",
        ) from exc
    for name in ("werkzeug", "moto"):
        logging.getLogger(name).setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address=host, port=port, verbose=False)
    try:
        server.start()
    except OSError as exc:
        raise EmulatorUnavailable(
            f"cannot start the AWS emulator on {host}:{port}: {exc.strerror}", hint="choose another --port"
        ) from exc
    real_port = server._server.server_port
    log = RequestLog(server._server.app)
    server._server.app = log  # werkzeug's handler reads server.app on every request
    return Emulator(server=server, endpoint=f"http://{host}:{real_port}", requests=log)


def client_environment(endpoint: str, region: str = "us-east-1") -> dict[str, str]:
    """Environment variables that point boto3 (and so Vigil) at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": EMULATOR_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": EMULATOR_SECRET,
        "AWS_DEFAULT_REGION": region,
    }


@dataclass(frozen=True)
class EmulatorAccount:
    """An account of its own on the emulator, reached through a role assumed in it.

    moto keeps each account's resources apart and lets any role be assumed, so every test or
    benchmark that asks for a new account sees only what it creates."""

    account_id: str
    endpoint: str
    credentials: dict[str, Any]
    role_name: str = "vigil-audit"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{self.account_id}:role/{self.role_name}"

    def client(self, service: str, region: str = "us-east-1") -> Any:
        import boto3

        return boto3.client(
            service,
            region_name=region,
            endpoint_url=self.endpoint,
            aws_access_key_id=self.credentials["AccessKeyId"],
            aws_secret_access_key=self.credentials["SecretAccessKey"],
            aws_session_token=self.credentials["SessionToken"],
        )

    def environment(self) -> dict[str, str]:
        """AWS_* variables that make a child process act in this account."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": self.credentials["AccessKeyId"],
            "AWS_SECRET_ACCESS_KEY": self.credentials["SecretAccessKey"],
            "AWS_SESSION_TOKEN": self.credentials["SessionToken"],
        }


def new_account(
    endpoint: str, *, role_name: str = "vigil-audit", account_id: str | None = None
) -> EmulatorAccount:
    """Assume ``role_name`` in a new (random) account on the emulator at ``endpoint``."""
    import boto3

    account_id = account_id or str(random.randint(10**11, 10**12 - 1))
    sts = boto3.client(
        "sts",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=EMULATOR_KEY_ID,
        aws_secret_access_key=EMULATOR_SECRET,
    )
    answer = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role_name}", RoleSessionName="vigil")
    return EmulatorAccount(account_id, endpoint, answer["Credentials"], role_name)
