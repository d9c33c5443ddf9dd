/* export_png.c — distogram images as PNG files in length-bin folders (libpng); see export.h. */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset/export.h"

void pd_length_bin(int length, int *lo, int *hi)
{
    if (length < 40) { *lo = 1; *hi = 39; return; }
    if (length <= 64) { *lo = 40; *hi = 64; return; }
    int k = (length - 65) / 64;
    *lo = 65 + 64 * k;
    *hi = *lo + 63;
}

static pd_status make_folder(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST) return pd_fail(PD_ERR_IO, "cannot create folder '%s': %s", path, strerror(errno));
    return PD_OK;
}

/* One width x height RGB image (rows of width·3 bytes). libpng reports errors by longjmp; nothing allocated by us is live
 * across the jump except `f`, closed on both paths. */
pd_status pd_png_write_rgb(const char *path, const uint8_t *rgb, int width, int height)
{
    FILE *f = fopen(path, "wb");
    if (!f) return pd_fail(PD_ERR_IO, "cannot write '%s': %s", path, strerror(errno));
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return pd_fail(PD_ERR_NOMEM, "libpng could not start writing '%s'", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return pd_fail(PD_ERR_IO, "libpng failed writing '%s' (disk full?)", path);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int i = 0; i < height; i++) png_write_row(png, (png_const_bytep)(rgb + (size_t)i * width * 3));
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    if (fclose(f) != 0) return pd_fail(PD_ERR_IO, "cannot finish '%s': %s", path, strerror(errno));
    return PD_OK;
}

/* Entry names come from structure files (chain ids) and from the dataset file: neither is
 * trusted as a path. Slashes and control characters become '_', and a leading '.' (".",
 * "..", hidden files) gets a '_' in front, so every image lands inside its bin folder. */
static void safe_file_name(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    if (name[0] == '.' || name[0] == '\0') out[o++] = '_';
    for (const char *c = name; *c && o + 1 < cap; c++)
        out[o++] = (*c == '/' || (unsigned char)*c < 0x20 || *c == 0x7f) ? '_' : *c;
    out[o] = '\0';
}

pd_status pd_export_png(pd_dataset *ds, const char *dir, int64_t *written)
{
    *written = 0;
    PD_TRY(make_folder(dir));
    int64_t n = pd_dataset_n_entries(ds);
    uint8_t *img = NULL;
    size_t cap = 0;
    size_t plen = strlen(dir) + 64;
    pd_status st = PD_OK;
    for (int64_t i = 0; st == PD_OK && i < n; i++) {
        pd_entry_info info;
        st = pd_dataset_entry_info(ds, i, &info);
        if (st != PD_OK) break;
        size_t bytes = (size_t)info.length * info.length * 3;
        if (bytes > cap) {
            uint8_t *p = pd_realloc(img, bytes);
            if (!p) { st = PD_ERR_NOMEM; break; }
            img = p;
            cap = bytes;
        }
        st = pd_dataset_read_distogram(ds, i, img);
        if (st != PD_OK) break;
        int lo, hi;
        pd_length_bin(info.length, &lo, &hi);
        size_t name_cap = strlen(info.name) + 2;
        char *path = pd_malloc(plen + name_cap), *file = pd_malloc(name_cap);
        if (!path || !file) { free(path); free(file); st = PD_ERR_NOMEM; break; }
        safe_file_name(info.name, file, name_cap);
        sprintf(path, "%s/bin_%d_%d", dir, lo, hi);
        st = make_folder(path);
        if (st == PD_OK) {
            sprintf(path, "%s/bin_%d_%d/%s.png", dir, lo, hi, file);
            st = pd_png_write_rgb(path, img, info.length, info.length);
        }
        free(path);
        free(file);
        if (st == PD_OK) (*written)++;
    }
    free(img);
    return st;
}
