/* tessera_rt.h: the C ABI of tessera's runtime (crate tessera-runtime).
 *
 * Generated code and generated libraries call these functions; an
 * application normally uses the NAME_* functions of its generated library
 * instead. Plain C99. Link the static library with -lm -lpthread -ldl.
 *
 * Every function:
 *   - checks its pointers and returns an error (never crashes on a null
 *     where the doc below says null is an error);
 *   - never unwinds or aborts on bad input: a bug inside the runtime is
 *     reported as TESSERA_RT_ERR_INTERNAL;
 *   - when it takes a context, clears the context's last error on entry and
 *     records the message of the error it fails with.
 * A context is used by one thread at a time; different contexts may be used
 * from different threads at once.
 */
#ifndef TESSERA_RT_H
#define TESSERA_RT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. The numbers never change; new codes are only appended. */
#define TESSERA_RT_OK 0
#define TESSERA_RT_ERR_NULL_ARGUMENT 1
#define TESSERA_RT_ERR_INVALID_ARGUMENT 2
#define TESSERA_RT_ERR_DTYPE_MISMATCH 3
#define TESSERA_RT_ERR_RANK_MISMATCH 4
#define TESSERA_RT_ERR_SHAPE_MISMATCH 5
#define TESSERA_RT_ERR_SIZE_OVERFLOW 6
#define TESSERA_RT_ERR_OUT_OF_MEMORY 7
#define TESSERA_RT_ERR_THREAD_POOL 8
#define TESSERA_RT_ERR_NO_DEVICE 9
#define TESSERA_RT_ERR_CUDA 10
#define TESSERA_RT_ERR_INTERNAL 11
#define TESSERA_RT_ERR_EXECUTION 12

/* Element types: ONNX TensorProto.DataType numbers. */
#define TESSERA_RT_F32 1
#define TESSERA_RT_U8 2
#define TESSERA_RT_I8 3
#define TESSERA_RT_U16 4
#define TESSERA_RT_I16 5
#define TESSERA_RT_I32 6
#define TESSERA_RT_I64 7
#define TESSERA_RT_I1 9 /* bool, one byte holding 0 or 1 */
#define TESSERA_RT_F16 10
#define TESSERA_RT_F64 11
#define TESSERA_RT_U32 12
#define TESSERA_RT_U64 13
#define TESSERA_RT_BF16 16

/* Tensor roles (used in messages: "input 'x'", "output 'y'"). */
#define TESSERA_RT_INPUT 0
#define TESSERA_RT_OUTPUT 1

/* A signature dim: n >= 0 is static, TESSERA_RT_SYMBOL(k) is symbol k. */
#define TESSERA_RT_SYMBOL(k) (-(int64_t)(k) - 1)

/* tessera_rt_tensor_arg.rank meaning "the signature's shape, with the
 * symbols' values" (for callers that pass only symbol values). */
#define TESSERA_RT_SHAPE_FROM_SIGNATURE SIZE_MAX

/* Alignment of every runtime allocation, in bytes. */
#define TESSERA_RT_ALIGN 64

typedef struct tessera_rt_context tessera_rt_context;

/* What a model expects of one tensor. */
typedef struct tessera_rt_tensor_spec {
    const char *name;    /* NUL-terminated UTF-8 */
    int32_t role;        /* TESSERA_RT_INPUT or TESSERA_RT_OUTPUT */
    int32_t dtype;       /* TESSERA_RT_F32, ... */
    size_t rank;
    const int64_t *dims; /* rank entries; may be NULL when rank == 0 */
} tessera_rt_tensor_spec;

/* One tensor as the caller passes it. */
typedef struct tessera_rt_tensor_arg {
    const void *data;    /* NULL only for a tensor with no elements */
    int32_t dtype;
    size_t rank;         /* or TESSERA_RT_SHAPE_FROM_SIGNATURE */
    const int64_t *dims; /* rank entries; may be NULL when rank == 0 */
} tessera_rt_tensor_arg;

/* A loop body: called with env and one chunk [begin, end), from several
 * threads at once. Must not unwind (no C++ exceptions out of it). */
typedef void (*tessera_rt_chunk_fn)(void *env, size_t begin, size_t end);

/* A static description of a status code ("shape mismatch"); "unknown
 * status" for a code that is not one. */
const char *tessera_rt_status_string(int32_t status);

/* A new context, or NULL if it could not be made. */
tessera_rt_context *tessera_rt_context_new(void);

/* Frees a context and its workspace; NULL is ignored. */
void tessera_rt_context_free(tessera_rt_context *ctx);

/* The last error's message: "" if the last call through ctx succeeded,
 * "null context" if ctx is NULL. Valid until the next call taking ctx. */
const char *tessera_rt_last_error(const tessera_rt_context *ctx);

/* Records an error (for generated code's own checks) and returns status.
 * message NULL uses the status's description; status 0 clears the error;
 * an unknown status records and returns TESSERA_RT_ERR_INVALID_ARGUMENT. */
int32_t tessera_rt_set_error(tessera_rt_context *ctx, int32_t status, const char *message);

/* size bytes aligned to TESSERA_RT_ALIGN, uninitialised; NULL on failure
 * (reason recorded in ctx when ctx is not NULL; ctx may be NULL). */
void *tessera_rt_alloc(tessera_rt_context *ctx, size_t size);

/* Frees memory from tessera_rt_alloc; NULL is ignored. */
void tessera_rt_free(void *ptr);

/* The context's workspace: at least size bytes aligned to TESSERA_RT_ALIGN,
 * reused across calls, grown (contents lost, new memory zeroed) only when
 * size exceeds it; valid until the next call of this function or
 * tessera_rt_context_free. NULL on failure or if ctx is NULL. */
void *tessera_rt_context_workspace(tessera_rt_context *ctx, size_t size);

/* The number of threads tessera_rt_parallel_for uses: set by
 * tessera_rt_set_num_threads, else TESSERA_NUM_THREADS (1 to 1024), else the
 * machine's available parallelism. */
size_t tessera_rt_num_threads(void);

/* Sets the thread count, process-wide; 0 returns to the default.
 * TESSERA_RT_ERR_INVALID_ARGUMENT over 1024. */
int32_t tessera_rt_set_num_threads(size_t n);

/* Stops the thread pool and joins its threads, after running loops
 * finish; the next tessera_rt_parallel_for starts a new pool. Call it
 * before unloading (dlclose) a library that links the runtime, so no pool
 * thread outlives its code. TESSERA_RT_ERR_INVALID_ARGUMENT if called from
 * a pool thread. */
int32_t tessera_rt_shutdown(void);

/* Calls body(env, begin, end) on contiguous chunks covering [0, n), in
 * parallel, and returns when all are done. Chunking: min(n, 4 x threads)
 * ranges whose lengths differ by at most one; one thread or one chunk runs
 * body(env, 0, n) on the calling thread; n == 0 calls nothing. Nested calls
 * (from inside body) are safe. TESSERA_RT_ERR_NULL_ARGUMENT if body is NULL. */
int32_t tessera_rt_parallel_for(size_t n, tessera_rt_chunk_fn body, void *env);

/* Checks n_tensors tensors against their specs: dtype, rank, static dims,
 * symbolic dims bound consistently, NULL and misaligned data, sizes that
 * overflow. symbol_values (in/out, n_symbols entries) holds given values or
 * -1; on success, each symbol's value. On failure the message in ctx names
 * the tensor and dim: "input 'x': dim 1 must be 784, got 785". */
int32_t tessera_rt_check_args(tessera_rt_context *ctx,
                              const char *const *symbol_names,
                              int64_t *symbol_values,
                              size_t n_symbols,
                              const tessera_rt_tensor_spec *specs,
                              const tessera_rt_tensor_arg *args,
                              size_t n_tensors);

/* ---- Compiled models ------------------------------------------------------
 * A library made by `tessera compile` holds one tessera_rt_model constant
 * and NAME_* functions that forward to these with it as the first argument;
 * applications call the NAME_* functions (see the generated NAME.h). The
 * layout of `words` is documented in the runtime's src/model/mod.rs. */

/* A generated entry point: buffers are the inputs then the outputs, dims the
 * values of the sizes it takes; returns 0 or status bits. */
typedef int32_t (*tessera_rt_entry_fn)(void *const *buffers, const int64_t *dims);

typedef struct tessera_rt_model {
    uint32_t abi_version;     /* 1 */
    uint32_t reserved;        /* 0 */
    const int64_t *words;     /* the interface, encoded */
    size_t n_words;
    const char *strings;      /* NUL-terminated strings back to back */
    size_t n_strings;
    tessera_rt_entry_fn entry;
} tessera_rt_model;

/* How many inputs (what 0), outputs (1) or symbols (2) the model has. */
size_t tessera_rt_model_count(const tessera_rt_model *model, int32_t what);

/* Input (role TESSERA_RT_INPUT) or output (TESSERA_RT_OUTPUT) i: its name
 * (NULL if none), dtype code (0 if none), rank (-1 if none), dim `axis`
 * (its size; -1 when symbolic; -2 if none) and a symbolic dim's name ("N",
 * "2*N"; NULL when static or none). */
const char *tessera_rt_model_tensor_name(const tessera_rt_model *model, int32_t role, size_t i);
int32_t tessera_rt_model_tensor_dtype(const tessera_rt_model *model, int32_t role, size_t i);
int64_t tessera_rt_model_tensor_rank(const tessera_rt_model *model, int32_t role, size_t i);
int64_t tessera_rt_model_tensor_dim(const tessera_rt_model *model, int32_t role, size_t i, size_t axis);
const char *tessera_rt_model_tensor_dim_name(const tessera_rt_model *model, int32_t role, size_t i,
                                             size_t axis);

/* The name of symbol k (NULL if none), in the order run takes their values. */
const char *tessera_rt_model_symbol_name(const tessera_rt_model *model, size_t k);

/* Runs the model on caller-owned buffers: one data pointer per input and
 * per output, one value per symbol (symbol_values may be NULL when there
 * are none); shapes follow from the symbols. Nulls, negative symbols,
 * sizes that overflow and outputs overlapping other tensors are errors;
 * a failure while running (an integer division by zero, an index out of
 * range) is TESSERA_RT_ERR_EXECUTION with the reason in ctx. */
int32_t tessera_rt_model_run(const tessera_rt_model *model, tessera_rt_context *ctx,
                             const void *const *inputs, void *const *outputs,
                             const int64_t *symbol_values);

/* Runs the model on described tensors: dtypes and shapes are checked and the
 * symbols bound from the inputs' shapes; a rank of
 * TESSERA_RT_SHAPE_FROM_SIGNATURE takes the model's shape. */
int32_t tessera_rt_model_run_tensors(const tessera_rt_model *model, tessera_rt_context *ctx,
                                     const tessera_rt_tensor_arg *inputs,
                                     const tessera_rt_tensor_arg *outputs);

/* Named byte arrays beside a training step: its parameters' initial values
 * (data in read-only memory) or its optimiser state's sizes (data NULL:
 * the state starts at zeros). */
typedef struct tessera_rt_table_entry {
    const char *name;
    size_t size;          /* bytes */
    const void *data;     /* size bytes, or NULL for zeros */
} tessera_rt_table_entry;

typedef struct tessera_rt_table {
    size_t count;
    const tessera_rt_table_entry *entries;
} tessera_rt_table;

/* The number of entries (0 for NULL); entry i's name (NULL if none), size in
 * bytes (0 if none) and initial data (NULL if none or zeros). */
size_t tessera_rt_table_count(const tessera_rt_table *table);
const char *tessera_rt_table_name(const tessera_rt_table *table, size_t i);
size_t tessera_rt_table_size(const tessera_rt_table *table, size_t i);
const void *tessera_rt_table_data(const tessera_rt_table *table, size_t i);

#ifdef __cplusplus
}
#endif

#endif /* TESSERA_RT_H */
