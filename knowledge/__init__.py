"""The shared paper store: papers, ingestion and search."""
