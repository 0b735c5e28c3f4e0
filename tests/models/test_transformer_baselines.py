"""The paper's Transformer baselines are fairseq ``transformer`` archs with the paper's sizes."""
import pytest

from lsra_fairseq.builder import DictionaryTask


@pytest.mark.parametrize("arch, d, ffn, heads, shared", [
    ("transformer_iwslt_de_en_128", 128, 256, 4, False),
    ("transformer_iwslt_de_en_192", 192, 384, 4, False),
    ("transformer_iwslt_de_en_240", 240, 480, 4, False),
    ("transformer_wmt_128", 128, 512, 8, True),
    ("transformer_wmt_256", 256, 1024, 8, True),
    ("transformer_wmt_320", 320, 1280, 8, True),
])
def test_baseline_sizes(build_model, arch, d, ffn, heads, shared):
    task = DictionaryTask(40, joined=True) if shared else DictionaryTask(40, 30)
    model = build_model(arch, task)
    assert type(model).__name__ == "TransformerModel"
    for stack in (model.encoder, model.decoder):
        assert len(stack.layers) == 6
        layer = stack.layers[0]
        assert (layer.fc1.in_features, layer.fc1.out_features) == (d, ffn)
        assert layer.self_attn.num_heads == heads
    tied = model.decoder.output_projection.weight is model.decoder.embed_tokens.weight
    assert tied == shared and (model.encoder.embed_tokens is model.decoder.embed_tokens) == shared


def test_command_line_value_wins(build_model):
    model = build_model("transformer_wmt_128", DictionaryTask(40, joined=True), encoder_ffn_embed_dim=100)
    assert model.encoder.layers[0].fc1.out_features == 100 and model.decoder.layers[0].fc1.out_features == 512
