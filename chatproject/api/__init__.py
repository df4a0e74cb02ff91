"""API plumbing shared by every app: errors, parsing, throttles, health."""
