"""Security and privacy tests: authentication and permissions on every route, CSRF, rate limits, secrets in
logs, XSS in a real browser, prompt injection, and what reaches an AI provider."""
