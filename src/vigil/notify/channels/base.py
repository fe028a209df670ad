"""What every channel shares: the outcome of one attempt, and what a channel may use to send."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from vigil.settings import NotifySettings

if TYPE_CHECKING:
    from vigil.notify.envelope import Signer
    from vigil.notify.topics import Subscription
    from vigil.store.outbox import Delivery


@dataclass(frozen=True)
class Outcome:
    """One attempt: delivered, or the error and (when the receiver said so) when to try again."""

    ok: bool
    error: str | None = None
    retry_after: float | None = None  # seconds, from a Retry-After header
    final: bool = False  # a failure no retry can fix (the delivery goes straight to dead)


@dataclass
class ChannelContext:
    """Settings and the (lazily made) signing key, shared by the channels of one worker run."""

    settings: NotifySettings
    base_url: str = "http://127.0.0.1"  # where Vigil publishes its certificate and unsubscribe links
    extra: dict[str, object] = field(default_factory=dict)

    def signed_notification(self, delivery: Delivery) -> dict[str, object]:
        """The delivery as SNS's Notification envelope, signed (SignatureVersion 2) with Vigil's key."""
        from vigil.notify import envelope
        from vigil.settings import local_topic_arn

        document = envelope.notification(
            message_id=delivery.message_id,
            topic_arn=local_topic_arn(delivery.topic),
            message=delivery.message,
            timestamp=delivery.created_at,
            subject=delivery.subject,
            attributes=delivery.attributes or None,
            unsubscribe_url=f"{self.base_url}/notify/unsubscribe?subscription={delivery.subscription}",
            signing_cert_url=f"{self.base_url}/notify/{self.signer.cert_file_name}",
        )
        return self.signer.sign(document, version=2)

    @cached_property
    def signer(self) -> Signer:
        from vigil.notify.envelope import Signer

        return Signer.load_or_create(Path(self.settings.keys_dir))


class Channel(Protocol):
    def send(self, delivery: Delivery, subscription: Subscription, context: ChannelContext) -> Outcome: ...
