"""Notifications: ``publish(topic, subject, message, attributes)`` (DESIGN "Notifications").

For now the one publisher keeps every message in the store (``published_messages``) and logs it;
subscriptions, filter policies and channels deliver from there.
"""

from vigil.notify.publish import PublishedMessage, Publisher, StorePublisher, published

__all__ = ["PublishedMessage", "Publisher", "StorePublisher", "published"]
