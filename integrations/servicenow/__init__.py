"""ServiceNow: an incident record per sitrep incident (Table API)."""
