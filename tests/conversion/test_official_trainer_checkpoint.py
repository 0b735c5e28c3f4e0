"""Official checkpoints as the official trainer (fairseq 0.8) wrote them: besides ``args`` and
``model``, ``extra_state['train_meters']`` (fairseq 0.8's meter objects) and a real
``last_optimizer_state``. They import through safe loading (inert stand-ins for the meters), the
model reproduces the official outputs, and anything else pickled in them is still refused."""
import collections
import sys
import time
import types

import pytest
import torch

from lsra_fairseq.conversion import OfficialCheckpointError, import_official, load_official
from lsra_fairseq.conversion.official import main
from lsra_fairseq.conversion.official_meters import OfficialMeter

from .test_official_import import TOLERANCE, load_imported, reference_outputs, save_official

pytestmark = pytest.mark.usefixtures("one_thread")
METERS_MODULE = "fairseq.meters"


def fairseq08_meters_module():
    """A module named as fairseq 0.8's, with its three meter classes (the same attributes)."""
    module = types.ModuleType(METERS_MODULE)

    class AverageMeter:
        def __init__(self):
            self.val, self.avg, self.sum, self.count = 0, 0, 0, 0

        def update(self, val, n=1):
            self.val, self.sum, self.count = val, self.sum + val * n, self.count + n
            self.avg = self.sum / self.count

    class TimeMeter:
        def __init__(self, init=0):
            self.init, self.start, self.n = init, time.time(), 0

    class StopwatchMeter:
        def __init__(self):
            self.sum, self.n, self.start_time = 0, 0, None

    for cls in (AverageMeter, TimeMeter, StopwatchMeter):
        cls.__module__, cls.__qualname__ = METERS_MODULE, cls.__name__
        setattr(module, cls.__name__, cls)
    return module


def trainer_entries(module, state_dict, meters_extra=None):
    """``extra_state`` and ``last_optimizer_state`` as fairseq 0.8's trainer saved them."""
    meters = collections.OrderedDict()
    for name in ("train_loss", "train_nll_loss", "valid_loss", "wpb", "bsz", "gnorm", "clip", "oom"):
        meters[name] = module.AverageMeter()
        meters[name].update(4.2, 10)
    meters.update(wps=module.TimeMeter(), ups=module.TimeMeter(), wall=module.TimeMeter(),
                  train_wall=module.StopwatchMeter())
    meters.update(meters_extra or {})
    parameters = [torch.nn.Parameter(t.clone()) for t in state_dict.values() if t.is_floating_point()]
    optimizer = torch.optim.Adam(parameters, lr=5e-4, betas=(0.9, 0.98))
    sum(p.sum() for p in parameters).backward()
    optimizer.step()
    return {"extra_state": {"train_iterator": {"epoch": 20, "iterations_in_epoch": 0}, "val_loss": 4.0,
                            "best": 3.9, "train_meters": meters},
            "last_optimizer_state": optimizer.state_dict()}


def save_trainer_checkpoint(path, ref, meters_extra=None):
    module = fairseq08_meters_module()
    save_official(path, ref["args"], ref["state_dict"], modules={METERS_MODULE: module},
                  **trainer_entries(module, ref["state_dict"], meters_extra))


@pytest.mark.parametrize("name", ["iwslt160", "wmt200"])
def test_trainer_checkpoint_imports_and_reproduces_the_official_outputs(name, tmp_path):
    ref = reference_outputs(name)
    save_trainer_checkpoint(tmp_path / "official.pt", ref)
    state = load_official(tmp_path / "official.pt")
    meters = state["extra_state"]["train_meters"]
    assert all(isinstance(m, OfficialMeter) for m in meters.values())
    assert meters["train_loss"].avg == pytest.approx(4.2) and meters["train_wall"].start_time is None
    assert len(state["last_optimizer_state"]["state"]) > 0  # a real Adam state, tensors included
    import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    ours = torch.load(tmp_path / "ours.pt", weights_only=True)  # nothing of the stand-ins is carried
    assert ours["last_optimizer_state"] is None and "train_meters" not in ours["extra_state"]
    model = load_imported(tmp_path / "ours.pt", ref)
    with torch.no_grad():
        logits = model(ref["src_tokens"], ref["src_lengths"], ref["prev_output_tokens"])[0]
    assert (logits - ref["logits_full"]).abs().max() <= TOLERANCE


def test_stand_ins_are_allowed_only_while_an_official_file_is_read(tmp_path):
    ref = reference_outputs("iwslt160")
    save_trainer_checkpoint(tmp_path / "official.pt", ref)
    load_official(tmp_path / "official.pt")
    allowed = {g[1] if isinstance(g, tuple) else f"{g.__module__}.{g.__qualname__}"
               for g in torch.serialization.get_safe_globals()}
    assert not any(name.startswith(METERS_MODULE) for name in allowed)


def other_class_of_the_module(module):
    class OtherMeter:
        pass
    OtherMeter.__module__, OtherMeter.__qualname__ = METERS_MODULE, "OtherMeter"
    module.OtherMeter = OtherMeter
    return OtherMeter()


def meter_holding_a_function(module):
    meter = module.AverageMeter()
    meter.val = sys.exit
    return meter


def meter_that_runs_code(module):
    """Claims to be a meter but asks pickle to call print when it is read."""
    class Exploit:
        def __reduce__(self):
            return (print, ("this code ran while unpickling",))
    Exploit.__module__, Exploit.__qualname__ = METERS_MODULE, "AverageMeter"
    return Exploit()


# what hides among the meters -> what the refusal names
ODD_METERS = {
    "another class of fairseq.meters": (other_class_of_the_module, r"holds fairseq\.meters\.OtherMeter, "),
    "a meter holding a function": (meter_holding_a_function, r"holds sys\.exit, "),
    "a meter that runs code": (meter_that_runs_code, r"holds (builtins\.)?print, "),
    "an object of another module": (lambda module: time.struct_time(range(9)), r"holds time\.struct_time, "),
}


@pytest.mark.parametrize("case", sorted(ODD_METERS))
def test_anything_else_in_the_meters_is_refused_unread(case, tmp_path, capsys):
    make, message = ODD_METERS[case]
    ref, module = reference_outputs("iwslt160"), fairseq08_meters_module()
    entries = trainer_entries(module, ref["state_dict"], {"odd": make(module)})
    save_official(tmp_path / "official.pt", ref["args"], ref["state_dict"], modules={METERS_MODULE: module},
                  **entries)
    with pytest.raises(OfficialCheckpointError, match=message + "which no official .* not unpickled"):
        import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    assert not (tmp_path / "ours.pt").exists()
    assert "this code ran" not in capsys.readouterr().out


def test_command_line_imports_a_trainer_checkpoint(tmp_path, capsys):
    save_trainer_checkpoint(tmp_path / "official.pt", reference_outputs("wmt200"))
    main([str(tmp_path / "official.pt"), str(tmp_path / "ours.pt")])
    assert "imported transformer_multibranch_v2_wmt_en_de" in capsys.readouterr().out
