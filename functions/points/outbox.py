"""Publishes the points table's outbox (PointsEarned, PointsReversed, PointsExpired, ...) from its stream."""

from loyalty.core.outbox import stream_publisher

handler = stream_publisher()
