/* smoke.c: a C program linking libtessera_runtime.a, as a generated library
 * will. Built and run by tests/c_link.rs; prints one fact per line. */
#include <stdint.h>
#include <stdio.h>

#include "tessera_rt.h"

enum { N = 10007 };

/* out[i] = i * i for the chunk [begin, end). */
static void square(void *env, size_t begin, size_t end) {
    int64_t *out = env;
    for (size_t i = begin; i < end; i++) {
        out[i] = (int64_t)i * (int64_t)i;
    }
}

/* Each chunk of the outer loop runs an inner parallel loop over its own row. */
static void rows(void *env, size_t begin, size_t end) {
    int64_t *grid = env;
    for (size_t r = begin; r < end; r++) {
        if (tessera_rt_parallel_for(100, square, grid + r * 100) != TESSERA_RT_OK) {
            grid[r * 100] = -1;
        }
    }
}

int main(void) {
    static int64_t out[N];
    static int64_t grid[50 * 100];
    int32_t st = tessera_rt_parallel_for(N, square, out);
    int64_t sum = 0;
    for (size_t i = 0; i < N; i++) {
        sum += out[i];
    }
    printf("parallel_for %d sum %lld\n", st, (long long)sum);

    st = tessera_rt_parallel_for(50, rows, grid);
    sum = 0;
    for (size_t i = 0; i < 50 * 100; i++) {
        sum += grid[i];
    }
    printf("nested %d sum %lld\n", st, (long long)sum);
    printf("null body %d\n", tessera_rt_parallel_for(N, NULL, out));
    printf("threads %zu\n", tessera_rt_num_threads());

    tessera_rt_context *ctx = tessera_rt_context_new();
    const int64_t x_dims[] = {TESSERA_RT_SYMBOL(0), 784};
    const tessera_rt_tensor_spec spec = {"x", TESSERA_RT_INPUT, TESSERA_RT_F32, 2, x_dims};
    static float data[2 * 785];
    const int64_t given[] = {2, 785};
    const tessera_rt_tensor_arg arg = {data, TESSERA_RT_F32, 2, given};
    const char *const names[] = {"N"};
    int64_t values[] = {-1};
    st = tessera_rt_check_args(ctx, names, values, 1, &spec, &arg, 1);
    printf("check %d (%s): %s\n", st, tessera_rt_status_string(st), tessera_rt_last_error(ctx));

    void *p = tessera_rt_alloc(ctx, 1000);
    printf("alloc aligned %d\n", p != NULL && (uintptr_t)p % TESSERA_RT_ALIGN == 0);
    tessera_rt_free(p);
    /* Two statements: the message is valid only after the call that set it. */
    int huge_is_null = tessera_rt_alloc(ctx, SIZE_MAX) == NULL;
    printf("huge alloc null %d: %s\n", huge_is_null, tessera_rt_last_error(ctx));
    tessera_rt_context_free(ctx);
    printf("null context: %s\n", tessera_rt_last_error(NULL));
    printf("shutdown %d\n", tessera_rt_shutdown());
    return 0;
}
