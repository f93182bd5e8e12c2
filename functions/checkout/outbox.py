"""Publishes the checkout table's outbox (CheckoutConfirmed, CheckoutRefunded) from its stream."""

from loyalty.core.outbox import stream_publisher

handler = stream_publisher()
