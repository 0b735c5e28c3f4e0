"""The fast generator behind fairseq's hub interface (``from_pretrained(..., fast=True)``)."""
from .runners import build_runner
from .search import FastGenerator


def use_fast_generator(hub, backend: str = "onnx", int8: bool = False):
    """Makes ``hub.translate()`` / ``hub.generate()`` decode with ``FastGenerator``: the hub asks its
    task for a generator with the call's options, and gets one on a runner built once."""
    runner = build_runner(hub.models[0], backend, int8)
    target_dictionary = hub.task.target_dictionary

    def build_generator(models, args, **unused):
        return FastGenerator.from_args(runner, target_dictionary, args)

    hub.task.build_generator = build_generator
    return hub
