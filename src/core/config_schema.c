/* config_schema.c — every run-file key proteindiff knows, with type, default, range and
 * meaning. The loader validates against this table and `proteindiff config --reference`
 * prints it as docs/run-file.md. Add a key here before reading it anywhere. */
#include "core/config.h"

#define NR 1, 0 /* no numeric range */

const char *const pd_cfg_stages[] = {"sc_vae", "bb_vae", "diffusion", "tokenizer"};
const int pd_cfg_n_stages = 4;

const pd_cfg_key pd_cfg_schema[] = {
    /* ---- run */
    {"run.dir", PD_CFG_STRING, "\"runs/default\"", NR, NULL, 0,
     "Folder for every output of a run: metrics, checkpoints, designs, logs."},
    {"run.threads", PD_CFG_INT, "0", 0, 1024, NULL, 0,
     "Threads per rank for OpenBLAS and OpenMP loops; 0 = cores on the node / ranks on the node."},
    {"run.device", PD_CFG_STRING, "\"cpu\"", NR, "cpu|cuda", 0,
     "Compute backend. `cuda` needs a build configured --with-cuda and one GPU per rank."},
    {"run.precision", PD_CFG_STRING, "\"fp32\"", NR, "fp32|bf16", 0,
     "GEMM precision on the GPU: `bf16` rounds GEMM operands to bfloat16 and accumulates in fp32 (master "
     "weights, gradients and AdamW moments stay fp32); `fp32` is full fp32 (no TF32). The CPU always "
     "computes in fp32."},
    {"run.gpu_arena_mb", PD_CFG_INT, "512", 16, 65536, NULL, 0,
     "MiB of GPU workspace per training graph (run.device = cuda): bf16 operand copies, reduction partials, "
     "index plans and RoPE tables of one step. Activations live in managed memory and do not count here."},
    {"run.memory_budget_mb", PD_CFG_INT, "0", 0, 1e9, NULL, 0,
     "MiB of memory each rank may use for training state and activations; training splits a rank's "
     "share of the global batch into micro-batches that fit (train.micro_batch_residues = 0), and a run "
     "whose plan cannot fit one entry stops before any work. encode, design, evaluate, score and tokenize "
     "plan against it too (one entry at a time; design's samples and tokenize's images in groups that fit; "
     "an entry too long for it is an error naming it). 0 = the node's available memory divided by its "
     "ranks, less 15 %."},
    {"run.progress_interval", PD_CFG_FLOAT, "10.0", 0.1, 3600, NULL, 0,
     "Seconds between progress lines when output is not a terminal (batch logs)."},

    /* ---- data */
    {"data.inputs", PD_CFG_STRING_LIST, "[]", NR, NULL, 0,
     "Structure files, folders, globs, or list files (*.txt, one path per line). "
     "PDB/mmCIF, gzipped or not (.pdb .ent .cif .mmcif, optionally .gz)."},
    {"data.dataset", PD_CFG_STRING, "\"dataset.h5\"", NR, NULL, 0,
     "The dataset HDF5 path: written by featurize, read by every later stage."},
    {"data.split_file", PD_CFG_STRING, "\"\"", NR, NULL, 0,
     "Optional explicit split: lines `<entry name> train|valid|test`. Empty = hash split."},
    {"data.valid_fraction", PD_CFG_FLOAT, "0.05", 0, 1, NULL, 0,
     "Fraction of entries in the valid split (FNV-1a-64 hash of the entry name)."},
    {"data.test_fraction", PD_CFG_FLOAT, "0.05", 0, 1, NULL, 0,
     "Fraction of entries in the test split (FNV-1a-64 hash of the entry name)."},

    /* ---- featurize */
    {"featurize.unit", PD_CFG_STRING, "\"chain\"", NR, "chain|assembly", 0,
     "Unit of data: one protein chain, or all protein chains of the first model together."},
    {"featurize.min_len", PD_CFG_INT, "40", 1, 100000, NULL, 0,
     "Entries with fewer residues are skipped (recorded in /failed)."},
    {"featurize.max_len", PD_CFG_INT, "1024", 1, 100000, NULL, 0,
     "Entries with more residues are skipped (recorded in /failed)."},
    {"featurize.voxel_size", PD_CFG_INT, "16", 2, 64, NULL, 0,
     "Side of the per-residue divergence voxel grid V (a power of two)."},
    {"featurize.voxel_cell", PD_CFG_FLOAT, "0.75", 0.05, 10, NULL, 0,
     "Voxel cell edge in Angstrom."},
    {"featurize.compression", PD_CFG_INT, "0", 0, 9, NULL, 0,
     "gzip level for /voxels/divergence (0 = none); compressed writes are collective filtered writes."},
    {"featurize.files_per_round", PD_CFG_INT, "16", 1, 100000, NULL, 0,
     "Files each rank featurizes before a collective write; bounds memory whatever the input size."},
    {"featurize.charges", PD_CFG_STRING, "\"\"", NR, NULL, 0,
     "ff19SB united-atom charge table (TSV); empty = the built-in copy of the table."},

    /* ---- parallel */
    {"parallel.strategy", PD_CFG_STRING, "\"ddp\"", NR, "ddp|zero1|zero2|fsdp|hsdp", 0,
     "Parameter/gradient/optimizer sharding strategy for training."},
    {"parallel.shard_group", PD_CFG_INT, "0", 0, 1 << 20, NULL, 0,
     "Ranks per shard group for fsdp/hsdp; 0 = ranks per node."},
    {"parallel.bucket_mb", PD_CFG_FLOAT, "25", 0.01, 4096, NULL, 0,
     "Gradient bucket size in MiB for ddp allreduce overlapping backward."},

    /* ---- train (each also settable per stage as train.<stage>.<name>) */
    {"train.steps", PD_CFG_INT, "1000", 0, 1e12, NULL, 1, "Optimizer steps."},
    {"train.seed", PD_CFG_INT, "1234", 0, 9.2e18, NULL, 1, "Seed of every random choice (counter-based RNG)."},
    {"train.batch_residues", PD_CFG_INT, "4096", 1, 1e12, NULL, 1,
     "Global batch size in residues (independent of the number of ranks)."},
    {"train.micro_batch_residues", PD_CFG_INT, "0", 0, 1e12, NULL, 1,
     "Largest micro-batch in residues: a rank splits its share of the global batch into micro-batches "
     "of at most this many (and within run.memory_budget_mb), accumulates their gradients and steps once "
     "(the same losses as the whole batch); an entry longer is cut into residue ranges by sc_vae (whose "
     "residues are independent samples) and forms a micro-batch alone in the other stages. 0 = the largest "
     "that fits run.memory_budget_mb. The tokenizer always runs its whole share in one forward."},
    {"train.residue_sample", PD_CFG_INT, "0", 0, 1e12, NULL, 1,
     "sc_vae: residues per step drawn at random from the batch's entries (each kept with probability "
     "residue_sample / batch_residues); 0 = every residue of the batch."},
    {"train.classifier_steps", PD_CFG_INT, "0", 0, 1e12, NULL, 1,
     "sc_vae: train in two phases, the VAE alone for steps - classifier_steps steps, then the "
     "classifier alone on decode(mu) for the last classifier_steps, each phase with its own warmup "
     "and cosine; 0 = both together every step (SPEC.md section 7)."},
    {"train.lr", PD_CFG_FLOAT, "3e-4", 0, 10, NULL, 1, "Peak learning rate (AdamW)."},
    {"train.min_lr_ratio", PD_CFG_FLOAT, "0.1", 0, 1, NULL, 1, "Final learning rate as a fraction of the peak (cosine)."},
    {"train.warmup", PD_CFG_INT, "100", 0, 1e12, NULL, 1, "Linear warmup steps."},
    {"train.weight_decay", PD_CFG_FLOAT, "0.01", 0, 10, NULL, 1, "Decoupled weight decay (matrices only)."},
    {"train.beta1", PD_CFG_FLOAT, "0.9", 0, 1, NULL, 1, "AdamW beta1."},
    {"train.beta2", PD_CFG_FLOAT, "0.999", 0, 1, NULL, 1, "AdamW beta2."},
    {"train.grad_clip", PD_CFG_FLOAT, "1.0", 0, 1e9, NULL, 1, "Clip gradients to this global norm (0 = off)."},
    {"train.val_every", PD_CFG_INT, "200", 0, 1e12, NULL, 1, "Evaluate on the valid split every K steps (0 = only at the end)."},
    {"train.log_every", PD_CFG_INT, "10", 1, 1e12, NULL, 1, "Progress line every K steps (metrics.jsonl gets every step)."},
    {"train.checkpoint_every", PD_CFG_INT, "500", 0, 1e12, NULL, 1, "Checkpoint every K steps (0 = only at the end)."},
    {"train.keep_checkpoints", PD_CFG_INT, "3", 1, 1000, NULL, 1, "Keep the newest M checkpoints."},
    {"train.resume", PD_CFG_BOOL, "false", NR, NULL, 1, "Continue from the newest complete checkpoint in run.dir."},

    /* ---- models (SPEC.md section 7; CPU-sized defaults) */
    {"model.sc_vae.width", PD_CFG_INT, "8", 1, 4096, NULL, 0, "First conv width, doubling per stage."},
    {"model.sc_vae.latent", PD_CFG_INT, "16", 1, 4096, NULL, 0, "Side-chain latent size."},
    {"model.sc_vae.beta_kl", PD_CFG_FLOAT, "1e-3", 0, 1e6, NULL, 0, "KL weight."},
    {"model.sc_vae.classifier_own_trunk", PD_CFG_BOOL, "true", NR, NULL, 0,
     "The classifier has its own copy of the encoder trunk, trained by its cross-entropy (false: it "
     "reuses the encoder's trunk with features detached, and only its Linear trains)."},
    {"model.sc_vae.classifier_input_weight", PD_CFG_FLOAT, "0", 0, 1e6, NULL, 0,
     "Weight of an extra cross-entropy of the classifier on the input voxels (0: it learns from "
     "reconstructions only, as SPEC.md section 7)."},
    {"model.bb_vae.width", PD_CFG_INT, "64", 1, 8192, NULL, 0, "Node/edge width of the message-passing encoder."},
    {"model.bb_vae.layers", PD_CFG_INT, "3", 1, 256, NULL, 0, "Message-passing layers."},
    {"model.bb_vae.neighbors", PD_CFG_INT, "16", 1, 256, NULL, 0, "k nearest neighbours by CA distance (self included)."},
    {"model.bb_vae.latent", PD_CFG_INT, "32", 1, 8192, NULL, 0, "Backbone latent size."},
    {"model.bb_vae.decoder_layers", PD_CFG_INT, "2", 1, 256, NULL, 0, "Post-LN transformer decoder layers."},
    {"model.bb_vae.heads", PD_CFG_INT, "4", 1, 256, NULL, 0, "Decoder attention heads."},
    {"model.bb_vae.beta_kl", PD_CFG_FLOAT, "1e-3", 0, 1e6, NULL, 0, "KL weight."},
    {"model.diffusion.depth", PD_CFG_INT, "4", 1, 256, NULL, 0, "DiT blocks."},
    {"model.diffusion.width", PD_CFG_INT, "128", 1, 16384, NULL, 0, "DiT width."},
    {"model.diffusion.heads", PD_CFG_INT, "4", 1, 256, NULL, 0, "DiT attention heads."},
    {"model.diffusion.timesteps", PD_CFG_INT, "1000", 2, 100000, NULL, 0, "Diffusion steps T (cosine schedule)."},
    {"model.diffusion.target", PD_CFG_STRING, "\"eps\"", NR, "eps|x0", 0, "What the denoiser predicts."},
    {"model.diffusion.geometry", PD_CFG_STRING, "\"none\"", NR, "none|backbone", 0,
     "Backbone geometry in the DiT: none (SPEC), or backbone (dihedral and burial features per residue, a pair bias per head from Cb distances, orientation and relative position)."},
    {"model.diffusion.pair_values", PD_CFG_BOOL, "false", NR, NULL, 0,
     "Needs geometry backbone: every attention head also sums the pair features of the keys it attends to (weighted by its attention) into the block's output."},
    {"model.diffusion.sequence_loss", PD_CFG_FLOAT, "0.0", 0, 1e6, NULL, 0,
     "Weight of an auxiliary sequence loss: the cross-entropy of the native amino acid under a latent classifier read on the DiT's x0 estimate (0: none, SPEC; > 0 needs target x0)."},
    {"model.diffusion.environment", PD_CFG_INT, "0", 0, 64, NULL, 0,
     "Needs geometry backbone: k > 0 adds each residue's k nearest residues (their backbone atoms and frames in the residue's frame, chain separation, distance), read by a shared MLP and pooled, to the DiT's input (0: none)."},
    {"model.diffusion.environment_width", PD_CFG_INT, "64", 1, 4096, NULL, 0,
     "Width of the shared MLP that reads each neighbour of the environment (model.diffusion.environment)."},
    {"model.diffusion.environment_layers", PD_CFG_INT, "0", 0, 8, NULL, 0,
     "Message-passing layers after the environment's reader (model.diffusion.environment): each residue reads its k neighbours' hidden states through a shared message MLP, mean-pooled, then a residual feed-forward, LayerNorm after each (0: the pooled reader alone)."},
    {"model.diffusion.design_fraction", PD_CFG_FLOAT, "0.0", 0, 1, NULL, 0,
     "Share of training entries drawn as design asks: pure noise (t = T-1) and every amino acid masked; the others draw t and the revealed share uniformly (0: SPEC)."},
    {"model.diffusion.sequence_head", PD_CFG_STRING, "\"latent\"", NR, "latent|hidden", 0,
     "What the sequence loss's weighted term reads (needs sequence_loss > 0): latent, the latent classifier on the DiT's x0 estimate; or hidden, a head (W -> W -> 20) on the DiT's last hidden state, which design.classifier = hidden then reads."},
    {"model.tokenizer.levels", PD_CFG_INT, "3", 1, 12, NULL, 0, "Hierarchy levels n (image side padded to a multiple of 2^n)."},
    {"model.tokenizer.width", PD_CFG_INT, "128", 1, 16384, NULL, 0, "Transformer width."},
    {"model.tokenizer.mlp", PD_CFG_INT, "256", 1, 65536, NULL, 0, "MLP hidden width."},
    {"model.tokenizer.heads", PD_CFG_INT, "4", 1, 256, NULL, 0, "Attention heads."},
    {"model.tokenizer.latent_dim", PD_CFG_INT, "64", 1, 16384, NULL, 0, "Q/K/V projection size."},
    {"model.tokenizer.rope_dim", PD_CFG_INT, "8", 0, 16384, NULL, 0, "Rotary dims per head."},
    {"model.tokenizer.codebook", PD_CFG_INT, "512", 2, 1 << 20, NULL, 0, "Codes per level."},
    {"model.tokenizer.blocks", PD_CFG_INT, "1", 0, 64, NULL, 0, "Transformer blocks per level."},
    {"model.tokenizer.beta", PD_CFG_FLOAT, "0.25", 0, 100, NULL, 0, "Commitment loss weight."},
    {"model.tokenizer.ema_decay", PD_CFG_FLOAT, "0.99", 0, 1, NULL, 0, "EMA codebook decay."},
    {"model.tokenizer.dead_threshold", PD_CFG_FLOAT, "0.1", 0, 1e9, NULL, 0,
     "A code whose EMA count falls below this is re-seeded from an encoder output (0 = never)."},
    {"model.tokenizer.data_init", PD_CFG_BOOL, "true", NR, NULL, 0,
     "The first codebook update re-seeds every code from encoder outputs (else codes start N(0,1))."},
    {"model.tokenizer.max_length", PD_CFG_INT, "64", 1, 100000, NULL, 0,
     "Longest entry trained on and tokenized whole (its length bin's side). Attention over all pixels "
     "costs memory ~ side^4 per image (a 128 bin image needs 16x a 64 one), so the CPU default keeps "
     "the (40,64) bin; 1024 covers every SPEC bin (GPU scale)."},
    {"model.tokenizer.crop", PD_CFG_BOOL, "true", NR, NULL, 0,
     "Train on entries longer than max_length as windows of max_length consecutive residues (the "
     "diagonal block of the distogram; random per step, centred in validation); false = leave them out."},

    /* ---- design */
    {"design.sampler", PD_CFG_STRING, "\"ddim\"", NR, "ddim|ddpm", 0, "Diffusion sampler."},
    {"design.steps", PD_CFG_INT, "50", 1, 100000, NULL, 0, "Sampler steps (DDIM)."},
    {"design.samples", PD_CFG_INT, "4", 1, 1000000, NULL, 0, "Sequences per structure and temperature."},
    {"design.temperatures", PD_CFG_FLOAT_LIST, "[0.1]", 0, 100, NULL, 0, "Sampling temperatures (0 = argmax)."},
    {"design.seed", PD_CFG_INT, "1", 0, 9.2e18, NULL, 0, "Seed of the design samplers."},
    {"design.sc_vae_checkpoint", PD_CFG_STRING, "\"\"", NR, NULL, 0,
     "SC-VAE checkpoint for design/evaluate (empty = newest complete one in run.dir/checkpoints)."},
    {"design.bb_vae_checkpoint", PD_CFG_STRING, "\"\"", NR, NULL, 0,
     "BB-VAE checkpoint for design/evaluate (empty = newest complete one in run.dir/checkpoints)."},
    {"design.diffusion_checkpoint", PD_CFG_STRING, "\"\"", NR, NULL, 0,
     "Diffusion checkpoint for design/evaluate (empty = newest complete one in run.dir/checkpoints)."},
    {"design.eval_samples", PD_CFG_INT, "1", 1, 1000, NULL, 0,
     "evaluate: diffusion samples per test entry; their classifier distributions are averaged."},
    {"design.decode_rows", PD_CFG_INT, "512", 1, 1 << 24, NULL, 0,
     "Residues decoded by the SC-VAE decoder + classifier at once (bounds design memory)."},
    {"design.classifier", PD_CFG_STRING, "\"decoder\"", NR, "decoder|latent|hidden", 0,
     "What gives the amino-acid distribution: the SC-VAE decoder + amino-acid classifier on the sampled side-chain latents (SPEC §7); "
     "the DiT's own latent classifier on them (trained with model.diffusion.sequence_loss > 0); or the DiT's sequence head on its last "
     "hidden state at the sampler's last call (model.diffusion.sequence_head = hidden)."},
    {"design.classifier_temperature", PD_CFG_FLOAT, "1.0", 0.05, 100, NULL, 0,
     "The classifier's logits are divided by this before its distribution is used (temperature scaling: fit it on the valid split with evaluate --diagnose --split valid; 1 = as trained)."},

    /* ---- debug (used by tests) */
    {"debug.fail_rank", PD_CFG_INT, "-1", -1, 1 << 20, NULL, 0,
     "Force an error on this rank after start-up (tests the collective failure path); -1 = off."},
    {"debug.checkpoint_stall", PD_CFG_FLOAT, "0", 0, 3600, NULL, 0,
     "Seconds every checkpoint write pauses before the file is complete (tests killing a writer); 0 = off."},
};

const int pd_cfg_schema_len = (int)(sizeof pd_cfg_schema / sizeof pd_cfg_schema[0]);
