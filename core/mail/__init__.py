"""Inbound email: parse raw RFC 822 messages safely and read import files (pure, no database)."""
