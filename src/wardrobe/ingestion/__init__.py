"""Ingestion pipeline: decode, quality check, detect, classify, tag, colour, embed, store."""
