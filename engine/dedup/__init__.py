"""Duplicate rules at work: matching records against existing ones (`find_duplicates`),
the check at entry, and the duplicate report of an entity."""
from engine.dedup.matching import Match, find_duplicates

__all__ = ["Match", "find_duplicates"]
