/* target.c — one structure file to a design target (target.h): chain selection, --fixed
 * (selectors of selection.h), --sequence-prefill records and the FASTA reader they come from, and
 * the per-residue rules and ties resolved for this structure. */
#include "design/target.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "design/selection.h"
#include "design/sequence.h"
#include "design/symmetry.h"
#include "features/featurize.h"
#include "features/entry.h"
#include "models/diffusion.h"
#include "structure/structure.h"

/* ---- FASTA ---------------------------------------------------------------------------------- */

void pd_fasta_free(pd_fasta_records *f)
{
    for (int i = 0; i < f->n; i++) {
        free(f->name[i]);
        free(f->seq[i]);
    }
    free(f->name);
    free(f->seq);
    memset(f, 0, sizeof *f);
}

static pd_status fasta_add(pd_fasta_records *f, const char *header)
{
    char **n2 = realloc(f->name, (size_t)(f->n + 1) * sizeof *n2);
    if (n2) f->name = n2;
    char **s2 = realloc(f->seq, (size_t)(f->n + 1) * sizeof *s2);
    if (s2) f->seq = s2;
    if (!n2 || !s2) return pd_fail(PD_ERR_NOMEM, "reading FASTA records");
    size_t len = strcspn(header, " \t,\r\n");
    f->name[f->n] = pd_malloc(len + 1);
    f->seq[f->n] = pd_strdup("");
    if (!f->name[f->n] || !f->seq[f->n]) return PD_ERR_NOMEM;
    memcpy(f->name[f->n], header, len);
    f->name[f->n][len] = '\0';
    f->n++;
    return PD_OK;
}

pd_status pd_fasta_read(const char *path, pd_fasta_records *out)
{
    memset(out, 0, sizeof *out);
    FILE *fp = fopen(path, "r");
    if (!fp) return pd_fail(PD_ERR_IO, "cannot open the FASTA file %s", path);
    char line[65536];
    pd_status st = PD_OK;
    int lineno = 0;
    while (st == PD_OK && fgets(line, sizeof line, fp)) {
        lineno++;
        if (line[0] == '>') {
            st = fasta_add(out, line + 1);
            continue;
        }
        size_t add = 0;
        for (char *c = line; *c; c++) add += !isspace((unsigned char)*c) && *c != '/';
        if (!add) continue;
        if (out->n == 0) {
            st = pd_fail(PD_ERR_PARSE, "%s line %d: sequence before the first '>' header", path, lineno);
            break;
        }
        char *s = out->seq[out->n - 1];
        size_t have = strlen(s);
        char *grown = realloc(s, have + add + 1);
        if (!grown) {
            st = pd_fail(PD_ERR_NOMEM, "reading %s", path);
            break;
        }
        for (char *c = line; *c; c++)
            if (!isspace((unsigned char)*c) && *c != '/') grown[have++] = *c;
        grown[have] = '\0';
        out->seq[out->n - 1] = grown;
    }
    fclose(fp);
    if (st == PD_OK && out->n == 0) st = pd_fail(PD_ERR_PARSE, "%s has no FASTA record", path);
    if (st != PD_OK) pd_fasta_free(out);
    return st;
}

/* ---- target ----------------------------------------------------------------------------------- */

void pd_design_target_free(pd_design_target *t)
{
    for (int c = 0; c < t->n_chains; c++) free(t->chain_ids[c]);
    free(t->chain_ids);
    free(t->chain_len);
    free(t->name);
    free(t->source);
    free(t->atom14);
    free(t->chain);
    free(t->resnum);
    free(t->icode);
    free(t->tie);
    free(t->rules);
    free(t->native);
    free(t->fixed);
    free(t->tokens);
    memset(t, 0, sizeof *t);
}

/* Is chain id `id` in the comma/space separated list? */
static int in_list(const char *list, const char *id)
{
    size_t n = strlen(id);
    for (const char *p = list; *p;) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        size_t len = strcspn(p, ", \t");
        if (len == n && !strncmp(p, id, n)) return 1;
        p += len;
    }
    return 0;
}

static pd_status select_chains(const pd_structure *s, const char *path, const char *chains, int *use)
{
    char present[1024] = "";
    for (int c = 0; c < s->n_chains; c++) {
        use[c] = !chains || !chains[0] || in_list(chains, s->chains[c].id);
        snprintf(present + strlen(present), sizeof present - strlen(present), "%s%s", c ? "," : "", s->chains[c].id);
    }
    for (const char *p = chains; p && *p;) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        size_t len = strcspn(p, ", \t");
        if (!len) break;
        int found = 0;
        for (int c = 0; c < s->n_chains; c++)
            found |= strlen(s->chains[c].id) == len && !strncmp(p, s->chains[c].id, len);
        if (!found)
            return pd_fail(PD_ERR_USAGE, "--chains: %s has no protein chain '%.*s' (its protein chains: %s)", path,
                           (int)len, p, present[0] ? present : "none");
        p += len;
    }
    return PD_OK;
}

static const char *find_prefill(const pd_fasta_records *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->name[i], name)) return f->seq[i];
    return f->n == 1 ? f->seq[0] : NULL;
}

static pd_status apply_fixed(pd_design_target *t, const pd_design_target_opts *o)
{
    const int64_t L = t->length;
    uint8_t *mark = pd_calloc((size_t)L + 1, 1);
    if (!mark) return PD_ERR_NOMEM;
    pd_status st = PD_OK;
    const char *prefill = NULL;
    if (o->prefill) {
        prefill = find_prefill(o->prefill, t->name);
        if (!prefill)
            st = pd_fail(PD_ERR_USAGE, "--sequence-prefill has %d records and none is named '%s'", o->prefill->n, t->name);
        else if ((int64_t)strlen(prefill) != L)
            st = pd_fail(PD_ERR_USAGE, "--sequence-prefill: the sequence for %s has %zu residues but the chains designed have "
                         "%lld", t->name, strlen(prefill), (long long)L);
    }
    const int have_fixed = o->fixed && strspn(o->fixed, " ,\t") < strlen(o->fixed);
    for (const char *p = o->fixed; st == PD_OK && p && *p;) {
        while (*p == ',' || isspace((unsigned char)*p)) p++;
        size_t len = strcspn(p, ", \t");
        if (!len) break;
        int64_t hits;
        st = pd_select_residues(t, p, len, "--fixed", mark, &hits);
        p += len;
    }
    for (int64_t i = 0; st == PD_OK && i < L; i++) {
        const int from_prefill = prefill ? pd_aa_index(prefill[i]) : -1;
        if (!have_fixed && prefill) mark[i] = from_prefill >= 0;
        t->fixed[i] = -1;
        t->tokens[i] = PD_DIFFUSION_TOKEN_MASK;
        if (!mark[i]) continue;
        /* the only place a residue name of the input reaches the model: a position the user fixed */
        const int aa = from_prefill >= 0 ? from_prefill : t->native[i] < 20 ? t->native[i] : -1;
        if (aa < 0)
        {
            char label[64];
            pd_residue_label(t, i, label, sizeof label);
            st = pd_fail(PD_ERR_USAGE, "--fixed: residue %s of %s has no known amino acid (X or backbone-only); give it "
                         "with --sequence-prefill", label, t->source);
        }
        else {
            t->fixed[i] = aa;
            t->tokens[i] = aa;
            t->n_fixed++;
        }
    }
    free(mark);
    return st;
}

/* A tied group with a fixed residue is fixed as a whole (one amino acid per group), and the
 * members' conditioning tokens say so; two different fixed amino acids in one group are refused. */
static pd_status fix_tied_groups(pd_design_target *t)
{
    for (int64_t i = 0; i < t->length; i++) {
        const int32_t r = t->tie[i];
        if (r == i || t->fixed[i] < 0) continue;
        if (t->fixed[r] >= 0 && t->fixed[r] != t->fixed[i]) {
            char a[64], b[64];
            pd_residue_label(t, r, a, sizeof a);
            pd_residue_label(t, i, b, sizeof b);
            return pd_fail(PD_ERR_USAGE, "--symmetry: %s and %s of %s are tied but fixed to different amino acids (%c, %c)", a, b,
                           t->source, PD_AA_LETTERS[t->fixed[r]], PD_AA_LETTERS[t->fixed[i]]);
        }
        t->fixed[r] = t->fixed[i];
    }
    t->n_fixed = 0;
    for (int64_t i = 0; i < t->length; i++) {
        const int32_t aa = t->fixed[t->tie[i]];
        if (aa >= 0) {
            t->fixed[i] = aa;
            t->tokens[i] = aa;
            t->n_fixed++;
        }
    }
    return PD_OK;
}

pd_status pd_design_target_read(const char *path, const pd_design_target_opts *o, pd_design_target *t)
{
    memset(t, 0, sizeof *t);
    pd_structure s;
    PD_TRY(pd_structure_read(path, &s));
    int *use = pd_calloc((size_t)s.n_chains + 1, sizeof *use);
    pd_status st = use ? select_chains(&s, path, o->chains, use) : PD_ERR_NOMEM;
    int64_t L = 0;
    for (int c = 0; st == PD_OK && c < s.n_chains; c++)
        if (use[c]) {
            L += s.chains[c].n;
            t->n_chains++;
        }
    if (st == PD_OK && L == 0) st = pd_fail(PD_ERR_PARSE, "%s has no protein chain to design", path);
    if (st == PD_OK) {
        char stem[512];
        pd_featurize_stem(path, stem, sizeof stem);
        t->name = pd_strdup(stem);
        t->source = pd_strdup(path);
        t->length = (int32_t)L;
        t->chain_ids = pd_calloc((size_t)t->n_chains, sizeof *t->chain_ids);
        t->chain_len = pd_calloc((size_t)t->n_chains, sizeof *t->chain_len);
        t->atom14 = pd_malloc((size_t)L * PD_ATOM14 * 3 * sizeof *t->atom14);
        t->chain = pd_malloc((size_t)L);
        t->resnum = pd_malloc((size_t)L * sizeof *t->resnum);
        t->icode = pd_malloc((size_t)L);
        t->tie = pd_malloc((size_t)L * sizeof *t->tie);
        t->rules = pd_malloc((size_t)L * sizeof *t->rules);
        t->native = pd_malloc((size_t)L);
        t->fixed = pd_malloc((size_t)L * sizeof *t->fixed);
        t->tokens = pd_malloc((size_t)L * sizeof *t->tokens);
        if (!t->name || !t->source || !t->chain_ids || !t->chain_len || !t->atom14 || !t->chain || !t->resnum ||
            !t->icode || !t->tie || !t->rules || !t->native || !t->fixed || !t->tokens)
            st = PD_ERR_NOMEM;
    }
    int64_t at = 0;
    for (int c = 0, k = 0; st == PD_OK && c < s.n_chains; c++) {
        if (!use[c]) continue;
        const pd_chain *ch = &s.chains[c];
        t->chain_ids[k] = pd_strdup(ch->id);
        t->chain_len[k] = ch->n;
        memcpy(t->atom14 + at * PD_ATOM14 * 3, ch->atom14, (size_t)ch->n * PD_ATOM14 * 3 * sizeof(float));
        for (int i = 0; i < ch->n; i++) {
            t->chain[at + i] = (uint8_t)k;
            t->resnum[at + i] = ch->resnum[i];
            t->icode[at + i] = ch->icode[i] ? ch->icode[i] : ' ';
            t->native[at + i] = ch->aa[i];
            t->native_known |= ch->aa[i] < 20;
        }
        at += ch->n;
        k++;
    }
    free(use);
    pd_structure_free(&s);
    if (st == PD_OK) st = apply_fixed(t, o);
    if (st == PD_OK) st = pd_symmetry_resolve(t, o->symmetry, o->homo_oligomer, t->tie, &t->n_tied);
    if (st == PD_OK) st = fix_tied_groups(t);
    if (st == PD_OK) {
        pd_aa_rules none;
        memset(&none, 0, sizeof none);
        st = pd_residue_rules_resolve(o->by_residue, t, o->rules ? o->rules : &none, t->rules);
    }
    if (st != PD_OK) pd_design_target_free(t);
    return st;
}

void pd_design_target_format(const pd_design_target *t, const uint8_t *aa, char *buf)
{
    size_t k = 0;
    for (int64_t i = 0; i < t->length; i++) {
        if (i > 0 && t->chain[i] != t->chain[i - 1]) buf[k++] = '/';
        buf[k++] = aa[i] < 20 ? PD_AA_LETTERS[aa[i]] : 'X';
    }
    buf[k] = '\0';
}
