"""A background job kind for the tests of `engine.background`: it counts through `items`
names, writing each to the job's checkpoint, and can stop as a killed worker would, or
stall (call `stall` with the job's progress) after `stall_after` items on its first run."""
from engine.errors import ValidationFailed


stall = None  # set by a test: what a stalled worker waits on


class WorkerDied(BaseException):
    """What a killed worker looks like to the job: it stops mid-way, its row still running."""


def check(session, params):
    items = params.get("items")
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise ValidationFailed("items must be a list of names", details=[{"field": "params.items",
                                                                          "message": "a list of names"}])
    return {"items": items, "die_after": params.get("die_after"), "fail": params.get("fail"),
            "stall_after": params.get("stall_after")}


def _maybe_stall(params, seen, progress):
    if params.get("stall_after") == len(seen) and not progress.resumed and stall is not None:
        stall(progress)


def run(session, params, progress):
    if params.get("fail") == "refused":
        raise ValidationFailed("item 'x' is not allowed")
    if params.get("fail") == "crash":
        raise RuntimeError("boom")
    seen = list(progress.state.get("seen", []))
    progress.total(len(params["items"]))
    for item in params["items"][len(seen):]:
        if params.get("die_after") is not None and len(seen) == params["die_after"] and not progress.resumed:
            raise WorkerDied()
        _maybe_stall(params, seen, progress)
        seen.append(item)
        progress.advance()
        progress.save_state({"seen": seen})
    _maybe_stall(params, seen, progress)
    return {"seen": seen, "resumed": progress.resumed}
