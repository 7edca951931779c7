"""Scheduled work: update reminders, escalations, digests, action-item and postmortem nudges."""
