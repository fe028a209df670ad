"""Delivery channels: one module each, one line each in ``CHANNELS`` (DESIGN "How to add").

A channel sends one delivery and says how it went (``Outcome``); retries, dead letters and
bookkeeping are the worker's (``notify/deliver.py``).
"""

from __future__ import annotations

from vigil.notify.channels.base import Channel, ChannelContext, Outcome
from vigil.notify.channels.http import HttpChannel

CHANNELS: dict[str, Channel] = {
    "http": HttpChannel(),
    "https": HttpChannel(),
}

__all__ = ["CHANNELS", "Channel", "ChannelContext", "Outcome"]
