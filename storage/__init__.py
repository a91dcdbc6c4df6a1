"""SQLModel tables, the async engine and the repositories that implement bot.ports.Store."""
