"""Jira Cloud: issues for incidents and action items (REST API v3), and its webhook."""
