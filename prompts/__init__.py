"""Jinja2 templates for every LLM prompt."""
