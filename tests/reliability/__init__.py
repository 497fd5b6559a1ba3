"""Reliability tests: a concurrency soak, fault injection at the database boundary, a server killed mid-action."""
