"""SQLModel tables, the async engine and the repositories that implement bot.kernel.ports.Store."""
