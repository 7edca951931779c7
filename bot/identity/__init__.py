"""Who is acting: API tokens and their scopes."""
