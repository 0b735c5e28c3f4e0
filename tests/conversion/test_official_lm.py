"""Importing official language-model checkpoints (``transformer_lm_multibranch_v2``) into
``lite_transformer_lm``.

There is no official LM fixture, so these tests check the structure only: the official LM's
args, and a state dict under the official key names (fairseq 0.8's AdaptiveInput/AdaptiveSoftmax
name their tensors as fairseq's current modules do, plus the 0.8 buffers), land in an identical
``lite_transformer_lm``, also in the released configuration (no LayerNorm after the last block).
"""
import pytest
import torch
from fairseq import checkpoint_utils
from fairseq.tasks.language_modeling import LanguageModelingConfig, LanguageModelingTask

from lsra_fairseq.conversion import import_official
from lsra_fairseq.profiling.builder import DictionaryTask, build_registered_model

from .test_official_import import save_official

pytestmark = pytest.mark.usefixtures("one_thread")  # small models, shared CPUs
VOCAB = 60
# args as the official code saves them after its LM architecture defaults (a tiny model).
OFFICIAL_LM_ARGS = dict(
    arch="transformer_lm_multibranch_v2", task="language_modeling", data="data-bin/wikitext-103",
    activation_fn="relu", dropout=0.1, attention_dropout=0.0, activation_dropout=0.0, relu_dropout=0.0,
    weight_dropout=0.0, decoder_embed_dim=32, decoder_ffn_embed_dim=32, decoder_input_dim=32,
    decoder_output_dim=32, decoder_layers=2, decoder_attention_heads=8, decoder_normalize_before=True,
    no_decoder_final_norm=False, decoder_learned_pos=False, no_token_positional_embeddings=False,
    character_embeddings=False, decoder_branch_type=["attn:1:16:4", "dynamic:default:16:4"],
    decoder_kernel_size_list=[3, 7], decoder_glu=True, conv_linear=True, weight_softmax=True,
    adaptive_input=True, adaptive_input_factor=4, adaptive_input_cutoff="20,40",
    adaptive_softmax_cutoff="20,40", adaptive_softmax_dropout=0.0, adaptive_softmax_factor=4,
    tie_adaptive_weights=True, tie_adaptive_proj=True, share_decoder_input_output_embed=False,
    tokens_per_sample=64, max_target_positions=64, sample_break_mode="none", add_bos_token=False)


def official_lm_weights(**options):
    """Random weights under the official key names: those of the same model built our way (tied
    tensors get one value), plus the 0.8 decoder's version marker and position cache."""
    model = build_registered_model(
        "lite_transformer_lm", DictionaryTask(VOCAB, joined=True), **options, decoder_embed_dim=32,
        decoder_ffn_embed_dim=32, decoder_layers=2, decoder_branch_type="attn:1:16:4,dynamic:default:16:4",
        decoder_kernel_size_list="3,7", decoder_glu=True, adaptive_input=True, adaptive_input_cutoff="20,40",
        adaptive_softmax_cutoff="20,40", tie_adaptive_weights=True, tie_adaptive_proj=True)
    torch.manual_seed(1)
    values = {}
    weights = {key: values.setdefault(id(t), torch.randn_like(t) if t.is_floating_point() else t.detach())
               for key, t in model.state_dict(keep_vars=True).items()}
    return dict(weights, **{"decoder.version": torch.tensor([3.0]),
                            "decoder.embed_positions._float_tensor": torch.zeros(1)})


def test_official_lm_lands_in_lite_transformer_lm(tmp_path):
    weights = official_lm_weights()
    save_official(tmp_path / "official.pt", OFFICIAL_LM_ARGS, weights)
    import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    task = LanguageModelingTask(LanguageModelingConfig(), DictionaryTask(VOCAB, joined=True).dictionary)
    models, cfg = checkpoint_utils.load_model_ensemble([str(tmp_path / "ours.pt")], task=task)
    assert cfg.model._name == "lite_transformer_lm" and cfg.task._name == "language_modeling"
    ours = models[0].state_dict()
    mismatched = [key for key, t in weights.items()
                  if key in ours and not torch.equal(ours[key], t)]
    assert not mismatched
    assert set(weights) - set(ours) == {"decoder.version", "decoder.embed_positions._float_tensor"}


def test_released_lm_config_without_final_norm_imports(tmp_path):
    # The official WikiText-103 archs default to no LayerNorm after the last block.
    weights = official_lm_weights(no_decoder_final_norm=True)
    assert not any(key.startswith("decoder.layer_norm.") for key in weights)
    save_official(tmp_path / "official.pt", dict(OFFICIAL_LM_ARGS, no_decoder_final_norm=True), weights)
    import_official(tmp_path / "official.pt", tmp_path / "ours.pt")
    task = LanguageModelingTask(LanguageModelingConfig(), DictionaryTask(VOCAB, joined=True).dictionary)
    (model,), cfg = checkpoint_utils.load_model_ensemble([str(tmp_path / "ours.pt")], task=task)
    assert cfg.model.no_decoder_final_norm and model.decoder.layer_norm is None
