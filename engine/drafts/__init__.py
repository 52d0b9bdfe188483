"""The designer's drafts: one metadata document per admin and tenant, kept server-side,
checked as it is saved, published through the one publisher."""
from engine.drafts.service import Draft, Drafts, DraftOutdated

__all__ = ["Draft", "Drafts", "DraftOutdated"]
