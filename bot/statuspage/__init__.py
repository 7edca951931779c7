"""Public updates on an Atlassian Statuspage page: previewed, confirmed, then published."""
