"""Operator commands that work against the local cloud and against AWS (docs/operations.md)."""
