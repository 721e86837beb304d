/* Links two generated static libraries, each with its own copy of the
 * runtime, into one program and runs both. */
#include <stdio.h>

#include "first.h"
#include "second.h"

int main(void) {
    float x[4] = {1, 2, 3, 4}, y1[4], y2[4];
    int64_t a[3] = {7, 8, 9}, b[3] = {1, 2, 3}, q1[3], q2[3], n = 1;
    const void *inputs[3] = {x, a, b};
    void *out1[2] = {y1, q1}, *out2[2] = {y2, q2};
    first_context *c1 = first_context_new();
    second_context *c2 = second_context_new();
    int32_t s1 = first_run(c1, inputs, out1, &n), s2 = second_run(c2, inputs, out2, &n);
    printf("%d %d %g %g %lld %lld\n", (int)s1, (int)s2, y1[3], y2[3], (long long)q1[2], (long long)q2[2]);
    first_context_free(c1);
    second_context_free(c2);
    first_shutdown();
    second_shutdown();
    return 0;
}
