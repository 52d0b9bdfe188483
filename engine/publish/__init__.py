"""Publishing a tenant's metadata: the one path from a document (or a pack's layers, or
an earlier version) to a migrated schema and a recorded version."""
from engine.publish.publisher import Publisher, PublishRequest, Target

__all__ = ["Publisher", "PublishRequest", "Target"]
