/* Calls the library of checked.tir with every kind of bad argument and
 * prints each status code with its message: no call may abort. */
#include <stdio.h>

#include "checked.h"

static checked_context *ctx;

static void show(const char *what, int32_t status) {
    printf("%s: %d %s\n", what, (int)status, ctx ? checked_last_error(ctx) : "");
}

int main(void) {
    float x[2 * 4] = {1, 2, 3, 4, 5, 6, 7, 8};
    int64_t a[3] = {7, -7, 9}, b[3] = {2, 2, 3}, zero[3] = {1, 0, 1};
    float y[2 * 4];
    int64_t q[3];
    const void *inputs[3] = {x, a, b};
    void *outputs[2] = {y, q};
    int64_t n = 2, negative = -1;

    show("null context", checked_run(NULL, inputs, outputs, &n));
    ctx = checked_context_new();
    show("null inputs", checked_run(ctx, NULL, outputs, &n));
    show("null symbols", checked_run(ctx, inputs, outputs, NULL));
    show("negative symbol", checked_run(ctx, inputs, outputs, &negative));
    const void *null_x[3] = {NULL, a, b};
    show("null data", checked_run(ctx, null_x, outputs, &n));
    void *overlapping[2] = {x, q};
    show("output overlaps input", checked_run(ctx, inputs, overlapping, &n));
    const void *dividing_by_zero[3] = {x, a, zero};
    show("division by zero", checked_run(ctx, dividing_by_zero, outputs, &n));

    int64_t x_dims[2] = {2, 4}, wide[2] = {2, 5}, v_dims[1] = {3}, tall[2] = {3, 4};
    tessera_tensor in[3] = {{x, TESSERA_F32, 2, x_dims}, {a, TESSERA_I64, 1, v_dims}, {b, TESSERA_I64, 1, v_dims}};
    tessera_tensor out[2] = {{y, TESSERA_F32, 2, x_dims}, {q, TESSERA_I64, 1, v_dims}};
    in[0].dims = wide;
    show("wrong dim", checked_run_tensors(ctx, in, out));
    in[0].dims = x_dims;
    in[0].dtype = TESSERA_F64;
    show("wrong dtype", checked_run_tensors(ctx, in, out));
    in[0].dtype = TESSERA_F32;
    in[1].rank = 2;
    in[1].dims = x_dims;
    show("wrong rank", checked_run_tensors(ctx, in, out));
    in[1].rank = 1;
    in[1].dims = v_dims;
    out[0].dims = tall;
    show("output shape", checked_run_tensors(ctx, in, out));
    out[0].dims = x_dims;
    show("tensors ok", checked_run_tensors(ctx, in, out));
    show("ok", checked_run(ctx, inputs, outputs, &n));
    printf("y %g %g %g %g %g %g %g %g\n", y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]);
    printf("q %lld %lld %lld\n", (long long)q[0], (long long)q[1], (long long)q[2]);
    printf("input 0 %s rank %lld dims %lld (%s) %lld; symbol %s; out-of-range %lld %s\n", checked_input_name(0),
           (long long)checked_input_rank(0), (long long)checked_input_dim(0, 0), checked_input_dim_name(0, 0),
           (long long)checked_input_dim(0, 1), checked_symbol_name(0), (long long)checked_input_dim(9, 0),
           checked_input_name(9) ? "named" : "NULL");
    checked_context_free(ctx);
    checked_shutdown();
    return 0;
}
