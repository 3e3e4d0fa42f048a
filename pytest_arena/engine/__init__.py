"""The engine: fixtures, workspace, sandbox, tools, dialects, the session and its oracle."""

# Registers Rust and Python in the language registry before anything reads it (languages.py
# cannot import them: builtin_languages imports modules that read the registry).
from . import builtin_languages as _builtin_languages  # noqa: F401
