"""Between two runs on two emulators, the bench process forgets what the engine cached for the first:
the core's clients, bindings and configuration, and each capability's store."""

from __future__ import annotations


def forget_engine_state() -> None:
    from loyalty.campaigns import service as campaigns
    from loyalty.core.process import forget_process_state
    from loyalty.coupons import service as coupons
    from loyalty.points import service as points
    from loyalty.scoring import service as scoring

    forget_process_state()
    for store in (campaigns.default_store, coupons.default_store, points.default_store, scoring.default_store):
        store.cache_clear()
