"""Coupons and other rights (权益): templates, claims, wallet, redemption, expiry."""
