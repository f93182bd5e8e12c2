"""Publishes the coupons table's outbox (CouponIssued, CouponRedeemed, ...) from its stream."""

from loyalty.core.outbox import stream_publisher

handler = stream_publisher()
