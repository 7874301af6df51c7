"""Word-level tokenizer shared by training and the exported tokenizer.json (@huggingface/tokenizers format).

Lower-case normaliser, `Whitespace` pre-tokenizer (\\w+|[^\\w\\s]+), WordLevel model with [PAD]=0 and [UNK]=1.
"""
from __future__ import annotations

import json

import numpy as np

import world as W

MAX_LEN = 24
PAD, UNK = 0, 1


class WordTokenizer:
    def __init__(self, vocab: list | None = None) -> None:
        self.vocab = vocab or W.vocabulary()
        self.ids = {w: i for i, w in enumerate(self.vocab)}

    def encode(self, text: str, max_len: int = MAX_LEN) -> np.ndarray:
        ids = [self.ids.get(w, UNK) for w in W.words_of(text)][:max_len]
        return np.array(ids + [PAD] * (max_len - len(ids)), np.int64)

    def batch(self, texts: list, max_len: int = MAX_LEN) -> np.ndarray:
        return np.stack([self.encode(t, max_len) for t in texts])

    def to_json(self) -> dict:
        special = lambda i, t: {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                                "normalized": False, "special": True}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [special(PAD, "[PAD]"), special(UNK, "[UNK]")],
            "normalizer": {"type": "Lowercase"},
            "pre_tokenizer": {"type": "Whitespace"},
            "post_processor": None,
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {"type": "WordLevel", "vocab": self.ids, "unk_token": "[UNK]"},
        }

    def save(self, folder: str) -> None:
        with open(f"{folder}/tokenizer.json", "w") as f:
            json.dump(self.to_json(), f, indent=1)
        with open(f"{folder}/tokenizer_config.json", "w") as f:
            json.dump({"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": MAX_LEN, "pad_token": "[PAD]",
                       "unk_token": "[UNK]", "do_lower_case": True, "clean_up_tokenization_spaces": True}, f, indent=1)
