"""Publishes the campaigns table's outbox (RewardGranted, IssueCoupon, AwardPoints, ...) from its stream."""

from loyalty.core.outbox import stream_publisher

handler = stream_publisher()
