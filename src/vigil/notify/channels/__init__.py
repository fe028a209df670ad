"""Delivery channels: one module each, one line each in ``CHANNELS`` (DESIGN "How to add").

A channel sends one delivery and says how it went (``Outcome``); retries, dead letters and
bookkeeping are the worker's (``notify/deliver.py``).
"""

from __future__ import annotations

from vigil.notify.channels.apprise import AppriseChannel
from vigil.notify.channels.automation import AutomationChannel
from vigil.notify.channels.aws import SnsChannel, SqsChannel
from vigil.notify.channels.base import Channel, ChannelContext, Outcome
from vigil.notify.channels.email import EmailChannel, EmailJsonChannel
from vigil.notify.channels.http import HttpChannel

CHANNELS: dict[str, Channel] = {
    "email": EmailChannel(),
    "email-json": EmailJsonChannel(),
    "http": HttpChannel(),
    "https": HttpChannel(),
    "sms": AppriseChannel(),
    "chat": AppriseChannel(),
    "aws-sns": SnsChannel(),
    "sqs": SqsChannel(),
    "automation": AutomationChannel(),
}

__all__ = ["CHANNELS", "Channel", "ChannelContext", "Outcome"]
