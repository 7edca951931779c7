"""The web UI's pure parts: session tokens and server-rendered HTML pages."""
