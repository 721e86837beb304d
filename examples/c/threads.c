/* threads.c: runs a library made by `tessera compile` from 4 threads at once,
 * each with its own context, and checks that every run gives the same
 * outputs as a first run on the main thread.
 *
 *   cc -std=c99 -DMODEL=mlp -DMODEL_HEADER='"mlp.h"' -I out -I examples/c \
 *      examples/c/threads.c out/libmlp.a -lm -lpthread -ldl -o threads
 *   ./threads input.npy ...
 *
 * Symbolic dims are read off the inputs' shapes, as in run_model.c. Prints
 * `threads 4 runs N identical` on success. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include MODEL_HEADER
#include "npy.h"

#define CAT(a, b) a##b
#define XCAT(a, b) CAT(a, b)
#define API(f) XCAT(MODEL, XCAT(_, f))

#include "model_io.h"

#define THREADS 4
#define RUNS 25
#define MAX_IO 16

static const void *in_data[MAX_IO];
static int64_t symbols[MAX_IO];
static size_t out_bytes[MAX_IO];
static void *expected[MAX_IO];

/* One thread: RUNS runs with its own context and outputs, each compared
 * with `expected`. Returns NULL on success, else a message. */
static void *worker(void *arg) {
    (void)arg;
    size_t n_out = API(num_outputs)();
    void *outputs[MAX_IO];
    for (size_t o = 0; o < n_out; o++) outputs[o] = malloc(out_bytes[o] + 1);
    XCAT(MODEL, _context) *ctx = API(context_new)();
    const char *failure = NULL;
    for (int r = 0; r < RUNS && !failure; r++) {
        if (API(run)(ctx, in_data, outputs, symbols) != TESSERA_OK) failure = "a run failed";
        for (size_t o = 0; o < n_out && !failure; o++) {
            if (memcmp(outputs[o], expected[o], out_bytes[o]) != 0) failure = "outputs differ";
        }
    }
    API(context_free)(ctx);
    for (size_t o = 0; o < n_out; o++) free(outputs[o]);
    return (void *)failure;
}

int main(int argc, char **argv) {
    size_t n_in = API(num_inputs)(), n_out = API(num_outputs)(), n_sym = API(num_symbols)();
    if ((size_t)(argc - 1) != n_in || n_in > MAX_IO || n_out > MAX_IO || n_sym > MAX_IO) {
        fprintf(stderr, "usage: %s INPUT.npy... (one per input, at most %d)\n", argv[0], MAX_IO);
        return 2;
    }
    npy_array inputs[MAX_IO];
    for (size_t i = 0; i < n_in; i++) {
        if (npy_read(argv[i + 1], &inputs[i]) != 0) return 1;
        in_data[i] = inputs[i].data;
    }
    bind_symbols(inputs, n_in, symbols);
    for (size_t o = 0; o < n_out; o++) {
        size_t count;
        if (!output_count(o, symbols, NULL, &count)) return 1;
        out_bytes[o] = count * elem_size(API(output_dtype)(o));
        expected[o] = malloc(out_bytes[o] + 1);
    }
    XCAT(MODEL, _context) *ctx = API(context_new)();
    if (API(run)(ctx, in_data, expected, symbols) != TESSERA_OK) {
        fprintf(stderr, "first run failed: %s\n", API(last_error)(ctx));
        return 1;
    }
    API(context_free)(ctx);

    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) pthread_create(&threads[t], NULL, worker, NULL);
    int failed = 0;
    for (int t = 0; t < THREADS; t++) {
        void *result;
        pthread_join(threads[t], &result);
        if (result) {
            fprintf(stderr, "thread %d: %s\n", t, (const char *)result);
            failed = 1;
        }
    }
    for (size_t i = 0; i < n_in; i++) free(inputs[i].data);
    for (size_t o = 0; o < n_out; o++) free(expected[o]);
    API(shutdown)();
    if (failed) return 1;
    printf("threads %d runs %d identical\n", THREADS, THREADS * RUNS);
    return 0;
}
