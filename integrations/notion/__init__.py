"""Notion: the postmortem as a page of blocks."""
