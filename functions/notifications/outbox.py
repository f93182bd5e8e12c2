"""Publishes the notifications table's outbox (NotificationDelivered, NotificationFailed) from its stream."""

from loyalty.core.outbox import stream_publisher

handler = stream_publisher()
