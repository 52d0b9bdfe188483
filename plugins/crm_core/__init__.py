"""The crm_core industry pack."""
