/* design_journal.c — the OUT.parts/ resume journal of `design` (design_journal.h): length-framed
 * entries after a settings header, one file per rank and run, read back by rank 0. */
#include "design/design_journal.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define JOURNAL_MAGIC "proteindiff-design-journal 1\n"

void pd_journal_frame(pd_text *out, const char *path, const char *fasta, size_t fasta_len, const char *probs, size_t probs_len)
{
    pd_text_add(out, "@@ %zu %zu %zu\n", strlen(path), fasta_len, probs_len);
    pd_text_add_bytes(out, path, strlen(path));
    pd_text_add_bytes(out, fasta, fasta_len);
    pd_text_add_bytes(out, probs, probs_len);
}

int pd_journal_parse(const char *buf, size_t len, void (*fn)(const pd_journal_entry *e, void *arg), void *arg)
{
    size_t at = 0;
    int frames = 0;
    while (at + 3 < len && !strncmp(buf + at, "@@ ", 3)) {
        const char *nl = memchr(buf + at, '\n', len - at);
        if (!nl) break;
        unsigned long long pl, fl, ql;
        if (sscanf(buf + at + 3, "%llu %llu %llu", &pl, &fl, &ql) != 3) break;
        size_t body = (size_t)(nl + 1 - buf);
        if (pl > len || fl > len || ql > len || body + pl + fl + ql > len) break;
        pd_journal_entry e = {buf + body, (size_t)pl, buf + body + pl, buf + body + pl + fl, (size_t)fl, (size_t)ql};
        fn(&e, arg);
        frames++;
        at = body + pl + fl + ql;
    }
    return frames;
}

static pd_status read_all(const char *path, pd_text *out)
{
    FILE *f = fopen(path, "rb");
    if (!f) return pd_fail(PD_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) pd_text_add_bytes(out, chunk, got);
    fclose(f);
    return out->failed ? pd_fail(PD_ERR_NOMEM, "reading %s", path) : PD_OK;
}

static int is_journal_name(const char *name, int *run)
{
    int rank, n = 0;
    return sscanf(name, "r%d-%d.journal%n", &rank, run, &n) == 2 && name[n] == '\0';
}

pd_status pd_journal_load(const char *dir, const char *settings, pd_text *all, int *next_run, int *files)
{
    *next_run = 0;
    *files = 0;
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? PD_OK : pd_fail(PD_ERR_IO, "cannot read the folder %s: %s", dir, strerror(errno));
    pd_status st = PD_OK;
    struct dirent *de;
    while (st == PD_OK && (de = readdir(d))) {
        int run;
        if (!is_journal_name(de->d_name, &run)) continue;
        if (run >= *next_run) *next_run = run + 1;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        pd_text one = {0};
        st = read_all(path, &one);
        const size_t magic = strlen(JOURNAL_MAGIC);
        if (st == PD_OK && (one.len < magic || strncmp(one.s, JOURNAL_MAGIC, magic) != 0))
            st = pd_fail(PD_ERR_FORMAT, "%s is not a design journal; delete the folder %s to start over", path, dir);
        if (st == PD_OK) {
            const char *line = one.s + magic;
            const char *nl = memchr(line, '\n', one.len - magic);
            const size_t want = strlen(settings);
            const size_t body = nl ? (size_t)(nl + 1 - one.s) : one.len;
            if (nl && (one.len < body + 3 || strncmp(one.s + body, "@@ ", 3) != 0)) {
                /* no finished structure in it (a run that stopped before its first): nothing to use */
            } else if (!nl || (size_t)(nl - line) != want + 9 || strncmp(line, "settings ", 9) || strncmp(line + 9, settings, want))
                st = pd_fail(PD_ERR_USAGE, "%s holds designs made with other settings (%.*s; now: %s); run with the same "
                             "options to resume, or delete the folder %s to start over", path,
                             nl && nl - line > 9 ? (int)(nl - line - 9) : 0, nl && nl - line > 9 ? line + 9 : "", settings, dir);
            else {
                const size_t start = (size_t)(nl + 1 - one.s);
                pd_text_add_bytes(all, one.s + start, one.len - start);
                (*files)++;
            }
        }
        pd_text_free(&one);
    }
    closedir(d);
    if (st == PD_OK && all->failed) st = pd_fail(PD_ERR_NOMEM, "reading the journal %s", dir);
    return st;
}

pd_status pd_journal_open(const char *dir, int rank, int run, const char *settings, FILE **f)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/r%d-%d.journal", dir, rank, run);
    *f = fopen(path, "wb");
    if (!*f) return pd_fail(PD_ERR_IO, "cannot write the design journal %s: %s", path, strerror(errno));
    if (fprintf(*f, "%ssettings %s\n", JOURNAL_MAGIC, settings) < 0 || fflush(*f) != 0) {
        fclose(*f);
        *f = NULL;
        return pd_fail(PD_ERR_IO, "cannot write the design journal %s", path);
    }
    return PD_OK;
}

pd_status pd_journal_append(FILE *f, const char *dir, const pd_text *frame)
{
    if (fwrite(frame->s, 1, frame->len, f) != frame->len || fflush(f) != 0 || fsync(fileno(f)) != 0)
        return pd_fail(PD_ERR_IO, "cannot write the design journal in %s: %s", dir, strerror(errno));
    return PD_OK;
}

void pd_journal_remove(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        int run;
        if (!is_journal_name(de->d_name, &run)) continue;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        remove(path);
    }
    closedir(d);
    rmdir(dir);
}
