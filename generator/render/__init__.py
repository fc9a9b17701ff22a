"""Pure, deterministic rendering of content objects into documents (no I/O)."""
