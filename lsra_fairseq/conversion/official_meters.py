"""Stand-ins for the training meters that the official trainer (fairseq 0.8) pickles into checkpoints.

fairseq 0.8's trainer saves ``extra_state['train_meters']``: an ``OrderedDict`` of
``fairseq.meters.AverageMeter`` / ``TimeMeter`` / ``StopwatchMeter`` objects. Pickle records them
by class name plus a dict of numbers, so torch's safe unpickler can rebuild them as these inert
classes: they keep the numbers as attributes and run no code of the original (which is not
installed anyway). Any other class in a checkpoint is still refused.
"""
from typing import List, Tuple

OFFICIAL_METERS_MODULE = "fairseq.meters"


class OfficialMeter:
    """A fairseq 0.8 meter as saved: its statistics as attributes (the unpickler fills ``__dict__``)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.__dict__})"


class AverageMeter(OfficialMeter):
    """fairseq 0.8: val, avg, sum, count."""


class TimeMeter(OfficialMeter):
    """fairseq 0.8: init, start, n."""


class StopwatchMeter(OfficialMeter):
    """fairseq 0.8: sum, n, start_time."""


STAND_INS: List[Tuple[type, str]] = [(cls, f"{OFFICIAL_METERS_MODULE}.{cls.__name__}")
                                     for cls in (AverageMeter, TimeMeter, StopwatchMeter)]
