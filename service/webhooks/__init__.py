"""Webhooks (Standard Webhooks): an outbox written with the domain change, sent later.

`events.emit` writes the outbox rows in the caller's transaction; `dispatcher` signs and
sends them with retries; `endpoints` and `deliveries` are what the API manages.
"""
