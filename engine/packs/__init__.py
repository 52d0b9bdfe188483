"""Industry packs. Plugins build a `Pack` (their manifest and bundle) here; operators
install, upgrade and remove packs per tenant through `engine.packs.service.PackService`,
which plugins do not use."""
from engine.packs.pack import Pack, PackInvalid

__all__ = ["Pack", "PackInvalid"]
