# tests/ux/local.mk — what a new user meets first: the generated CLI reference, the plotting and
# h5py/PyTorch helpers in tools/, and the README/walkthrough commands checked against the binary.
UX_TESTS = tests/ux/cli_doc.sh tests/ux/plot_voxels.py tests/ux/h5py_examples.py \
	tests/ux/torch_dataset.py tests/ux/h5py_latents.py tests/ux/check_readme.sh \
	tests/ux/h5py_tokens.py tests/ux/docs_index.sh tests/ux/walkthrough_python.py
TESTS += $(UX_TESTS)
EXTRA_DIST += $(UX_TESTS) tests/ux/uxdata.py
