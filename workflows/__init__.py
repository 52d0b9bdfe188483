"""Workflows, business rules, background jobs and notifications (see issue 3)."""
