"""Personal data: data-subject requests — the access bundle of a party (`bundle`), its
erasure (`erasure`, with `scrub` rewriting what Loom's own tables and archives kept of
it), retention by entity (`retention`) — and their log (`log`). See docs/privacy.md."""
