# src/models/tokenizer.mk — the tokenizer model.
