/* diagnose.h — `proteindiff evaluate --diagnose`: where along the design chain (backbone →
 * BB-VAE μ → DiT → SC-VAE decoder → classifier) the amino-acid information is lost, measured on
 * the test split: the classifier on decode(true SC μ), the DiT's one-step x̂0 decoded at a grid
 * of noise levels t (from the true SC μ noised to t, nothing of the sequence shown), and the
 * full sampler with one sample and with k samples averaged; recovery and perplexity of each.
 * The k-sample average is also scored at a few larger classifier temperatures, so the valid
 * split can choose design.classifier_temperature (temperature scaling). A table on rank 0 and
 * run.dir/diagnose-<split>.json (docs/models/design-quality.md). */
#ifndef PD_DESIGN_DIAGNOSE_H
#define PD_DESIGN_DIAGNOSE_H

#include <mpi.h>

#include "core/config.h"
#include "core/error.h"

/* Collective over comm, on the entries of `split` (0 train, 1 valid, 2 test); needs the three
 * checkpoints and the encoded latents of run.dir. */
pd_status pd_diagnose_run(const pd_config *cfg, int split, MPI_Comm comm);

#endif
