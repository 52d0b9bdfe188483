"""The built-in industry packs, each a pluggy plugin registered under `loom.plugins`."""
