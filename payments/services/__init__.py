"""Writes: every change to money happens in these services, one transaction per call."""
