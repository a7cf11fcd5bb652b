"""Recommendation pipeline: constraints, candidates, scoring, personalisation, ranking."""
