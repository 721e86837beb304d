/* train.c: trains a model through the training step of a library made by
 * `tessera compile --train`, on .npy data, and prints the loss of each step.
 *
 *   tessera compile model.onnx -o out --name mlp --train --batch 64 --lr 0.1
 *   cc -std=c99 -DMODEL=mlp -DMODEL_HEADER='"mlp.h"' -I out -I examples/c \
 *      examples/c/train.c -L out -lmlp -lm -lpthread -ldl -o train
 *   LD_LIBRARY_PATH=out ./train data_x.npy data_y.npy 100
 *
 * The step takes the parameters, the optimiser state, one batch input and
 * the target. The parameters start from the library's initial values
 * (NAME_param_data) and the state from zeros; step s reads rows
 * (batch * s + i) % rows of the data, in order. Two sets of parameter and
 * state buffers take turns: one is read while the other is written, since
 * a step's outputs may not overlap its inputs. Prints `step S LOSS` lines.
 *
 * Then runs the model with the trained parameters (NAME_forward: the
 * parameters, then the model's inputs) on the first rows of the data (as
 * many as its input takes; the first batch when its batch dim is symbolic)
 * and prints the first output's first row: `forward V0 V1 ...`. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MODEL_HEADER
#include "npy.h"

#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
#define API(f) XCAT(MODEL, XCAT(_, f))

/* Checks that array `a` has rows of step input i's dtype and row shape. */
static int check_rows(const npy_array *a, size_t i, const char *what) {
    int64_t rank = API(train_step_input_rank)(i);
    int ok = a->dtype == API(train_step_input_dtype)(i) && (int64_t)a->rank == rank && a->rank > 0;
    for (int64_t axis = 1; ok && axis < rank; axis++) ok = a->dims[axis] == API(train_step_input_dim)(i, (size_t)axis);
    if (!ok) fprintf(stderr, "%s: its rows do not fit the step's input '%s'\n", what, API(train_step_input_name)(i));
    return ok;
}

/* Runs NAME_forward with parameters `params` on the first rows of `x` (its
 * batch dim's symbol, if any, is `batch`) and prints its first output's
 * first row. */
static int forward(XCAT(MODEL, _context) *ctx, const void *const *params, size_t n_params, const npy_array *x, size_t batch) {
    size_t n_in = API(forward_num_inputs)(), n_sym = API(forward_num_symbols)();
    if (n_in != n_params + 1 || API(forward_output_dtype)(0) != TESSERA_F32 || API(forward_input_dtype)(n_params) != x->dtype) {
        fprintf(stderr, "forward: expected the parameters, one input like the data and an f32 output\n");
        return 1;
    }
    int64_t *symbols = calloc(n_sym + 1, sizeof *symbols);
    for (size_t k = 0; k < n_sym; k++) {
        symbols[k] = (int64_t)batch; /* the batch dim's symbol (checked below) */
        const char *dim0 = API(forward_input_dim_name)(n_params, 0);
        if (dim0 == NULL || strcmp(dim0, API(forward_symbol_name)(k)) != 0) {
            fprintf(stderr, "forward: symbol '%s' is not the input's batch dim\n", API(forward_symbol_name)(k));
            free(symbols);
            return 1;
        }
    }
    int64_t rows = API(forward_input_dim)(n_params, 0);
    if (rows < 0) rows = (int64_t)batch;
    if (rows > x->dims[0]) {
        fprintf(stderr, "forward: its input takes %" PRId64 " rows, the data has %" PRId64 "\n", rows, x->dims[0]);
        free(symbols);
        return 1;
    }
    size_t out_count = 1, row = 1;
    int64_t out_rank = API(forward_output_rank)(0);
    for (int64_t axis = 0; axis < out_rank; axis++) {
        int64_t d = API(forward_output_dim)(0, (size_t)axis);
        if (d < 0) d = (int64_t)batch;
        out_count *= (size_t)d;
        if (axis > 0) row *= (size_t)d;
    }
    float *out = calloc(out_count + 1, sizeof *out);
    const void **inputs = calloc(n_in, sizeof *inputs);
    for (size_t i = 0; i < n_params; i++) inputs[i] = params[i];
    inputs[n_params] = x->data; /* its first `rows` rows */
    void *outputs[1] = {out};
    int status = 0;
    if (API(forward)(ctx, inputs, outputs, symbols) != TESSERA_OK) {
        fprintf(stderr, "forward failed: %s\n", API(last_error)(ctx));
        status = 1;
    } else {
        printf("forward");
        for (size_t j = 0; j < row; j++) printf(" %.9g", out[j]);
        printf("\n");
    }
    free(out);
    free(inputs);
    free(symbols);
    return status;
}

int main(int argc, char **argv) {
    size_t n_params = API(param_count)(), n_state = API(state_count)(), kept = n_params + n_state;
    size_t n_in = API(train_step_num_inputs)(), n_out = API(train_step_num_outputs)();
    if (argc != 4 || n_in != kept + 2) {
        fprintf(stderr, "usage: %s X.npy Y.npy STEPS (for a step with one batch input and a target)\n", argv[0]);
        return 2;
    }
    long steps = strtol(argv[3], NULL, 10);
    npy_array x, y;
    if (npy_read(argv[1], &x) != 0 || npy_read(argv[2], &y) != 0) return 1;
    if (!check_rows(&x, kept, argv[1]) || !check_rows(&y, kept + 1, argv[2])) return 1;
    if (x.dims[0] != y.dims[0]) {
        fprintf(stderr, "%s has %" PRId64 " rows but %s has %" PRId64 "\n", argv[1], x.dims[0], argv[2], y.dims[0]);
        return 1;
    }
    size_t rows = (size_t)x.dims[0], batch = (size_t)API(train_step_input_dim)(kept, 0);
    if (rows == 0 || API(train_step_output_rank)(n_out - 1) != 0) {
        fprintf(stderr, "no data, or a step whose last output is not a scalar loss\n");
        return 1;
    }

    /* Two sets of parameters and state; `cur` is read, `next` written. */
    void **cur = calloc(kept, sizeof *cur), **next = calloc(kept, sizeof *next);
    for (size_t i = 0; i < kept; i++) {
        size_t size = i < n_params ? API(param_size)(i) : API(state_size)(i - n_params);
        cur[i] = calloc(1, size + 1);
        next[i] = calloc(1, size + 1);
        if (i < n_params) memcpy(cur[i], API(param_data)(i), size);
    }
    size_t x_row = x.count / rows * x.elem_size, y_row = y.count / rows * y.elem_size;
    unsigned char *xb = malloc(x_row * batch + 1), *yb = malloc(y_row * batch + 1);
    union { float f32; double f64; } loss; /* a scalar */
    const void **inputs = calloc(n_in, sizeof *inputs);
    void **outputs = calloc(n_out, sizeof *outputs);

    XCAT(MODEL, _context) *ctx = API(context_new)();
    int status = 0;
    for (long s = 0; s < steps && status == 0; s++) {
        for (size_t i = 0; i < batch; i++) {
            size_t r = (batch * (size_t)s + i) % rows;
            memcpy(xb + i * x_row, (const unsigned char *)x.data + r * x_row, x_row);
            memcpy(yb + i * y_row, (const unsigned char *)y.data + r * y_row, y_row);
        }
        for (size_t i = 0; i < kept; i++) {
            inputs[i] = cur[i];
            outputs[i] = next[i];
        }
        inputs[kept] = xb;
        inputs[kept + 1] = yb;
        outputs[n_out - 1] = &loss;
        if (API(train_step)(ctx, inputs, outputs, NULL) != TESSERA_OK) {
            fprintf(stderr, "step %ld failed: %s\n", s, API(last_error)(ctx));
            status = 1;
            break;
        }
        double value = API(train_step_output_dtype)(n_out - 1) == TESSERA_F64 ? loss.f64 : loss.f32;
        printf("step %ld %.9g\n", s, value);
        void **t = cur;
        cur = next;
        next = t;
    }

    if (status == 0) status = forward(ctx, (const void *const *)cur, n_params, &x, batch);
    API(context_free)(ctx);
    for (size_t i = 0; i < kept; i++) {
        free(cur[i]);
        free(next[i]);
    }
    free(cur);
    free(next);
    free(xb);
    free(yb);
    free(inputs);
    free(outputs);
    free(x.data);
    free(y.data);
    API(shutdown)();
    return status;
}
