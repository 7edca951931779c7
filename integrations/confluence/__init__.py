"""Confluence Cloud: the postmortem as a page in storage format."""
