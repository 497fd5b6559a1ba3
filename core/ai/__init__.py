"""AI features: ticket names and summaries (litellm or the built-in offline model)."""
