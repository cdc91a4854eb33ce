"""A tiny random Gemma3ForConditionalGeneration + processor (character tokenizer), built from config.

Used by the training tests (`tiny_model_dir(path)` saves one to a folder like a real checkpoint) and
checked here: the real classes, the real chat template, nothing from a hub.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import torch

SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "<start_of_image>",
            "<end_of_image>", "<image_soft_token>"]
IMAGE_SIZE = 28


def tiny_processor():  # noqa: ANN201
    from tokenizers import Tokenizer, decoders, models
    from transformers import Gemma3ImageProcessorPil, Gemma3Processor, PreTrainedTokenizerFast

    from core.model.text_lm import GEMMA3_CHAT_TEMPLATE

    chars = [c for c in string.printable if c not in "\x0b\x0c\r"]
    vocab = {t: i for i, t in enumerate(SPECIALS + chars)}
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(SPECIALS)
    tok = PreTrainedTokenizerFast(
        tokenizer_object=backend, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>", unk_token="<unk>",
        extra_special_tokens={"image_token": "<image_soft_token>", "boi_token": "<start_of_image>",
                              "eoi_token": "<end_of_image>"},
    )
    tok.chat_template = GEMMA3_CHAT_TEMPLATE
    images = Gemma3ImageProcessorPil(size={"height": IMAGE_SIZE, "width": IMAGE_SIZE}, image_mean=[0.5] * 3,
                                     image_std=[0.5] * 3, do_pan_and_scan=False)
    return Gemma3Processor(image_processor=images, tokenizer=tok, chat_template=GEMMA3_CHAT_TEMPLATE,
                           image_seq_length=4)


def tiny_model(processor, seed: int = 0):  # noqa: ANN001, ANN201
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    tok = processor.tokenizer
    config = Gemma3Config(
        text_config=dict(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                         num_attention_heads=2, num_key_value_heads=1, head_dim=16, sliding_window=64,
                         max_position_embeddings=2048, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
                         bos_token_id=tok.bos_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=IMAGE_SIZE, patch_size=7, vision_use_head=False),
        mm_tokens_per_image=4,
        image_token_index=tok.image_token_id,
        boi_token_index=tok.boi_token_id,
        eoi_token_index=tok.convert_tokens_to_ids("<end_of_image>"),
    )
    torch.manual_seed(seed)
    model = Gemma3ForConditionalGeneration(config)
    with torch.no_grad():  # zero-initialised in the real class: let the image reach the LM
        proj = model.model.multi_modal_projector.mm_input_projection_weight
        proj.normal_(0.0, proj.shape[0] ** -0.5)
    return model.eval()


def tiny_model_dir(path: Path, seed: int = 0) -> Path:
    processor = tiny_processor()
    model = tiny_model(processor, seed)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path


def test_tiny_model_roundtrips_through_a_folder(tmp_path: Path) -> None:
    from transformers import AutoModelForImageTextToText, AutoProcessor

    torch.set_num_threads(1)
    d = tiny_model_dir(tmp_path / "tiny")
    model = AutoModelForImageTextToText.from_pretrained(d)
    processor = AutoProcessor.from_pretrained(d)
    msgs = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "hi"}]}]
    text = processor.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False)
    img = np.zeros((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    enc = processor(text=text, images=[img], add_special_tokens=False, return_tensors="pt")
    assert int((enc["input_ids"] == processor.tokenizer.image_token_id).sum()) == 4
    with torch.no_grad():
        out = model(**enc)
    assert out.logits.shape[-1] == len(processor.tokenizer)
