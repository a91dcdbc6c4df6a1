"""The Discord adapter: an app-commands tree built from the core's registry, embeds and buttons."""
