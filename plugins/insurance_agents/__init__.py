"""The insurance_agents industry pack."""
