"""The roadmap: content loading and validation, search and autocomplete, pace through the stages."""
