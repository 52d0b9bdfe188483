"""An example Loom pack: subscriptions on top of crm_core."""
