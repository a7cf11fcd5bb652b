"""Vector store (ChromaDB) and records/feedback (SQL)."""
