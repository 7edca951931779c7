"""PagerDuty: pages through the Events API v2 (inbound webhooks live in integrations/alerts)."""
