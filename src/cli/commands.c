/* commands.c — the table of subcommands: names, one-line summaries and usage texts. */
#include "cli/commands.h"

const pd_command pd_commands[] = {
    {"featurize", pd_cmd_featurize, "structures (PDB/mmCIF, .gz) -> one parallel-HDF5 dataset",
     "usage: proteindiff featurize RUN.cfg [--force] [--set KEY=VALUE ...]\n\n"
     "Rank 0 expands data.inputs (files, folders, globs, list files) and balances them over the\n"
     "ranks; every rank parses and featurizes its share (backbone arrays, distogram images,\n"
     "side-chain divergence voxels) and all ranks write data.dataset collectively.\n"
     "The file is written as NAME.partial and renamed when complete; an existing complete\n"
     "dataset is left alone unless --force is given.\n\n"
     "Rounds of featurize.files_per_round files per rank bound the memory; entries are written in\n"
     "sorted input order, so the file's content does not depend on the number of ranks.\n\n"
     "  --force           rebuild even if data.dataset is complete"},
    {"train", pd_cmd_train, "train one stage: sc_vae, bb_vae, diffusion or tokenizer",
     "usage: proteindiff train RUN.cfg --stage sc_vae|bb_vae|diffusion|tokenizer|probe [--resume]\n\n"
     "Trains one stage on the train split of data.dataset, on 1 to N ranks (mpirun/srun), with\n"
     "parallel.strategy = ddp|zero1|zero2|fsdp|hsdp (parallel.shard_group for hsdp). Global batches\n"
     "of train.batch_residues residues are the same on any rank count; losses are normalised by\n"
     "global counts, so N ranks follow the 1-rank trajectory. Writes run.dir/metrics.jsonl (one JSON\n"
     "object per step, val_* every train.val_every steps) and run.dir/checkpoints/<stage>-step<N>.h5\n"
     "every train.checkpoint_every steps and at the end (newest train.keep_checkpoints kept).\n"
     "SIGTERM/SIGUSR1 write a checkpoint at the end of the current step and exit with status 130.\n"
     "`probe` is a tiny built-in amino-acid-from-voxel classifier for testing the engine.\n\n"
     "  --stage NAME      the stage to train\n"
     "  --resume          continue from the newest complete checkpoint in run.dir/checkpoints\n"
     "                    (also onto another rank count or strategy; same as train.resume = true)"},
    {"design", pd_cmd_design, "inverse folding: sequences for a backbone",
     "usage: proteindiff design RUN.cfg --structure FILE|DIR [--chains A,B] [--fixed \"A1-20 A45\"]\n"
     "         [--samples N] [--temperatures \"0.1 0.3\"] [--seed S] --out designs.fasta"},
    {"tokenize", pd_cmd_tokenize, "structures -> discrete structure tokens (VQ-VAE codes)",
     "usage: proteindiff tokenize RUN.cfg --checkpoint C --out tokens.h5"},
    {"evaluate", pd_cmd_evaluate, "recovery and perplexity on the test split",
     "usage: proteindiff evaluate RUN.cfg\n\nWrites run.dir/evaluate.json."},
    {"export", pd_cmd_export, "dataset -> distogram PNGs by length bin, FASTA",
     "usage: proteindiff export DATASET.h5 [--png DIR] [--fasta FILE]\n\n"
     "  --png DIR      each entry's distogram as DIR/bin_<lo>_<hi>/<name>.png (L x L, RGB, 8 bit),\n"
     "                 length bins 40-64, 65-128, then 64 wide (SPEC.md section 3)\n"
     "  --fasta FILE   one record per entry: >name length=L source=PATH, chains separated by '/'\n\n"
     "The dataset is validated first; an inconsistent file is refused (docs/dataset-format.md)."},
    {"inspect", pd_cmd_inspect, "summary of any proteindiff HDF5 file",
     "usage: proteindiff inspect FILE.h5\n\n"
     "Prints entries, residues, splits, failures (grouped by reason), a length histogram by\n"
     "export bin and the attributes; refuses files whose offsets or shapes are inconsistent and\n"
     "unfinished (.partial) files. Checkpoints and token files get their attributes and datasets."},
    {"run", pd_cmd_run, "the whole pipeline from one run file",
     "usage: proteindiff run RUN.cfg [--set KEY=VALUE ...]\n\n"
     "featurize -> sc_vae -> bb_vae -> diffusion -> evaluate, skipping stages whose outputs are\n"
     "complete (re-runnable after an interruption)."},
    {"config", pd_cmd_config, "check a run file, print the effective settings or the reference",
     "usage: proteindiff config RUN.cfg [--set KEY=VALUE ...]   validate and print effective settings\n"
     "       proteindiff config --reference                     every key, as Markdown\n"
     "       proteindiff config --defaults                      a run file with every default"},
    {"version", pd_cmd_version, "version and build configuration",
     "usage: proteindiff version"},
};

const int pd_n_commands = (int)(sizeof pd_commands / sizeof pd_commands[0]);
