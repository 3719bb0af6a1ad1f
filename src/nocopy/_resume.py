"""Resuming a loader from its state_dict(): the checks and the position to load, shared by
nc.Loader and nc.SequenceLoader.

A state saved with the loader's own world_size and batch_size resumes at (epoch, batch, start):
byte-identical batches. With another world_size or batch_size (elastic resume) only the epoch and
the global ``position`` carry over: the new ranks shard the positions not yet consumed as a whole
epoch would be sharded (nocopy/pipeline/sampling/shard.hpp)."""

from __future__ import annotations


def resume_position(state, key: dict, what: str) -> tuple[int, int, int]:
    """(epoch, batch, start) for the core's load_state, after checking that `state` (from
    ``<what>.state_dict()``) fits the loader whose configuration is `key`: every entry must match,
    except world_size, batch_size and rank when world_size or batch_size differ (elastic)."""
    if not isinstance(state, dict) or "epoch" not in state or "batch" not in state:
        raise ValueError(f"state must be a dict from {what}.state_dict() with 'epoch' and "
                         "'batch'")
    elastic = any(k in state and state[k] != key[k] for k in ("world_size", "batch_size"))
    for k, value in key.items():
        if elastic and k in ("world_size", "batch_size", "rank"):
            continue  # a new sharding of what remains: only the position carries over
        if k in state and state[k] != value:
            raise ValueError(f"state was saved with {k}={state[k]!r} but this loader has "
                             f"{k}={value!r}; resuming would not reproduce its batches")
    if not elastic:
        return state["epoch"], state["batch"], state.get("start", 0)
    if "position" not in state:
        raise ValueError(f"state was saved with world_size={state.get('world_size')!r}, "
                         f"batch_size={state.get('batch_size')!r} and has no 'position'; "
                         f"resuming with world_size={key['world_size']}, batch_size="
                         f"{key['batch_size']} needs the global position")
    return state["epoch"], 0, state["position"]
