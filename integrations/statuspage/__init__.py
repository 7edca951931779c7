"""Atlassian Statuspage (REST API v1)."""
