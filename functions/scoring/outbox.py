"""Publishes the scoring table's outbox (ScoreChanged, SegmentEntered, SegmentLeft) from its stream."""

from loyalty.core.outbox import stream_publisher

handler = stream_publisher()
