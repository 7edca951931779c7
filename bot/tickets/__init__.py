"""Tickets in the team's tracker (Jira, ServiceNow) for incidents and their action items."""
