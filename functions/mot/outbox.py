"""Publishes the mot table's outbox (RmMessageRequested, for delivery) from its stream."""

from loyalty.core.outbox import stream_publisher

handler = stream_publisher()
