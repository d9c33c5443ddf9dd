/* selection.c — parsing residue selectors and matching them against a target (selection.h). One
 * grammar for every option that names residues, so --fixed, --symmetry and the JSON rules agree
 * on what "A52" means. */
#include "design/selection.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design/target.h"

void pd_residue_label(const pd_design_target *t, int64_t i, char *buf, size_t len)
{
    const char ic = t->icode ? t->icode[i] : ' ';
    if (ic != ' ') snprintf(buf, len, "%s%d%c", t->chain_ids[t->chain[i]], t->resnum[i], ic);
    else snprintf(buf, len, "%s%d", t->chain_ids[t->chain[i]], t->resnum[i]);
}

/* One end of a number part: [-]digits followed by an optional insertion code letter. */
static const char *read_end(const char *p, long *num, char *icode)
{
    char *end;
    if (!(isdigit((unsigned char)p[0]) || (p[0] == '-' && isdigit((unsigned char)p[1])))) return NULL;
    *num = strtol(p, &end, 10);
    *icode = ' ';
    if (isalpha((unsigned char)*end)) *icode = *end++;
    return end;
}

typedef struct parsed_selector {
    int chain;              /* index into t->chain_ids */
    int whole_chain;
    long lo, hi;
    char lo_icode, hi_icode;
    int range;
} parsed_selector;

static pd_status parse_selector(const pd_design_target *t, const char *buf, const char *what, parsed_selector *ps)
{
    memset(ps, 0, sizeof *ps);
    ps->chain = -1;
    size_t best = 0;
    for (int c = 0; c < t->n_chains; c++) {
        size_t n = strlen(t->chain_ids[c]);
        if (n <= best || strncmp(buf, t->chain_ids[c], n) != 0) continue;
        const char *rest = buf + n;
        if (*rest && !isdigit((unsigned char)*rest) && !(rest[0] == '-' && isdigit((unsigned char)rest[1]))) continue;
        best = n;
        ps->chain = c;
    }
    if (ps->chain < 0) {
        char chains[512] = "";
        for (int c = 0; c < t->n_chains; c++)
            snprintf(chains + strlen(chains), sizeof chains - strlen(chains), "%s%s", c ? "," : "", t->chain_ids[c]);
        return pd_fail(PD_ERR_USAGE, "%s: '%s' does not start with a chain designed in %s (its chains: %s; write A12, "
                       "A52A, A1-20 or A)", what, buf, t->source, chains);
    }
    const char *p = buf + best;
    if (!*p) {
        ps->whole_chain = 1;
        return PD_OK;
    }
    p = read_end(p, &ps->lo, &ps->lo_icode);
    if (!p) return pd_fail(PD_ERR_USAGE, "%s: cannot read a residue number in '%s' (structure %s)", what, buf, t->source);
    ps->hi = ps->lo;
    ps->hi_icode = ps->lo_icode;
    if (*p == '-') {
        p = read_end(p + 1, &ps->hi, &ps->hi_icode);
        if (!p) return pd_fail(PD_ERR_USAGE, "%s: cannot read the end of the range in '%s' (structure %s)", what, buf, t->source);
        ps->range = 1;
    }
    if (*p) return pd_fail(PD_ERR_USAGE, "%s: unexpected '%s' in '%s' (write A12, A52A, A1-20 or A)", what, p, buf);
    if (ps->range && (ps->hi < ps->lo || (ps->hi == ps->lo && ps->hi_icode < ps->lo_icode)))
        return pd_fail(PD_ERR_USAGE, "%s: the range in '%s' ends before it starts", what, buf);
    return PD_OK;
}

/* The item as a C string, parsed: fails naming it when it is too long or malformed. */
static pd_status parse_item(const pd_design_target *t, const char *item, size_t len, const char *what, char *buf,
                            size_t cap, parsed_selector *ps)
{
    if (len >= cap) return pd_fail(PD_ERR_USAGE, "%s: selector '%.*s' is too long", what, (int)len, item);
    memcpy(buf, item, len);
    buf[len] = '\0';
    return parse_selector(t, buf, what, ps);
}

/* When the number exists only with insertion codes, say so: "A52" does not name 52A. */
static const char *icode_hint(const pd_design_target *t, const parsed_selector *ps)
{
    if (ps->range || ps->whole_chain) return "";
    for (int64_t i = 0; i < t->length; i++)
        if (t->chain[i] == ps->chain && t->resnum[i] == ps->lo && t->icode[i] != ps->lo_icode)
            return " (that number exists with another insertion code: A52 names 52 only, A52A names 52A only)";
    return "";
}

static int64_t find_exact(const pd_design_target *t, int chain, long num, char icode)
{
    for (int64_t i = 0; i < t->length; i++)
        if (t->chain[i] == chain && t->resnum[i] == num && t->icode[i] == icode) return i;
    return -1;
}

pd_status pd_select_residues(const pd_design_target *t, const char *item, size_t len, const char *what, uint8_t *mark,
                             int64_t *hits)
{
    char buf[128];
    *hits = 0;
    parsed_selector ps;
    PD_TRY(parse_item(t, item, len, what, buf, sizeof buf, &ps));
    const int ends_with_icode = ps.range && (ps.lo_icode != ' ' || ps.hi_icode != ' ');
    if (ends_with_icode) {
        const int64_t a = find_exact(t, ps.chain, ps.lo, ps.lo_icode), b = find_exact(t, ps.chain, ps.hi, ps.hi_icode);
        if (a < 0 || b < 0 || b < a)
            return pd_fail(PD_ERR_USAGE, "%s: '%s' needs both ends in chain %s of %s, in chain order", what, buf,
                           t->chain_ids[ps.chain], t->source);
        for (int64_t i = a; i <= b; i++) mark[i] = 1;
        *hits = b - a + 1;
        return PD_OK;
    }
    for (int64_t i = 0; i < t->length; i++) {
        if (t->chain[i] != ps.chain) continue;
        int in;
        if (ps.whole_chain) in = 1;
        else if (ps.range) in = t->resnum[i] >= ps.lo && t->resnum[i] <= ps.hi;
        else in = t->resnum[i] == ps.lo && t->icode[i] == ps.lo_icode;
        if (in) {
            mark[i] = 1;
            (*hits)++;
        }
    }
    if (!*hits)
        return pd_fail(PD_ERR_USAGE, "%s: no residue of chain %s of %s is numbered as in '%s'%s", what,
                       t->chain_ids[ps.chain], t->source, buf, icode_hint(t, &ps));
    return PD_OK;
}

pd_status pd_select_one(const pd_design_target *t, const char *item, size_t len, const char *what, int64_t *index)
{
    char buf[128];
    parsed_selector ps;
    PD_TRY(parse_item(t, item, len, what, buf, sizeof buf, &ps));
    if (ps.whole_chain || ps.range)
        return pd_fail(PD_ERR_USAGE, "%s: '%s' must name one residue (like A12 or A52A), not a chain or a range", what, buf);
    *index = find_exact(t, ps.chain, ps.lo, ps.lo_icode);
    if (*index < 0)
        return pd_fail(PD_ERR_USAGE, "%s: no residue of chain %s of %s is numbered as in '%s'%s", what,
                       t->chain_ids[ps.chain], t->source, buf, icode_hint(t, &ps));
    return PD_OK;
}
