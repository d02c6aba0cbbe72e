"""Batch scoring: many files, in parallel, resumable."""
