"""Security logic that needs no I/O: authentication throttling and client identification."""
