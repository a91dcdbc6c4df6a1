"""The built-in ML-engineer roadmap content pack (YAML data only; the loader lives in bot.content)."""
