"""BatchLoader: what every loader (nc.Loader, nc.SequenceLoader) shares, over its C++ core (a
``_BatchEngine``): iteration and the epoch rule, the stream, checkpoints (``state_dict``),
statistics, failing samples, lifetime (close, ``with``, fork) and the zero-copy hand-off of each
batch output to the chosen framework. A loader subclass only builds its core and adds its typed
``plan``.

The epoch rule (one for every loader): iterating yields the batches from the position to the end
of its epoch; once an epoch's last batch is delivered the epoch stays current (``epoch``,
``len()``, ``plan(i)`` and ``state_dict()`` all describe it) until the iteration over it ends or
the next batch is asked for (``next_batch``), which moves the position to batch 0 of the next
epoch. So ``for i, b in enumerate(loader): loader.plan(i)`` describes ``b`` (the last batch
included), and after a full pass ``[loader.plan(i) for i in range(len(loader))]`` describes the
epoch the next pass will deliver. ``plan(i, epoch=e)`` plans any epoch.

Several threads may iterate one loader at once: they share its epoch (each batch goes to exactly
one of them) and every iteration ends when that epoch has no batch left; an iteration that
starts once the epoch is over covers the next one.
"""

from __future__ import annotations

import os
from typing import Any, Iterator

import numpy as np

from ._batch_allocator import allocator_running_for, batch_allocator
from ._batch_output import batch_converter
from ._nocopy import _option_specs

__all__ = ["BatchLoader", "options_doc"]


def block_shuffle(shuffle, block_shards):
    """(shuffle, block_shards) with ``shuffle="block"`` spelled out: the shards shuffled, then
    the samples within each block of ``block_shards`` (default 4) shards."""
    if isinstance(shuffle, str):
        if shuffle != "block":
            raise ValueError(f"shuffle {shuffle!r} is not True, False or 'block'")
        return True, block_shards or 4
    return shuffle, block_shards


def options_doc(loader: str) -> str:
    """The options section of a loader's docstring, from the C++ declarations of its options."""
    lines = ["", "    Options (declared once, in the C++ core; the same names in C++):", ""]
    for name, _kind, default, doc in _option_specs(loader):
        lines.append(f"    ``{name}={default}``")
        words, line = doc.split(), "        "
        for w in words:
            if len(line) + len(w) + 1 > 96:
                lines.append(line.rstrip())
                line = "        "
            line += w + " "
        lines.append(line.rstrip())
    return "\n".join(lines) + "\n"


class BatchLoader:
    """Base of the loaders: the subclass's constructor calls ``_setup(output, allocator,
    pin_memory)``, builds its C++ core with the allocator it returns and stores it as ``_core``
    (see the module docs for what this class provides)."""

    #: How error messages name a closed loader ("loader", "sequence loader").
    _what = "loader"
    _core = None

    # --- construction (for subclasses) -----------------------------------------------------
    def _setup(self, output: str, allocator, pin_memory: bool):
        """Checks ``output`` (and that its framework imports) and returns the allocator the core
        takes; call before building the core."""
        self._output = output
        self._convert = batch_converter(output)
        self._pid = os.getpid()
        return batch_allocator(allocator, pin_memory, owner=self)

    def _label_converter(self):
        """Labels are shared when the framework can hold them as they are, and converted
        otherwise (JAX without jax_enable_x64 stores int64 labels as int32): they are a small
        per-batch gather, already a copy of the source labels."""
        convert, output = self._convert, self._output

        def run(view):
            try:
                return convert(view)
            except BufferError:
                if output == "jax":
                    import jax.numpy as jnp

                    return jnp.asarray(np.asarray(view))
                return convert(view, copy=True)

        return run

    def _deliver(self, outputs) -> Any:
        """The batch's outputs handed to the framework (one converter per output, chosen once)."""
        converters = self.__dict__.get("_converters")
        if converters is None:
            labels = self._label_converter()
            converters = self.__dict__["_converters"] = [
                labels if name == "labels" else self._convert
                for name in self._live().output_names]
        if len(outputs) == 1:
            batch = converters[0](outputs[0])
        else:
            batch = tuple(c(v) for c, v in zip(converters, outputs))
        after = self.__dict__.get("_batch_function")
        return batch if after is None else after(batch)

    # --- iteration ------------------------------------------------------------------------
    def __len__(self) -> int:
        """Batches of the epoch the position is in, on this rank (a whole epoch, or the rest of
        one resumed at a global position from another world size)."""
        return len(self._live())

    def __iter__(self) -> Iterator[Any]:
        """Yields the remaining batches of the current epoch (a whole new epoch when the last
        one is finished); when it ends, the loader is at batch 0 of the next epoch."""
        epoch = self._live().begin_epoch()
        while True:
            # The core is looked up per batch, never held here: close() then really frees it
            # (stopping and joining the workers) even while an iterator is alive.
            got = self._live().next_in_epoch(epoch)
            if got is None:
                return
            yield self._deliver(got[0])

    def next_batch(self) -> Any:
        """The next batch of the stream (moving into the next epoch after an epoch's last one)."""
        outputs, _epoch, _index = self._live().next()
        return self._deliver(outputs)

    # --- position -------------------------------------------------------------------------
    @property
    def epoch(self) -> int:
        """The epoch the position is in (see the epoch rule)."""
        return self._live().state()[0]

    def set_epoch(self, epoch: int) -> None:
        """Moves to batch 0 of ``epoch`` (its own order and random draws), as with
        DistributedSampler. Batches already prepared for that position are kept."""
        self._live().set_epoch(epoch)

    def state_dict(self) -> dict:
        """The position and everything it depends on, for ``load_state_dict`` (plain values).

        ``kind`` names the loader; ``epoch`` and ``batch`` say which batch comes next; ``start``
        is the global position where that epoch's batch 0 began (0 unless it was resumed from
        another world size) and ``position`` the global position of the next batch: all ranks
        together have consumed the positions ``[0, position)`` of the epoch's order (every rank
        of a job holds the same epoch and position: ranks advance in lockstep). The other entries
        are the configuration the order depends on."""
        return self._live().checkpoint()

    def load_state_dict(self, state: dict) -> None:
        """Continues from a ``state_dict()`` of the same kind of loader with the same
        configuration (ValueError naming the first entry that differs or is missing).

        With the same world_size and batch_size (and rank) the following batches are
        byte-identical to those the saved loader would have produced. With another world_size or
        batch_size (elastic resume) the epoch continues from the saved global ``position``: the
        ranks of this job together deliver exactly the positions ``[position, N)`` of the epoch's
        order, each with the parameters it had, sharded (padded by wrap-around, or trimmed with
        drop_last) like a whole epoch; any one rank's saved state serves every new rank."""
        self._live().restore(state)

    # --- failing samples and statistics -------------------------------------------------------
    @property
    def num_skipped(self) -> int:
        """Slots filled with a substitute (``on_error="skip"``) in the batches delivered."""
        return self._live().num_skipped

    @property
    def skipped_samples(self) -> list[int]:
        """The distinct samples that failed and were substituted so far, ascending."""
        return self._live().skipped_samples

    def stats(self) -> dict:
        """Where the time goes, measured since the loader was created: batches and samples
        delivered; ``consumer_wait_s`` (your loop waiting for a batch), ``loader_idle_s`` (every
        prefetched batch ready, the loader waiting for your loop), ``allocation_s`` and
        ``allocations`` (batch buffers), the workers' busy seconds per stage (``stage_s``: read,
        decode, kernel; ``workers``: per thread), recent rates (``recent_batches_per_s``,
        ``recent_samples_per_s``, over the last 64 batches) and ``verdict``: one line saying
        whether the training loop waits on the loader (input-bound) or the other way round."""
        return self._live().stats()

    # --- lifetime -------------------------------------------------------------------------
    @property
    def num_threads(self) -> int:
        """Worker threads in use."""
        return self._live().num_threads

    def close(self) -> None:
        """Stops and joins the worker threads now (batches already delivered stay valid)."""
        self._refuse_reentry()
        core, self._core = self._core, None
        if core is not None and getattr(self, "_python_steps", False):
            # Workers running a Python function (transforms.Lambda) wait for the GIL: they are
            # joined while it is released, never while this thread holds it.
            core.stop_workers()

    def __del__(self):
        if getattr(self, "_python_steps", False) and self._core is not None:
            try:
                self._core.stop_workers()
            except Exception:  # noqa: BLE001 - never raise from a finalizer
                pass

    def _refuse_reentry(self) -> None:
        if allocator_running_for(self):
            raise RuntimeError(f"the allocator function of this {self._what} called back into "
                               f"it; the {self._what} runs it while it holds its own state "
                               "(that call would wait for itself forever): an allocator must "
                               "only return a buffer")

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _live(self):
        self._refuse_reentry()
        if self._core is None:
            raise ValueError(f"the {self._what} is closed")
        if self._pid != os.getpid():
            # A forked child inherits the loader object but not its worker threads.
            name = type(self).__name__
            raise RuntimeError(f"this {name} was created in process {self._pid}; a forked child "
                               "cannot use it (its worker threads exist only in the parent): "
                               f"create a new {name} in the child")
        return self._core

    # --- adapters -------------------------------------------------------------------------
    def as_tf_dataset(self):
        """A tf.data.Dataset over this loader: each iteration of it yields the rest of the current
        epoch and moves on to the next (so Keras ``fit(ds, epochs=k)`` sees k epochs).
        tf.data's generator bridge copies each batch once into its own tensors; iterate the
        loader with output='tf' for zero-copy tensors."""
        import tensorflow as tf

        core = self._live()
        specs = tuple(tf.TensorSpec(shape=(None, *shape), dtype=getattr(tf, dtype))
                      for dtype, shape in core.output_specs)
        sig = specs[0] if len(specs) == 1 else specs
        to_np = batch_converter("numpy")

        def generate():
            epoch = self._live().begin_epoch()
            while True:
                got = self._live().next_in_epoch(epoch)
                if got is None:
                    return
                arrays = tuple(to_np(v) for v in got[0])
                yield arrays[0] if len(arrays) == 1 else arrays

        ds = tf.data.Dataset.from_generator(generate, output_signature=sig)
        epoch, batch, start = core.state()
        if batch in (0, len(core)) and start == 0:  # a whole epoch: tell tf.data (and Keras)
            ds = ds.apply(tf.data.experimental.assert_cardinality(core.epoch_batches))
        return ds
