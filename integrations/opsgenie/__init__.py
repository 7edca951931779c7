"""Opsgenie: pages through the Alert API (inbound webhooks live in integrations/alerts)."""
