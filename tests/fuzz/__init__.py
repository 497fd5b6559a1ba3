"""Fuzzing: schemathesis against the live OpenAPI schema, and malformed email intake."""
