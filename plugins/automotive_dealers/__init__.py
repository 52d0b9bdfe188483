"""The automotive_dealers industry pack."""
