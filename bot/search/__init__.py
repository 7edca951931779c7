"""Full-text search over incidents: query parsing, snippets, the store protocol, the service."""
