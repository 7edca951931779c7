"""Paging on-call through PagerDuty and Opsgenie, delivered through the outbox."""
