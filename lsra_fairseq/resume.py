"""Exact resume in the middle of a later epoch: the batches an uninterrupted run would have had.

fairseq 0.12 orders a dataset's examples (the order its batches are cut from) with the seed
``seed + epoch`` of the epoch it builds the batch iterator in, and then reuses that iterator for
every later epoch. An uninterrupted run builds it in epoch 1; a run resumed in epoch E builds it
in epoch E, so it cuts different batches and, from then on, trains on other data than the run it
continues (bsz and tokens per batch stay the same, the sentences do not). Here a resumed run builds
its iterator with the seed of epoch 1. Runs that start at epoch 1, datasets whose iterator is
rebuilt every epoch (sharded data, ``rebuild_batches``) and validation are unchanged.
"""
import functools
import inspect

from .patching import install_once


def _reused_across_epochs(task, arguments) -> bool:
    """Whether fairseq caches this iterator (and so keeps the batches of the epoch it was built in)."""
    return (not arguments["disable_iterator_cache"] and not arguments["update_epoch_batch_itr"]
            and task.can_reuse_epoch_itr(arguments["dataset"])
            and not getattr(task.cfg, "rebuild_batches", False))


def first_epoch_batches(get_batch_iterator):
    signature = inspect.signature(get_batch_iterator)

    @functools.wraps(get_batch_iterator)
    def wrapper(task, *args, **kwargs):
        bound = signature.bind(task, *args, **kwargs)
        bound.apply_defaults()
        arguments = dict(bound.arguments)
        epoch, seed = arguments["epoch"], arguments["seed"]
        if epoch == 1 or not _reused_across_epochs(task, arguments):
            return get_batch_iterator(task, *args, **kwargs)
        # fairseq orders the examples with seed + epoch: give it the seed that makes that seed + 1
        arguments["seed"] = seed + 1 - epoch
        iterator = get_batch_iterator(**arguments)
        iterator.seed = seed  # batches are still shuffled per epoch with the run's own seed
        return iterator

    return wrapper


def resume_with_first_epoch_batches() -> None:
    """Installs the fix on fairseq's task base class."""
    from fairseq.tasks import FairseqTask

    install_once(FairseqTask, "get_batch_iterator", first_epoch_batches)
