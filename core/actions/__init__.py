"""Help desk management actions: each one checks permission, applies the rule, audits and commits once."""
