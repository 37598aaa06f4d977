"""Anatomy discovery on every supported architecture, by structure only."""

import pytest
import torch
import transformers as T
from tiny import ALL_TYPES, CAUSAL_TYPES, MASKED_TYPES, tiny_lens, tiny_model

import lmlens
from lmlens.anatomy import Anatomy, AnatomyError, discover

EXPECTED_MLP = {
    "gpt2": "mlp.c_proj", "llama": "mlp.down_proj", "mistral": "mlp.down_proj",
    "qwen2": "mlp.down_proj", "gpt_neox": "mlp.dense_4h_to_h", "gpt_neo": "mlp.c_proj",
    "opt": "fc2", "openai-gpt": "mlp.c_proj", "bloom": "mlp.dense_4h_to_h",
    "bert": "output.dense", "roberta": "output.dense", "xlm-roberta": "output.dense",
    "distilbert": "ffn.lin2", "luke": "output.dense",
}


@pytest.mark.parametrize("model_type", ALL_TYPES)
def test_discovery_and_self_check(model_type):
    lens = tiny_lens(model_type)  # Lens() runs the self-check: readout(last block) == logits
    a = lens.anatomy
    assert a.kind == ("causal" if model_type in CAUSAL_TYPES else "masked")
    assert a.n_layers == 2 and a.n_heads == 4
    assert a.mlp_down == EXPECTED_MLP[model_type]
    # the FFN activation really is the input of the down-projection: check its width
    trace = lens.trace("The capital of France is", points="blocks.0.mlp.post")
    assert trace["blocks.0.mlp.post"].shape[-1] == (128 if model_type in ("openai-gpt", "bloom") else 64)


@pytest.mark.parametrize("model_type", MASKED_TYPES)
def test_masked_readout_equals_mlm_head(model_type):
    lens = tiny_lens(model_type)
    trace = lens.trace("The capital of France is Paris.", points=["blocks.1.resid_post", "logits"])
    with torch.no_grad():
        mine = trace.readout(trace["blocks.1.resid_post"])
    torch.testing.assert_close(mine, trace["logits"], atol=1e-5, rtol=1e-5)


def test_custom_anatomy_and_clear_errors():
    model, tok = tiny_model("gpt2")
    hand = Anatomy(kind="causal", embed="transformer.wte", blocks="transformer.h", n_layers=2,
                   final_norm="transformer.ln_f", head="lm_head", unembed="lm_head",
                   mlp_down="mlp.c_proj", attn="attn", n_heads=4)
    assert lmlens.Lens(model, tok, anatomy=hand).anatomy == hand
    wrong = Anatomy(kind="causal", embed="transformer.wte", blocks="transformer.h", n_layers=2,
                    final_norm=None, head="lm_head", unembed="lm_head",
                    mlp_down="mlp.c_proj", attn="attn", n_heads=4)
    with pytest.raises(ValueError, match="self-check: final norm"):
        lmlens.Lens(model, tok, anatomy=wrong)
    bad_path = Anatomy(kind="causal", embed="transformer.nope", blocks="transformer.h", n_layers=2,
                       final_norm=None, head="lm_head", unembed="lm_head", mlp_down=None,
                       attn=None, n_heads=4)
    with pytest.raises(ValueError, match="transformer.nope"):
        lmlens.Lens(model, tok, anatomy=bad_path)
    with pytest.raises(TypeError, match="anatomy must be"):
        lmlens.Lens(model, tok, anatomy={"kind": "causal"})


def test_non_hf_model_error_says_how_to_pass_anatomy():
    class BiLM(torch.nn.Module):  # an ELMo-like model discovery cannot read
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(10, 4)
            self.lstm = torch.nn.LSTM(4, 4)

    with pytest.raises(AnatomyError, match="Pass the anatomy by hand"):
        discover(BiLM())


def test_base_model_has_no_head():
    model = T.BertModel(T.BertConfig(num_hidden_layers=2, hidden_size=16, num_attention_heads=2,
                                     intermediate_size=32, vocab_size=300))
    a = discover(model)
    assert a.kind == "base" and a.head is None and a.unembed is None


def test_opt_project_out_is_part_of_the_final_norm():
    cfg = T.OPTConfig(num_hidden_layers=2, hidden_size=32, num_attention_heads=4, ffn_dim=64,
                      vocab_size=400, max_position_embeddings=64, word_embed_proj_dim=16,
                      do_layer_norm_before=True, _attn_implementation="eager")
    torch.manual_seed(0)
    model = T.OPTForCausalLM(cfg).eval()
    a = discover(model)
    assert a.final_norm == ("model.decoder.final_layer_norm", "model.decoder.project_out")
    from tiny import bpe_tokenizer

    lmlens.Lens(model, bpe_tokenizer())  # self-check passes through norm + project_out
