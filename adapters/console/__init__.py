"""The terminal adapter: a REPL for people and plain text for scripts; needs no token."""
