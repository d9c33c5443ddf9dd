/* test_config.c — the run-file loader: defaults, types, ranges, unknown keys with
 * suggestions, --set overrides, per-stage values, and the effective text round trip. */
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "test.h"

static pd_status load(pd_config *c, const char *text, int n, char **sets)
{
    return pd_config_load(c, "t.cfg", text, n, sets);
}

int main(void)
{
    pd_config c;

    /* Defaults. */
    CHECK(pd_config_defaults(&c, 0, NULL) == PD_OK);
    CHECK(pd_cfg_int(&c, "featurize.min_len") == 40);
    CHECK(pd_cfg_int(&c, "featurize.max_len") == 1024);
    CHECK_NEAR(pd_cfg_float(&c, "featurize.voxel_cell"), 0.75, 0);
    CHECK(!strcmp(pd_cfg_str(&c, "featurize.unit"), "chain"));
    CHECK(!strcmp(pd_cfg_str(&c, "parallel.strategy"), "ddp"));
    CHECK(pd_cfg_list_len(&c, "data.inputs") == 0);
    pd_config_free(&c);

    /* Values from a file, integers accepted where numbers are expected. */
    const char *good = "data = { inputs = [\"a\", \"b\"]; dataset = \"x.h5\"; };\n"
                       "featurize = { min_len = 30; voxel_cell = 1; };\n"
                       "train = { lr = 1e-3; sc_vae = { lr = 5e-4; steps = 7; }; };\n";
    CHECK(load(&c, good, 0, NULL) == PD_OK);
    CHECK(pd_cfg_list_len(&c, "data.inputs") == 2);
    CHECK(!strcmp(pd_cfg_list_str(&c, "data.inputs", 1), "b"));
    CHECK(pd_cfg_int(&c, "featurize.min_len") == 30);
    CHECK_NEAR(pd_cfg_float(&c, "featurize.voxel_cell"), 1.0, 0);
    CHECK_NEAR(pd_cfg_stage_float(&c, "sc_vae", "lr"), 5e-4, 0);
    CHECK_NEAR(pd_cfg_stage_float(&c, "bb_vae", "lr"), 1e-3, 0);
    CHECK(pd_cfg_stage_int(&c, "sc_vae", "steps") == 7);
    CHECK(pd_cfg_stage_int(&c, "bb_vae", "steps") == 1000);
    CHECK(pd_cfg_is_set(&c, "train.lr"));
    CHECK(!pd_cfg_is_set(&c, "train.seed"));

    /* The effective text is itself a valid run file with the same values. */
    char *eff = pd_config_effective_text(&c);
    pd_config c2;
    CHECK_MSG(load(&c2, eff, 0, NULL) == PD_OK, "%s\n%s", pd_last_error(), eff);
    CHECK_NEAR(pd_cfg_stage_float(&c2, "sc_vae", "lr"), 5e-4, 0);
    CHECK(pd_cfg_list_len(&c2, "data.inputs") == 2);
    CHECK(pd_cfg_int(&c2, "featurize.min_len") == 30);
    free(eff);
    pd_config_free(&c2);
    pd_config_free(&c);

    /* A misspelled key names file, line, key and the nearest valid key. */
    CHECK(load(&c, "featurize = {\n  min_len = 30;\n  max_lenn = 50;\n};\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "t.cfg:3") != NULL, "%s", pd_last_error());
    CHECK_MSG(strstr(pd_last_error(), "featurize.max_lenn") != NULL, "%s", pd_last_error());
    CHECK_MSG(strstr(pd_last_error(), "did you mean 'featurize.max_len'") != NULL, "%s", pd_last_error());
    pd_config_free(&c);

    /* Unknown group. */
    CHECK(load(&c, "featurise = { min_len = 30; };\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "did you mean") != NULL, "%s", pd_last_error());
    pd_config_free(&c);

    /* Wrong type and out of range. */
    CHECK(load(&c, "featurize = { min_len = \"forty\"; };\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "must be an integer") != NULL, "%s", pd_last_error());
    pd_config_free(&c);
    CHECK(load(&c, "featurize = { voxel_cell = -1.0; };\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "out of range") != NULL, "%s", pd_last_error());
    pd_config_free(&c);
    CHECK(load(&c, "parallel = { strategy = \"zero3\"; };\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "ddp|zero1|zero2|fsdp|hsdp") != NULL, "%s", pd_last_error());
    pd_config_free(&c);
    CHECK(load(&c, "featurize = { voxel_size = 12; };\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "power of two") != NULL, "%s", pd_last_error());
    pd_config_free(&c);
    CHECK(load(&c, "featurize = { min_len = 500; max_len = 100; };\n", 0, NULL) == PD_ERR_CONFIG);
    pd_config_free(&c);

    /* Syntax error names the line. */
    CHECK(load(&c, "a = {\n b = ;\n};\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "t.cfg:2") != NULL, "%s", pd_last_error());
    pd_config_free(&c);

    /* Overrides. */
    char *sets[] = {"train.lr=3e-4", "data.inputs=x,y,z", "train.resume=true", "design.temperatures=[0.1, 0.3]",
                    "featurize.unit=assembly", "train.tokenizer.steps=5"};
    CHECK(load(&c, good, 6, sets) == PD_OK);
    CHECK_NEAR(pd_cfg_float(&c, "train.lr"), 3e-4, 0);
    CHECK(pd_cfg_list_len(&c, "data.inputs") == 3);
    CHECK(!strcmp(pd_cfg_list_str(&c, "data.inputs", 2), "z"));
    CHECK(pd_cfg_bool(&c, "train.resume") == 1);
    CHECK(pd_cfg_list_len(&c, "design.temperatures") == 2);
    CHECK_NEAR(pd_cfg_list_float(&c, "design.temperatures", 1), 0.3, 1e-15);
    CHECK(!strcmp(pd_cfg_str(&c, "featurize.unit"), "assembly"));
    CHECK(pd_cfg_stage_int(&c, "tokenizer", "steps") == 5);
    pd_config_free(&c);

    char *bad1[] = {"train.lrr=3e-4"};
    CHECK(load(&c, "", 1, bad1) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "did you mean 'train.lr'") != NULL, "%s", pd_last_error());
    pd_config_free(&c);
    char *bad2[] = {"train.steps=many"};
    CHECK(load(&c, "", 1, bad2) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "--set train.steps=many") != NULL, "%s", pd_last_error());
    pd_config_free(&c);
    char *bad3[] = {"train.steps"};
    CHECK(load(&c, "", 1, bad3) == PD_ERR_CONFIG);
    pd_config_free(&c);
    /* The classifier phase must leave the VAE at least one step; the error names where it was set. */
    CHECK(load(&c, "train = {\n  sc_vae = { steps = 100; classifier_steps = 100; };\n};\n", 0, NULL) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "t.cfg:2") && strstr(pd_last_error(), "'train.sc_vae.classifier_steps' = 100"),
              "%s", pd_last_error());
    pd_config_free(&c);
    char *phases[] = {"train.sc_vae.steps=100", "train.sc_vae.classifier_steps=99"};
    CHECK(load(&c, "", 2, phases) == PD_OK);
    pd_config_free(&c);

    /* Missing inputs. */
    char *in1[] = {"data.inputs=/nonexistent/really"};
    CHECK(load(&c, "", 1, in1) == PD_OK);
    CHECK(pd_config_check_inputs(&c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "/nonexistent/really") != NULL, "%s", pd_last_error());
    pd_config_free(&c);
    CHECK(load(&c, "data = {\n inputs = [\"/\", \"/nope*\"];\n};\n", 0, NULL) == PD_OK);
    CHECK(pd_config_check_inputs(&c) == PD_ERR_CONFIG);
    CHECK_MSG(strstr(pd_last_error(), "t.cfg:2") != NULL, "%s", pd_last_error());
    pd_config_free(&c);

    CHECK(pd_edit_distance("kitten", "sitting") == 3);
    CHECK(pd_edit_distance("", "abc") == 3);
    return pd_test_finish("test_config");
}
