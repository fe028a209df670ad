"""The demo's notification receivers on loopback: an SMTP server (aiosmtpd) standing in for the
security team's mailbox, and a webhook that verifies Vigil's SNS-style signature and HMAC header as
a real receiver would."""

from __future__ import annotations

import email
import email.policy
import http.server
import socket
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson

from vigil.notify import envelope

HOOK_SECRET = "demo-shared-secret"  # the demo's own: shown to nobody, checked by the receiver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received: (recipients, subject, text body)."""

    received: list[tuple[list[str], str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, env: Any) -> str:
        message = email.message_from_bytes(env.content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""  # type: ignore[union-attr]
        self.received.append((list(env.rcpt_tos), str(message["Subject"]), str(text)))
        return "250 Message accepted for delivery"


@dataclass
class Webhook:
    """A receiver that checks each POST's signature against Vigil's certificate and its HMAC."""

    certificate_pem: str
    received: list[tuple[str, bool, bool]] = field(default_factory=list)  # (subject, signed ok, hmac ok)
    url: str = ""
    server: http.server.ThreadingHTTPServer | None = None

    def start(self) -> None:
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                document = orjson.loads(body)
                signed = envelope.verify(document, outer.certificate_pem)
                mac = envelope.verify_hmac(body, HOOK_SECRET.encode(), self.headers.get(envelope.HMAC_HEADER))
                outer.received.append((str(document.get("Subject", "")), signed, mac))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                return None

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/vigil"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class Receivers:
    mailbox: Mailbox
    smtp_port: int
    webhook: Webhook
    controller: Any

    def stop(self) -> None:
        self.controller.stop()
        self.webhook.stop()


def start(certificate_pem: str) -> Receivers:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = _free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    webhook = Webhook(certificate_pem)
    webhook.start()
    return Receivers(mailbox, port, webhook, controller)


def notify_settings(receivers: Receivers, keys_dir: str) -> dict[str, Any]:
    """The demo's topic: email for critical findings, a signed webhook for high and critical ones,
    and automation that revokes SSH opened to the world as soon as the finding opens."""
    return {
        "keys_dir": keys_dir,
        "smtp": {
            "host": "127.0.0.1",
            "port": receivers.smtp_port,
            "security": "none",
            "sender": "Vigil <vigil@example.com>",
        },
        "topics": [
            {
                "name": "vigil-alerts",
                "subscriptions": [
                    {
                        "protocol": "email",
                        "endpoint": "secops@example.com",
                        "filter_policy": {"kind": ["finding"], "severity": ["critical"], "event": ["opened"]},
                    },
                    {
                        "protocol": "http",
                        "endpoint": receivers.webhook.url,
                        "hmac_secret": HOOK_SECRET,
                        "filter_policy": {"severityRank": [{"numeric": [">=", 3]}]},
                    },
                    {
                        "protocol": "automation",
                        "endpoint": "revoke-ingress",
                        "apply": True,
                        "filter_policy": {"ruleId": ["restricted-ssh"], "event": ["opened"]},
                    },
                ],
            }
        ],
    }
