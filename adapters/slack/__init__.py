"""The Slack adapter: one /study command, Block Kit messages and the App Home tab."""
