/* conv_shape.c — builds the pd_conv_shape of each convolution kind (sizes, padding, the
 * im2col layout) and answers size questions about it; see conv_kernels.h. */
#include "nn/conv_kernels.h"

static pd_status check_common(int spatial_dims, int64_t batch, int64_t in_channels, int64_t out_channels,
                              const int64_t *size, const char *what)
{
    if (spatial_dims != 2 && spatial_dims != 3)
        return pd_fail(PD_ERR_USAGE, "%s: %d spatial dims requested; only 2-D and 3-D exist", what, spatial_dims);
    if (batch < 1 || in_channels < 1 || out_channels < 1)
        return pd_fail(PD_ERR_USAGE, "%s: batch %lld, channels %lld→%lld must all be ≥ 1", what, (long long)batch,
                       (long long)in_channels, (long long)out_channels);
    for (int d = 0; d < spatial_dims; d++)
        if (size[d] < 1)
            return pd_fail(PD_ERR_USAGE, "%s: spatial size %lld in dim %d must be ≥ 1", what, (long long)size[d], d);
    return PD_OK;
}

/* Spatial sizes as D, H, W with D = 1 for 2-D; kernel extent k in the real dims, 1 in D for 2-D. */
static void fill_dims(int spatial_dims, const int64_t *size, int64_t k, int64_t out3[3], int64_t kernel3[3])
{
    int off = 3 - spatial_dims;
    for (int d = 0; d < 3; d++) {
        out3[d] = d < off ? 1 : size[d - off];
        kernel3[d] = d < off ? 1 : k;
    }
}

pd_status pd_conv_shape_k2(pd_conv_shape *s, int spatial_dims, int64_t batch, int64_t in_channels,
                           int64_t out_channels, const int64_t *size, int stride)
{
    PD_TRY(check_common(spatial_dims, batch, in_channels, out_channels, size, "conv k=2"));
    if (stride != 1 && stride != 2)
        return pd_fail(PD_ERR_USAGE, "conv k=2: stride %d unsupported (1 = 'same', 2 = downsample)", stride);
    *s = (pd_conv_shape){.spatial_dims = spatial_dims, .batch = batch, .in_channels = in_channels,
                         .out_channels = out_channels};
    pd_patch_layout *l = &s->patch;
    fill_dims(spatial_dims, size, 2, s->in_size, l->kernel);
    l->channels = in_channels;
    for (int d = 0; d < 3; d++) {
        l->image[d] = s->in_size[d];
        l->stride[d] = l->kernel[d] == 1 ? 1 : stride;
        s->out_size[d] = stride == 1 || l->kernel[d] == 1 ? s->in_size[d] : s->in_size[d] / 2;
        if (s->out_size[d] < 1)
            return pd_fail(PD_ERR_USAGE, "conv k=2 s=2: spatial size 1 leaves no output; stop downsampling at 2");
        l->grid[d] = s->out_size[d];
    }
    return PD_OK;
}

pd_status pd_conv_transpose_shape_k2(pd_conv_shape *s, int spatial_dims, int64_t batch, int64_t in_channels,
                                     int64_t out_channels, const int64_t *size)
{
    PD_TRY(check_common(spatial_dims, batch, in_channels, out_channels, size, "conv transpose k=2 s=2"));
    *s = (pd_conv_shape){.spatial_dims = spatial_dims, .transposed = 1, .batch = batch,
                         .in_channels = in_channels, .out_channels = out_channels};
    pd_patch_layout *l = &s->patch;
    fill_dims(spatial_dims, size, 2, s->in_size, l->kernel);
    l->channels = out_channels;
    for (int d = 0; d < 3; d++) {
        l->stride[d] = l->kernel[d];
        s->out_size[d] = s->in_size[d] * l->kernel[d];
        l->image[d] = s->out_size[d];
        l->grid[d] = s->in_size[d];
    }
    return PD_OK;
}

pd_status pd_conv_shape_pointwise(pd_conv_shape *s, int spatial_dims, int64_t batch, int64_t in_channels,
                                  int64_t out_channels, const int64_t *size)
{
    PD_TRY(check_common(spatial_dims, batch, in_channels, out_channels, size, "conv 1x1"));
    *s = (pd_conv_shape){.spatial_dims = spatial_dims, .batch = batch, .in_channels = in_channels,
                         .out_channels = out_channels};
    pd_patch_layout *l = &s->patch;
    fill_dims(spatial_dims, size, 1, s->in_size, l->kernel);
    l->channels = in_channels;
    for (int d = 0; d < 3; d++) {
        l->image[d] = l->grid[d] = s->out_size[d] = s->in_size[d];
        l->stride[d] = 1;
    }
    return PD_OK;
}

int64_t pd_conv_kernel_cells(const pd_conv_shape *s) { return pd_patch_kernel_cells(&s->patch); }

int64_t pd_conv_weight_numel(const pd_conv_shape *s)
{
    return s->in_channels * s->out_channels * pd_conv_kernel_cells(s);
}

int64_t pd_conv_in_numel(const pd_conv_shape *s)
{
    return s->batch * s->in_channels * s->in_size[0] * s->in_size[1] * s->in_size[2];
}

int64_t pd_conv_out_numel(const pd_conv_shape *s)
{
    return s->batch * s->out_channels * s->out_size[0] * s->out_size[1] * s->out_size[2];
}

/* Per GEMM column: the unrolled patch (C·K rows) plus the other operand in channel-major form. */
static int64_t floats_per_column(const pd_conv_shape *s)
{
    int64_t K = pd_conv_kernel_cells(s);
    return s->transposed ? s->out_channels * K + s->in_channels : s->in_channels * K + s->out_channels;
}

int64_t pd_conv_chunk_samples(const pd_conv_shape *s)
{
    int64_t positions = s->patch.grid[0] * s->patch.grid[1] * s->patch.grid[2];
    return pd_patch_chunk_samples(s->batch, positions, floats_per_column(s));
}

int64_t pd_conv_work_numel(const pd_conv_shape *s)
{
    int64_t positions = s->patch.grid[0] * s->patch.grid[1] * s->patch.grid[2];
    return pd_conv_chunk_samples(s) * positions * floats_per_column(s);
}
