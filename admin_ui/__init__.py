"""The web UI: the generated screens for end users (and, later, the designer for tenant
admins), as a Flask blueprint under `/t/<tenant>/`."""
