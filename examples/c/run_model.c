/* run_model.c: runs a library made by `tessera compile` on .npy inputs and
 * prints its outputs.
 *
 *   tessera compile model.onnx -o out --name mlp
 *   cc -std=c99 -DMODEL=mlp -DMODEL_HEADER='"mlp.h"' -I out -I examples/c \
 *      examples/c/run_model.c -L out -lmlp -lm -lpthread -ldl -o run_model
 *   LD_LIBRARY_PATH=out ./run_model input.npy
 *
 * The model's symbolic dims (a batch size N) are read off the inputs'
 * shapes. Each output is printed as `output NAME [d0, d1]` and then its
 * values, one per line. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MODEL_HEADER
#include "npy.h"

#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
#define API(f) XCAT(MODEL, XCAT(_, f))

#include "model_io.h"

/* Prints element i of a tensor of dtype `dtype`. */
static void print_element(const void *data, int32_t dtype, size_t i) {
    switch (dtype) {
    case TESSERA_F32: printf("%.9g\n", ((const float *)data)[i]); break;
    case TESSERA_F64: printf("%.17g\n", ((const double *)data)[i]); break;
    case TESSERA_I64: printf("%" PRId64 "\n", ((const int64_t *)data)[i]); break;
    case TESSERA_I32: printf("%" PRId32 "\n", ((const int32_t *)data)[i]); break;
    case TESSERA_I1: case TESSERA_U8: printf("%u\n", ((const unsigned char *)data)[i]); break;
    default: printf("(dtype %d)\n", (int)dtype); break;
    }
}

int main(int argc, char **argv) {
    size_t n_in = API(num_inputs)(), n_out = API(num_outputs)(), n_sym = API(num_symbols)();
    if ((size_t)(argc - 1) != n_in) {
        fprintf(stderr, "usage: %s", argv[0]);
        for (size_t i = 0; i < n_in; i++) fprintf(stderr, " %s.npy", API(input_name)(i));
        fprintf(stderr, "\n");
        return 2;
    }
    npy_array *inputs = calloc(n_in, sizeof *inputs);
    const void **in_data = calloc(n_in, sizeof *in_data);
    int64_t *symbols = calloc(n_sym + 1, sizeof *symbols);
    for (size_t i = 0; i < n_in; i++) {
        if (npy_read(argv[i + 1], &inputs[i]) != 0) return 1;
        in_data[i] = inputs[i].data;
    }
    bind_symbols(inputs, n_in, symbols);
    void **out_data = calloc(n_out, sizeof *out_data);
    size_t *out_count = calloc(n_out, sizeof *out_count);
    int64_t(*out_dims)[NPY_MAX_RANK] = calloc(n_out, sizeof *out_dims);
    for (size_t o = 0; o < n_out; o++) {
        if (!output_count(o, symbols, out_dims[o], &out_count[o])) return 1;
        out_data[o] = malloc(out_count[o] * elem_size(API(output_dtype)(o)) + 1);
    }

    XCAT(MODEL, _context) *ctx = API(context_new)();
    int32_t status = API(run)(ctx, in_data, out_data, symbols);
    if (status != TESSERA_OK) {
        fprintf(stderr, "run failed (%d): %s\n", (int)status, API(last_error)(ctx));
        return 1;
    }
    for (size_t o = 0; o < n_out; o++) {
        printf("output %s [", API(output_name)(o));
        for (size_t axis = 0; axis < (size_t)API(output_rank)(o); axis++) {
            printf("%s%" PRId64, axis ? ", " : "", out_dims[o][axis]);
        }
        printf("]\n");
        for (size_t i = 0; i < out_count[o]; i++) print_element(out_data[o], API(output_dtype)(o), i);
    }

    API(context_free)(ctx);
    for (size_t i = 0; i < n_in; i++) free(inputs[i].data);
    for (size_t o = 0; o < n_out; o++) free(out_data[o]);
    free(inputs);
    free(in_data);
    free(symbols);
    free(out_data);
    free(out_count);
    free(out_dims);
    API(shutdown)();
    return 0;
}
