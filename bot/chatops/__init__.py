"""Chat-ops helpers shared by every chat platform (no platform imports here)."""
