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
    {"encode", pd_cmd_encode, "per-residue latents of a trained VAE stage -> run.dir/latents/<stage>.h5",
     "usage: proteindiff encode RUN.cfg --stage sc_vae|bb_vae [--checkpoint FILE] [--force]\n\n"
     "Loads the stage's weights from FILE (default: the newest complete checkpoint of the stage in\n"
     "run.dir/checkpoints) and writes the encoder's posterior mean and log-variance of every\n"
     "residue of data.dataset to run.dir/latents/<stage>.h5 (/mu, /logvar [R, latent_dim] by the\n"
     "dataset's residue row, /valid [R]; docs/latents-format.md), so later stages (diffusion) read\n"
     "them instead of re-running the encoder. Every rank encodes a contiguous range of entries and\n"
     "all write the one file collectively; the bytes do not depend on the number of ranks. The\n"
     "file is written as NAME.partial and renamed when complete. A complete file made from the\n"
     "same checkpoint and dataset is left alone unless --force is given.\n\n"
     "  --stage NAME        sc_vae or bb_vae\n"
     "  --checkpoint FILE   encode with this checkpoint instead of the newest one\n"
     "  --force             rewrite even if the file is up to date"},
    {"design", pd_cmd_design, "inverse folding: sequences for a backbone",
     "usage: proteindiff design RUN.cfg --structure FILE|DIR|LIST --out designs.fasta [--chains A,B]\n"
     "         [--fixed \"A1-20 A45\"] [--sequence-prefill FASTA] [--omit-aa C] [--bias-aa W:-1.0,A:0.5]\n"
     "         [--bias-by-residue FILE.json] [--omit-by-residue FILE.json] [--symmetry \"A12,B12|A13,B13\"]\n"
     "         [--homo-oligomer] [--probs FILE.h5] [--pdb-out DIR]\n"
     "         [--samples N] [--temperatures \"0.1 0.3\"] [--seed S] [--sampler ddim|ddpm] [--steps K]\n\n"
     "Designs sequences for the backbone of each structure (PDB/mmCIF, .gz; a folder, a .txt/.list file of\n"
     "paths, or a glob): BB-VAE encoder mean -> diffusion sampler (DDIM, design.steps = 50, or ancestral\n"
     "DDPM) -> SC-VAE decoder -> classifier -> per-residue distribution -> ties -> omit/bias -> a sequence\n"
     "per sample and temperature (0 = argmax). Only N, CA, C are read: backbone-only files work, and residue\n"
     "names are never shown to the model except at positions you fix. Under mpirun the structures are\n"
     "shared over the ranks; rank 0 shows progress (rate, ETA) and writes the FASTA in input order.\n"
     "Finished structures are kept in OUT.parts/ until the FASTA is written: run the same command again\n"
     "after a kill and only the missing structures are designed. Models: the newest complete checkpoints\n"
     "in run.dir/checkpoints, or design.{sc_vae,bb_vae,diffusion}_checkpoint.\n\n"
     "Residues are named by chain and author number: A52 is residue 52 only, A52A only 52A (insertion\n"
     "code), A1-20 every residue numbered 1 to 20, B the whole chain B; multi-letter chain ids work.\n\n"
     "  --structure P          a structure file, a folder, a list file or a glob\n"
     "  --out FILE             FASTA output ('-' = standard output, no resume)\n"
     "  --chains A,B           design these chains together (default: every protein chain)\n"
     "  --fixed \"A1-20 A45 B\"   keep these residues: their amino acids condition the model and are copied\n"
     "                         to the output\n"
     "  --sequence-prefill F   FASTA (record named like the file stem, or a single record): amino acids for\n"
     "                         the fixed positions; without --fixed every letter other than X/- is fixed\n"
     "  --omit-aa LETTERS      never choose these amino acids (e.g. C)\n"
     "  --bias-aa L:V,...      add V to the log-probability of L before sampling\n"
     "  --bias-by-residue F    JSON {\"A12\": {\"W\": 2.0}}: per-residue biases, added to --bias-aa\n"
     "  --omit-by-residue F    JSON {\"A12\": \"CW\"}: per-residue letters never chosen, with --omit-aa\n"
     "  --symmetry \"A12,B12|A13,B13\"  tied groups ('|' between groups): one amino acid per group, chosen\n"
     "                         from the group's mean distribution; a fixed member fixes the group\n"
     "  --homo-oligomer        tie position k of every chain with position k of each chain of equal length\n"
     "  --probs FILE.h5        per-residue 20-way distribution (mean over samples, after ties, before\n"
     "                         omit/bias) with chain, residue number, insertion code (docs/probs-format.md)\n"
     "  --pdb-out DIR          per design DIR/<entry>_T<T>_s<sample>.pdb: the input backbone (N, CA, C, O)\n"
     "                         with the designed residue names; fixed residues keep their side chains\n"
     "  --samples N            diffusion samples per structure (design.samples)\n"
     "  --temperatures \"T..\"   a sequence per sample and temperature (design.temperatures; 0 = argmax)\n"
     "  --seed S               design.seed; a structure's designs depend only on it and the file stem\n"
     "  --sampler, --steps     design.sampler, design.steps\n\n"
     "FASTA: '>NAME, native, chains=A/B, length=L, designed=D, fixed=F, source=PATH' (when the file has\n"
     "residue names), then per sample '>NAME, T=0.1, sample=1, seed=S, nll_designed=.., nll_all=..,\n"
     "recovery=..'; chains are joined by '/'. See docs/design.md."},
    {"score", pd_cmd_score, "per-residue NLL of native or given sequences on a backbone",
     "usage: proteindiff score RUN.cfg --structure FILE|DIR|LIST [--sequences FASTA] [--chains A,B]\n"
     "         --out scores.tsv\n\n"
     "The model's negative log-likelihood of each residue's amino acid on the backbone (like ProteinMPNN's\n"
     "--score_only): the distribution is the mean over design.samples diffusion samples with every residue\n"
     "masked, as design sees it. Scores the file's own sequence, or every record of --sequences named like\n"
     "the file stem (or the only record; chains joined by '/', as in design's FASTA; a design FASTA can be\n"
     "scored as it is). Structures are shared over the ranks; rank 0 writes the TSV in input order.\n\n"
     "  --structure P     a structure file, a folder, a list file or a glob\n"
     "  --sequences F     FASTA of sequences to score (default: the native sequence of each file)\n"
     "  --chains A,B      the chains scored (default: every protein chain)\n"
     "  --out FILE        the TSV ('-' = standard output)\n\n"
     "TSV columns: entry, sequence ('native' or '#K', the record number in --sequences), chain, resnum,\n"
     "icode (empty when none), aa, nll (NA for X or a residue without backbone); after each sequence a row\n"
     "with chain '*', resnum '*', aa 'mean' and the mean nll over its scored residues. See docs/design.md."},
    {"tokenize", pd_cmd_tokenize, "structures -> discrete structure tokens (VQ-VAE codes)",
     "usage: proteindiff tokenize RUN.cfg --checkpoint C --out tokens.h5 [--png DIR --png-count N]\n\n"
     "Every dataset entry up to model.tokenizer.max_length residues through the trained tokenizer\n"
     "(eval mode, batches of one length bin): the code indices of every level per entry, written\n"
     "collectively by all ranks to tokens.h5 (schema: docs/tokens-format.md; longer entries are\n"
     "listed under /skipped with the reason). Each reconstruction is turned into 3-D coordinates by\n"
     "classical MDS and compared with the true C-beta (RMSD, fraction of pairs under 1 A).\n"
     "  --checkpoint C   a tokenizer checkpoint (run.dir/checkpoints/tokenizer-step*.h5)\n"
     "  --out FILE       the tokens file (written as FILE.partial, renamed when complete)\n"
     "  --png DIR        original | reconstruction side by side for the first N entries (default 4)\n"
     "  --png-count N"},
    {"evaluate", pd_cmd_evaluate, "recovery and perplexity on the test split",
     "usage: proteindiff evaluate RUN.cfg [--diagnose [--split train|valid|test]] [--set KEY=VALUE ...]\n\n"
     "On the test split of data.dataset: sequence recovery and perplexity of (a) diffusion design (every\n"
     "residue masked, argmax of the classifier distribution averaged over design.eval_samples samples),\n"
     "(b) the BB-VAE sequence head and (c) the composition baseline (train-split amino-acid frequencies),\n"
     "overall and per length bin (SPEC section 3). Prints a table and writes run.dir/evaluate.json;\n"
     "tools/plot-evaluate draws recovery per length bin. Test entries are shared over the ranks.\n\n"
     "  --diagnose     instead, where the design chain loses the amino acid (docs/models/design-quality.md):\n"
     "                 the classifier on decode(true SC mu), the DiT's x0 estimate decoded at a grid of noise\n"
     "                 levels, the sampler with 1 and design.eval_samples samples, and that average at larger\n"
     "                 classifier temperatures; writes run.dir/diagnose-<split>.json\n"
     "  --split S      the split --diagnose reads (default test; valid to choose\n"
     "                 design.classifier_temperature)"},
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
     "featurize -> train sc_vae -> encode sc_vae -> train bb_vae -> encode bb_vae -> train diffusion ->\n"
     "evaluate, in this one MPI job. Each step is skipped when its output is complete: the dataset is\n"
     "complete; the stage's newest checkpoint is at train.<stage>.steps (a partial stage resumes from it);\n"
     "the latents are complete and were encoded from that checkpoint; run.dir/evaluate.json exists and\n"
     "nothing before it ran. Run it again after an interruption to continue."},
    {"config", pd_cmd_config, "check a run file, print the effective settings or the reference",
     "usage: proteindiff config RUN.cfg [--set KEY=VALUE ...]   validate and print effective settings\n"
     "       proteindiff config --reference                     every key, as Markdown\n"
     "       proteindiff config --defaults                      a run file with every default"},
    {"version", pd_cmd_version, "version and build configuration",
     "usage: proteindiff version"},
};

const int pd_n_commands = (int)(sizeof pd_commands / sizeof pd_commands[0]);
