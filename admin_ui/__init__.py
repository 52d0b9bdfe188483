"""The web UI: the designer for tenant admins and generated screens for end users."""
