"""End-to-end tests: `firstline run` as a process against the local fake Bot API."""
