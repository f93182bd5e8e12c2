"""Notification delivery: messages to customers through their providers, with consent, caps and quiet hours."""
