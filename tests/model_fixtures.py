"""Tiny random models of real transformers VLM classes, saved to a directory (never a hub)."""

from __future__ import annotations

from pathlib import Path

import torch

from core.model.text_lm import GEMMA3_CHAT_TEMPLATE

CORPUS = [
    "Is there a red block? yes no How many blocks are there? 0 1 2 3 4",
    "What colors are the blocks? red, green, blue and yellow. Which block is furthest to the left?",
    "Is the green block left or right of the bowl? What is in the bowl? nothing on the plate",
    "user model answer en describe the scene the robot gripper open closed",
]
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
            "<end_of_image>", "<image_soft_token>", "<image>"]


GEMMA3_NAMED = {"image_token": "<image_soft_token>", "boi_token": "<start_of_image>", "eoi_token": "<end_of_image>"}


def tiny_tokenizer(chat_template: str | None = GEMMA3_CHAT_TEMPLATE, named: dict[str, str] | None = None,
                   vocab_size: int = 300):  # noqa: ANN201
    """A byte-level BPE tokenizer trained on a few sentences, with Gemma-style special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tk.train_from_iterator(CORPUS * 4, trainer)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<bos>", eos_token="<eos>", unk_token="<unk>", pad_token="<pad>",
        extra_special_tokens=named if named is not None else GEMMA3_NAMED,
    )
    tok.chat_template = chat_template
    return tok


def tiny_gemma3(path: Path, image_size: int = 28, tokens: int = 4, **text_overrides) -> Path:  # noqa: ANN003
    """Gemma3ForConditionalGeneration + Gemma3Processor, random and tiny, saved to `path`
    (`text_overrides`: other Gemma3TextConfig values, e.g. layer_types)."""
    from transformers import (
        Gemma3Config,
        Gemma3ForConditionalGeneration,
        Gemma3ImageProcessorPil,
        Gemma3Processor,
        Gemma3TextConfig,
        SiglipVisionConfig,
    )

    tok = tiny_tokenizer()
    ids = {t: tok.convert_tokens_to_ids(t) for t in SPECIALS}
    text = Gemma3TextConfig(**{**dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                                      num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                                      max_position_embeddings=512, sliding_window=64, pad_token_id=ids["<pad>"],
                                      bos_token_id=ids["<bos>"], eos_token_id=ids["<eos>"]), **text_overrides})
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                image_size=image_size, patch_size=14, vision_use_head=False)
    config = Gemma3Config(text_config=text.to_dict(), vision_config=vision.to_dict(), mm_tokens_per_image=tokens,
                          image_token_index=ids["<image_soft_token>"], boi_token_index=ids["<start_of_image>"],
                          eoi_token_index=ids["<end_of_image>"])
    torch.manual_seed(0)
    model = Gemma3ForConditionalGeneration(config)
    proc = Gemma3Processor(
        image_processor=Gemma3ImageProcessorPil(size={"height": image_size, "width": image_size},
                                                image_mean=[0.5] * 3, image_std=[0.5] * 3),
        tokenizer=tok, chat_template=tok.chat_template, image_seq_length=tokens,
    )
    model.save_pretrained(path)
    proc.save_pretrained(path)
    return path


def tiny_paligemma(path: Path, image_size: int = 28) -> Path:
    """PaliGemmaForConditionalGeneration + PaliGemmaProcessor (no chat template), tiny and random."""
    from transformers import (
        GemmaConfig,
        PaliGemmaConfig,
        PaliGemmaForConditionalGeneration,
        PaliGemmaProcessor,
        SiglipImageProcessorPil,
        SiglipVisionConfig,
    )

    tok = tiny_tokenizer(chat_template=None, named={"image_token": "<image>"})
    image_id = tok.convert_tokens_to_ids("<image>")
    text = GemmaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=2, num_key_value_heads=1, head_dim=16,
                       pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id)
    vision = SiglipVisionConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                                image_size=image_size, patch_size=14, projection_dim=32, vision_use_head=False)
    config = PaliGemmaConfig(text_config=text.to_dict(), vision_config=vision.to_dict(), image_token_index=image_id,
                             projection_dim=32, hidden_size=32)
    torch.manual_seed(0)
    model = PaliGemmaForConditionalGeneration(config)
    image_processor = SiglipImageProcessorPil(size={"height": image_size, "width": image_size})
    image_processor.image_seq_length = (image_size // 14) ** 2
    proc = PaliGemmaProcessor(image_processor=image_processor, tokenizer=tok)
    model.save_pretrained(path)
    proc.save_pretrained(path)
    return path
