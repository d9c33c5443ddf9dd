/* stage_tokenizer.h — what the tokenizer's training adapter shares with `proteindiff tokenize`:
 * which entries it uses and how (length bins, the trained maximum, windows of longer chains),
 * reading an entry's image. A tokenizer checkpoint is loaded for inference with
 * pd_checkpoint_load_stage (train/checkpoint.h). */
#ifndef PD_TRAIN_STAGE_TOKENIZER_H
#define PD_TRAIN_STAGE_TOKENIZER_H

#include <stdint.h>

#include "core/config.h"
#include "core/error.h"
#include "dataset/reader.h"
#include "models/tokenizer.h"
#include "train/stage.h"

/* The square side a batch of length-L images is padded to: the SPEC §3 bin's upper end, rounded
 * up to a multiple of 2^levels. */
int pd_tokstage_side(const pd_tokenizer_config *c, int L);
/* The stage's entry_plan (stage.h): entries up to model.tokenizer.max_length whole, longer ones
 * as max_length windows when model.tokenizer.crop (else left out: cost 0); cost = the padded
 * pixels side² (train.tokenizer.batch_residues counts padded pixels), group = the bin. */
void pd_tokstage_plan(const pd_config *cfg, int32_t length, int32_t *cost, int32_t *group);
/* The image of `w` consecutive residues from `offset` of an entry's L×L×3 distogram (the
 * diagonal block: exactly the distogram of that fragment) into out (w·w·3). */
void pd_tokstage_window(const uint8_t *image, int L, int offset, int w, uint8_t *out);

#endif
