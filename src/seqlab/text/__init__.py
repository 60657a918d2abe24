"""Raw text to ids: normalizers, pre-tokenizers, tokenizer models and the Tokenizer pipeline."""
