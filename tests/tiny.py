"""Tiny random models and tokenizers built from configs written in code (no downloads).

Every model here is asserted tiny (< 300k parameters); vocabularies come from tokenizers trained
in code on a few sentences, so ids and strings are real.
"""

from __future__ import annotations

import functools

import torch
import transformers as T
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

MAX_PARAMS = 300_000

CORPUS = [
    "The capital of France is Paris. The capital of Japan is Tokyo.",
    "The quick brown fox jumps over the lazy dog, and the dog sleeps.",
    "Transformers read tokens and predict the next token in the text.",
    "東京は日本の首都です。パリはフランスの首都です。",
    "Hello world! <b>&amp;</b> \"quotes\" and 'single' ones; 1 2 3 4 5.",
] * 4


@functools.cache
def bpe_tokenizer() -> T.PreTrainedTokenizerFast:
    """A byte-level BPE tokenizer (GPT-2 style ``Ġ`` pieces), ~400 tokens."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400, special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False,
    )
    tok.train_from_iterator(CORPUS, trainer)
    return T.PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token="<|endoftext|>", bos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
    )


@functools.cache
def wordpiece_tokenizer() -> T.PreTrainedTokenizerFast:
    """A BERT-style WordPiece tokenizer (``##`` pieces, [CLS] ... [SEP]), ~300 tokens."""
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece()
    tok.train_from_iterator(
        CORPUS, trainers.WordPieceTrainer(vocab_size=300, special_tokens=specials, show_progress=False)
    )
    cls_id, sep_id = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    return T.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]",
    )


def _configs(v: int, n_layers: int) -> dict:
    d, h, f, p = 32, 4, 64, 128
    return {
        "gpt2": (T.GPT2LMHeadModel, T.GPT2Config(n_layer=n_layers, n_embd=d, n_head=h, n_inner=f, vocab_size=v, n_positions=p, bos_token_id=0, eos_token_id=0)),
        "llama": (T.LlamaForCausalLM, T.LlamaConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, num_key_value_heads=2, intermediate_size=f, vocab_size=v, max_position_embeddings=p)),
        "mistral": (T.MistralForCausalLM, T.MistralConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, num_key_value_heads=2, intermediate_size=f, vocab_size=v, max_position_embeddings=p)),
        "qwen2": (T.Qwen2ForCausalLM, T.Qwen2Config(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, num_key_value_heads=2, intermediate_size=f, vocab_size=v, max_position_embeddings=p)),
        "gpt_neox": (T.GPTNeoXForCausalLM, T.GPTNeoXConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, intermediate_size=f, vocab_size=v, max_position_embeddings=p)),
        "gpt_neo": (T.GPTNeoForCausalLM, T.GPTNeoConfig(num_layers=n_layers, hidden_size=d, num_heads=h, attention_types=[[["global", "local"], max(1, n_layers // 2)]], intermediate_size=f, vocab_size=v, max_position_embeddings=p)),
        "opt": (T.OPTForCausalLM, T.OPTConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, ffn_dim=f, vocab_size=v, max_position_embeddings=p, word_embed_proj_dim=d)),
        "openai-gpt": (T.OpenAIGPTLMHeadModel, T.OpenAIGPTConfig(n_layer=n_layers, n_embd=d, n_head=h, vocab_size=v, n_positions=p)),
        "bloom": (T.BloomForCausalLM, T.BloomConfig(n_layer=n_layers, hidden_size=d, n_head=h, vocab_size=v)),
        "bert": (T.BertForMaskedLM, T.BertConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, intermediate_size=f, vocab_size=v, max_position_embeddings=p)),
        "roberta": (T.RobertaForMaskedLM, T.RobertaConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, intermediate_size=f, vocab_size=v, max_position_embeddings=p + 2, pad_token_id=0)),
        "xlm-roberta": (T.XLMRobertaForMaskedLM, T.XLMRobertaConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, intermediate_size=f, vocab_size=v, max_position_embeddings=p + 2, pad_token_id=0)),
        "distilbert": (T.DistilBertForMaskedLM, T.DistilBertConfig(n_layers=n_layers, dim=d, n_heads=h, hidden_dim=f, vocab_size=v, max_position_embeddings=p)),
        "luke": (T.LukeForMaskedLM, T.LukeConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, intermediate_size=f, vocab_size=v, entity_vocab_size=8, entity_emb_size=8, max_position_embeddings=p)),
        # mixtures of experts: no single FFN down-projection
        "qwen2_moe": (T.Qwen2MoeForCausalLM, T.Qwen2MoeConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, num_key_value_heads=2, intermediate_size=f, moe_intermediate_size=16, shared_expert_intermediate_size=48, num_experts=4, num_experts_per_tok=2, vocab_size=v, max_position_embeddings=p)),
        "mixtral": (T.MixtralForCausalLM, T.MixtralConfig(num_hidden_layers=n_layers, hidden_size=d, num_attention_heads=h, num_key_value_heads=2, intermediate_size=f, num_local_experts=4, num_experts_per_tok=2, vocab_size=v, max_position_embeddings=p)),
    }


CAUSAL_TYPES = ["gpt2", "llama", "mistral", "qwen2", "gpt_neox", "gpt_neo", "opt", "openai-gpt", "bloom"]
MASKED_TYPES = ["bert", "roberta", "xlm-roberta", "distilbert", "luke"]
ALL_TYPES = CAUSAL_TYPES + MASKED_TYPES
MOE_TYPES = ["qwen2_moe", "mixtral"]  # causal, not in ALL_TYPES: they have no mlp.post


def tiny_model(model_type: str, *, n_layers: int = 2, seed: int = 0):
    """``(model, tokenizer)``: a random tiny model of ``model_type`` in eval mode, eager attention."""
    tok = wordpiece_tokenizer() if model_type in MASKED_TYPES else bpe_tokenizer()
    cls, cfg = _configs(len(tok), n_layers)[model_type]
    cfg._attn_implementation = "eager"
    torch.manual_seed(seed)
    model = cls(cfg).eval()
    n_params = sum(p.numel() for p in model.parameters())
    if n_params >= MAX_PARAMS:
        raise AssertionError(f"{model_type} is not tiny: {n_params} parameters")
    return model, tok


def save_tiny(folder, model_type: str):
    """``tiny_model(model_type)`` saved as a Hugging Face folder (model and tokenizer) at ``folder``,
    for ``lmlens.load(folder)`` and the CLI's ``--model``; returns ``folder``."""
    model, tok = tiny_model(model_type)
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


@functools.cache
def tiny_lens(model_type: str, n_layers: int = 2):
    """A cached ``lmlens.Lens`` over ``tiny_model(model_type)``. Do not mutate it in tests."""
    import lmlens

    model, tok = tiny_model(model_type, n_layers=n_layers)
    return lmlens.Lens(model, tok)


def token_alone(tok, i: int) -> str:
    """A token id read on its own, by hand: decoded, or, where that gives U+FFFD (part of a UTF-8
    character), its whole characters as text and the other bytes as hex runs (``"<E6 9D>"``),
    the bytes read from the piece through transformers' GPT-2 byte table."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    s = tok.decode([int(i)])
    if "\ufffd" not in s:
        return s
    table = {c: b for b, c in bytes_to_unicode().items()}
    b = bytes(table[c] for c in tok.convert_ids_to_tokens(int(i)))
    out, run, k = "", b"", 0
    while k < len(b):
        for n in (1, 2, 3, 4):
            try:
                ch = b[k : k + n].decode("utf-8")
            except UnicodeDecodeError:
                continue
            break
        else:
            run, k = run + b[k : k + 1], k + 1
            continue
        if run:
            out, run = out + "<" + " ".join(f"{x:02X}" for x in run) + ">", b""
        out, k = out + ch, k + n
    if run:
        out += "<" + " ".join(f"{x:02X}" for x in run) + ">"
    return out
