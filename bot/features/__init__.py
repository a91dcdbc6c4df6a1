"""One module per command family; each declares its commands on its own COMMANDS registry, which the
composition root (bot/composition/commands.py) puts together."""
