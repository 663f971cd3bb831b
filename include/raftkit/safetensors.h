/* safetensors.h — reading and writing Hugging Face safetensors files: the
 * weights of a model directory (one model.safetensors, or shards listed by
 * model.safetensors.index.json), PEFT adapters, and our own exported weights.
 *
 * Files are memory-mapped read-only; a tensor's data points into the map and
 * stays valid until rk_st_close(). Only the float dtypes the engine computes
 * with (F32, F16, BF16) are read; other dtypes are refused with a message
 * naming them. This module knows nothing of model families: it hands out named
 * tensors, and model code decides what they mean. The byte layout is
 * documented at the top of model/safetensors.c. */
#ifndef RAFTKIT_SAFETENSORS_H
#define RAFTKIT_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "raftkit/status.h"

/* Values are explicit and only ever grow at the end. */
typedef enum rk_dtype {
    RK_F32 = 0,
    RK_F16 = 1,  /* IEEE 754 binary16 */
    RK_BF16 = 2, /* bfloat16: the top half of a float32 */
} rk_dtype;

#define RK_ST_MAX_DIMS 8

/* One tensor of an open file. Every pointer is borrowed from the
 * rk_safetensors it came from and stays valid until rk_st_close(). */
typedef struct rk_st_tensor {
    const char *name;
    rk_dtype dtype;
    int ndim;                      /* 0 (a scalar) .. RK_ST_MAX_DIMS */
    int64_t shape[RK_ST_MAX_DIMS]; /* shape[0..ndim), each >= 0; the rest 0 */
    const void *data;              /* little-endian elements, row-major; may be unaligned */
    size_t nbytes;                 /* = product(shape) * rk_dtype_size(dtype) */
    const char *file;              /* the path of the file holding it (for messages) */
} rk_st_tensor;

/* One or several memory-mapped safetensors files, seen as one set of tensors. */
typedef struct rk_safetensors rk_safetensors;

/* Opens path, which is either
 *   - a safetensors file,
 *   - a model.safetensors.index.json file (its shards, in the same directory), or
 *   - a model directory: DIR/model.safetensors when present, else the shards
 *     named by DIR/model.safetensors.index.json ("weight_map": name -> file).
 * Every file is validated whole before this returns (see model/safetensors.c).
 * Fails with RK_ENOTFOUND (no such path, or a directory with neither file),
 * RK_EIO (a file system call failed), RK_EFORMAT (a malformed file; the
 * message names the file and the tensor or place), RK_ENOMEM. On success *out
 * is owned by the caller, who frees it with rk_st_close(). */
rk_status rk_st_open(const char *path, rk_safetensors **out, rk_error *err);

/* Unmaps and frees st and everything borrowed from it. Accepts NULL. */
void rk_st_close(rk_safetensors *st);

/* Number of tensors over all files (the __metadata__ entry is not one). */
size_t rk_st_count(const rk_safetensors *st);

/* Tensor i, in byte order of the names (strcmp); NULL when i is out of range.
 * Borrowed: valid until rk_st_close(). */
const rk_st_tensor *rk_st_get(const rk_safetensors *st, size_t i);

/* The tensor with this name, or NULL when absent. Borrowed, as above. */
const rk_st_tensor *rk_st_find(const rk_safetensors *st, const char *name);

/* Copies t's n elements into out[0..n) as float32, converting F16 and BF16
 * exactly (subnormals, infinities and NaNs included). Fails with RK_EFORMAT,
 * naming the file and tensor, when n is not t's element count. */
rk_status rk_st_read_f32(const rk_st_tensor *t, float *out, size_t n, rk_error *err);

/* The __metadata__ value for key, or NULL when absent. With shards, the first
 * shard (in file name order) that has the key wins. Borrowed: valid until
 * rk_st_close(). */
const char *rk_st_metadata(const rk_safetensors *st, const char *key);

/* A tensor to write: float32 data (borrowed for the call), converted to dtype
 * on write with round-to-nearest-even. data may be NULL when the shape has
 * no elements. */
typedef struct rk_st_out {
    const char *name; /* non-empty UTF-8, unique, not "__metadata__" */
    rk_dtype dtype;
    int ndim;
    int64_t shape[RK_ST_MAX_DIMS];
    const float *data; /* product(shape) elements, row-major */
} rk_st_out;

/* Writes the n tensors t and the metadata meta_kv (key, value, key, value, ...,
 * NULL; or NULL for none) to path, the way the Python safetensors library
 * lays a file out: compact JSON header with __metadata__ first, then tensors
 * in name order; header padded with spaces so data starts 8-byte aligned;
 * data in the same order, packed. Atomic: writes path.tmp, fsyncs it, renames
 * it over path. Fails with RK_EINVAL (bad name, duplicate, shape, dtype, or an
 * odd meta_kv), RK_EIO (naming the path), RK_ENOMEM; path is then untouched. */
rk_status rk_st_write(const char *path, const rk_st_out *t, size_t n, const char *const *meta_kv,
                      rk_error *err);

/* Bytes per element of d: 4, 2 or 2; 0 for a value outside the enum. */
size_t rk_dtype_size(rk_dtype d);

/* The name used in safetensors headers ("F32", "F16", "BF16"); "?" otherwise. */
const char *rk_dtype_name(rk_dtype d);

/* Exact widening conversions (NaN payloads kept). */
float rk_f16_to_f32(uint16_t h);
float rk_bf16_to_f32(uint16_t h);

/* Narrowing conversions, rounding to nearest, ties to even; overflow gives
 * infinity, NaN stays NaN (payload kept where it fits, quiet for bf16). */
uint16_t rk_f32_to_f16(float f);
uint16_t rk_f32_to_bf16(float f);

#endif
