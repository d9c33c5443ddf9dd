/* fuzz_runfile.c — libFuzzer target for the run-file loader: any bytes given as a run file
 * (and as a --set override) must produce PD_OK or a clean error, never a crash or a leak. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    pd_config cfg;
    if (pd_config_load(&cfg, "fuzz.cfg", text, 0, NULL) == PD_OK) {
        char *eff = pd_config_effective_text(&cfg);
        free(eff);
        (void)pd_config_check_inputs(&cfg);
    }
    pd_config_free(&cfg);
    /* The same bytes as a command-line override (up to the first NUL). */
    char *set[1] = {text};
    if (pd_config_load(&cfg, "fuzz.cfg", "", 1, set) == PD_OK) free(pd_config_effective_text(&cfg));
    pd_config_free(&cfg);
    free(text);
    return 0;
}
