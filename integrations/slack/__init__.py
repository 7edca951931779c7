"""Slack: the ChatPort, Block Kit rendering, modals and the pure helpers they share."""
