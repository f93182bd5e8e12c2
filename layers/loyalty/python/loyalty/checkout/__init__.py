"""Checkout: several coupons and points on one order under the bank's stacking policy (docs/checkout.md)."""
