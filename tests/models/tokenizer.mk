# tests/models/tokenizer.mk — tests of the tokenizer model.
