"""Postmortem publishing: a Confluence or Notion page per incident, updated in place."""
