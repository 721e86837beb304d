/* model_io.h: what the examples that run a compiled model share: binding
 * its symbolic dims from the inputs' shapes and sizing its outputs. Plain
 * C99, header-only; include it after the model's header and "npy.h", with
 * API(f) defined to name the model's function f (e.g. mlp_f). */
#ifndef TESSERA_MODEL_IO_H
#define TESSERA_MODEL_IO_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* The size of one element of dtype code `dtype`. */
static size_t elem_size(int32_t dtype) {
    switch (dtype) {
    case TESSERA_U8: case TESSERA_I8: case TESSERA_I1: return 1;
    case TESSERA_U16: case TESSERA_I16: case TESSERA_F16: case TESSERA_BF16: return 2;
    case TESSERA_F32: case TESSERA_I32: case TESSERA_U32: return 4;
    default: return 8;
    }
}

/* Sets symbols[k] to the size of each dim of the `n_in` inputs named as
 * the model's symbol k. */
static void bind_symbols(const npy_array *inputs, size_t n_in, int64_t *symbols) {
    for (size_t i = 0; i < n_in; i++) {
        for (size_t axis = 0; axis < inputs[i].rank; axis++) {
            const char *dim = API(input_dim_name)(i, axis);
            for (size_t k = 0; dim && k < API(num_symbols)(); k++) {
                if (strcmp(dim, API(symbol_name)(k)) == 0) symbols[k] = inputs[i].dims[axis];
            }
        }
    }
}

/* The element count of output `o` with `symbols` bound, its dims stored
 * in `dims` (up to NPY_MAX_RANK of them; NULL: not stored); 0 with a
 * message on stderr where a dim names no bound symbol. */
static int output_count(size_t o, const int64_t *symbols, int64_t *dims, size_t *count) {
    *count = 1;
    for (size_t axis = 0; axis < (size_t)API(output_rank)(o); axis++) {
        int64_t d = API(output_dim)(o, axis);
        const char *name = API(output_dim_name)(o, axis);
        for (size_t k = 0; d < 0 && k < API(num_symbols)(); k++) {
            if (strcmp(name, API(symbol_name)(k)) == 0) d = symbols[k];
        }
        if (d < 0) {
            fprintf(stderr, "output %s: cannot size dim %s\n", API(output_name)(o), name);
            return 0;
        }
        if (dims && axis < NPY_MAX_RANK) dims[axis] = d;
        *count *= (size_t)d;
    }
    return 1;
}

#endif
