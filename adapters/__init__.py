"""Platform adapters: the only code that knows about Slack, Discord or a terminal."""
