"""Datasets: one folder per data set, in its original format; the procedural generator."""
