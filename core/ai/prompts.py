"""Render the prompt templates in prompts/ (strict: a missing variable is an error)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

TEMPLATES = ("name_system", "name_user", "summary_system", "summary_user")


def as_data(value: object) -> str:
    """Escape customer text so it cannot close or forge the prompt's delimiters."""
    text = str(value)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=PackageLoader("prompts", ""), undefined=StrictUndefined, autoescape=False,
                      keep_trailing_newline=False, trim_blocks=False)
    env.filters["data"] = as_data
    return env


def render(name: str, **context: Any) -> str:
    """Render prompts/<name>.j2 with `context`."""
    return environment().get_template(f"{name}.j2").render(**context).strip()
