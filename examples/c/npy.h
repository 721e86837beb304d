/* npy.h: reading NumPy .npy files (version 1-3, little-endian, C order) in
 * plain C99, for the examples. Header-only: one translation unit includes it. */
#ifndef NPY_H
#define NPY_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NPY_MAX_RANK 16

/* One array: its dtype as an ONNX TensorProto.DataType code (TESSERA_F32 ...),
 * shape, and data (malloc'ed). */
typedef struct npy_array {
    int32_t dtype;
    size_t rank;
    int64_t dims[NPY_MAX_RANK];
    size_t elem_size;
    size_t count;
    void *data;
} npy_array;

/* The ONNX code and size of a NumPy descr ("<f4"); 0 if unsupported. */
static int32_t npy_dtype(const char *descr, size_t *size) {
    static const struct { const char *descr; int32_t code; size_t size; } table[] = {
        {"<f4", 1, 4}, {"|u1", 2, 1}, {"|i1", 3, 1}, {"<u2", 4, 2}, {"<i2", 5, 2},
        {"<i4", 6, 4}, {"<i8", 7, 8}, {"|b1", 9, 1}, {"<f2", 10, 2}, {"<f8", 11, 8},
        {"<u4", 12, 4}, {"<u8", 13, 8},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(descr, table[i].descr) == 0) {
            *size = table[i].size;
            return table[i].code;
        }
    }
    return 0;
}

/* Reads `path` into `a`; returns 0, or -1 with a message on stderr. */
static int npy_read(const char *path, npy_array *a) {
    FILE *f = fopen(path, "rb");
    unsigned char magic[8];
    if (!f) {
        fprintf(stderr, "%s: cannot open\n", path);
        return -1;
    }
    if (fread(magic, 1, 8, f) != 8 || memcmp(magic, "\x93NUMPY", 6) != 0) {
        fprintf(stderr, "%s: not a .npy file\n", path);
        fclose(f);
        return -1;
    }
    size_t header_len;
    if (magic[6] == 1) {
        unsigned char b[2];
        if (fread(b, 1, 2, f) != 2) goto truncated;
        header_len = (size_t)b[0] | (size_t)b[1] << 8;
    } else {
        unsigned char b[4];
        if (fread(b, 1, 4, f) != 4) goto truncated;
        header_len = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    }
    char *header = malloc(header_len + 1);
    if (!header || fread(header, 1, header_len, f) != header_len) {
        free(header);
        goto truncated;
    }
    header[header_len] = '\0';
    char descr[8] = {0};
    const char *d = strstr(header, "'descr': '");
    const char *s = strstr(header, "'shape': (");
    if (!d || !s || strstr(header, "'fortran_order': True")) {
        fprintf(stderr, "%s: unsupported .npy header: %s\n", path, header);
        free(header);
        fclose(f);
        return -1;
    }
    strncpy(descr, d + 10, 3);
    a->dtype = npy_dtype(descr, &a->elem_size);
    a->rank = 0;
    a->count = 1;
    for (const char *p = s + 10; *p && *p != ')';) {
        char *end;
        long long n = strtoll(p, &end, 10);
        if (end == p) {
            p++;
            continue;
        }
        if (a->rank == NPY_MAX_RANK) break;
        a->dims[a->rank++] = n;
        a->count *= (size_t)n;
        p = end;
    }
    free(header);
    if (a->dtype == 0) {
        fprintf(stderr, "%s: unsupported dtype %s\n", path, descr);
        fclose(f);
        return -1;
    }
    a->data = malloc(a->count * a->elem_size + 1);
    if (!a->data || fread(a->data, a->elem_size, a->count, f) != a->count) {
        free(a->data);
        goto truncated;
    }
    fclose(f);
    return 0;
truncated:
    fprintf(stderr, "%s: truncated\n", path);
    fclose(f);
    return -1;
}

#endif /* NPY_H */
