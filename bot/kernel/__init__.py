"""The vocabulary every layer shares: types, ports, the command registry, replies, member text, dates."""
