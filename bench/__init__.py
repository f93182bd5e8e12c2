"""`make bench`: timing tables for the engine. Not a test; see bench/README.md."""
