"""Notifications: message templates, e-mail over SMTP, in-app notifications, recipients,
the `notify` action and the in-app notifications API."""
