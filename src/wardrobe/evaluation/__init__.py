"""Evaluation of bundles on held-out data: metrics, the report and its plots."""
