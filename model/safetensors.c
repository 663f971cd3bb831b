/* safetensors.c — Hugging Face safetensors files: validated, memory-mapped
 * reading (single files and sharded directories) and atomic writing.
 *
 * The file, byte by byte (all integers little-endian):
 *
 *   offset 0      u64 N          size of the header in bytes
 *   offset 8      N bytes        UTF-8 JSON object (the header), which writers
 *                                pad at the end with spaces (0x20) so that
 *                                8 + N is a multiple of 8
 *   offset 8 + N  data           the tensors' bytes; "data_offsets" count
 *                                from here, so the data region is the rest
 *                                of the file
 *
 * The header maps each tensor name to
 *   {"dtype": "F32", "shape": [d0, d1, ...], "data_offsets": [begin, end]}
 * where the tensor occupies data[begin, end), row-major, little-endian
 * elements, and end - begin = product(shape) * size(dtype) (a 0-d tensor, [],
 * has one element). One optional key, "__metadata__", maps to an object of
 * string -> string (free-form; e.g. {"format": "pt"}). Example of a whole
 * file holding one float32 tensor "a" = [1, 2] (header 56 bytes, 54 of JSON
 * and 2 spaces):
 *
 *   38 00 00 00 00 00 00 00
 *   {"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}__   (_ = space)
 *   00 00 80 3f 00 00 00 40
 *
 * dtypes of the format: F64 F32 F16 BF16 I64 I32 I16 I8 U64 U32 U16 U8 BOOL
 * F8_E4M3 F8_E5M2; raftkit reads and writes F32, F16 and BF16 only.
 *
 * A sharded model directory holds model.safetensors.index.json:
 *   {"metadata": {...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}
 * and the shards it names, each a safetensors file as above, in the same
 * directory.
 *
 * Reading validates everything before returning: header size within the file
 * and at most 100 MB, JSON object, each entry's dtype/shape/data_offsets,
 * shapes non-negative and without overflow, offsets ordered, inside the data
 * region, matching the shape, and not overlapping another tensor's bytes.
 * Gaps between tensors are tolerated. Writing lays tensors out in name order
 * with no gaps, as the Python library does for tensors of one dtype. */
#define _GNU_SOURCE
#include "raftkit/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "raftkit/file.h"
#include "raftkit/json.h"
#include "raftkit/le.h"

#define MAX_HEADER ((uint64_t)100 * 1000 * 1000)
#define INDEX_NAME "model.safetensors.index.json"
#define SINGLE_NAME "model.safetensors"

typedef struct st_map {
    char *path;
    void *p; /* the whole file, read-only */
    size_t n;
    json_t *meta; /* __metadata__ object, or NULL */
} st_map;

struct rk_safetensors {
    rk_st_tensor *t; /* sorted by name; names are owned (strdup) */
    size_t n, cap;
    st_map *maps;
    size_t n_maps;
};

/* ---- dtypes and conversions ---- */

size_t rk_dtype_size(rk_dtype d) {
    switch (d) {
    case RK_F32: return 4;
    case RK_F16: return 2;
    case RK_BF16: return 2;
    }
    return 0;
}

const char *rk_dtype_name(rk_dtype d) {
    switch (d) {
    case RK_F32: return "F32";
    case RK_F16: return "F16";
    case RK_BF16: return "BF16";
    }
    return "?";
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float rk_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0) {
        if (mant == 0) return bits_f32(sign);
        /* Subnormal: mant * 2^-24; normalize into a float32 exponent. */
        uint32_t e = 127 - 15 + 1;
        while (!(mant & 0x400)) {
            mant <<= 1;
            e--;
        }
        return bits_f32(sign | e << 23 | (mant & 0x3ff) << 13);
    }
    if (exp == 31) return bits_f32(sign | 0x7f800000 | mant << 13); /* inf, NaN (payload kept) */
    return bits_f32(sign | (exp + 127 - 15) << 23 | mant << 13);
}

uint16_t rk_f32_to_f16(float f) {
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) { /* NaN: keep the payload's top bits, never turn into inf */
        uint16_t m = (uint16_t)((ax >> 13) & 0x3ff);
        return sign | 0x7c00 | (m ? m : 0x200);
    }
    /* 65520 is halfway between 65504 (largest f16, odd mantissa) and 65536:
     * it and everything above rounds to infinity. */
    if (ax >= 0x477ff000) return sign | 0x7c00;
    if (ax < 0x38800000) { /* below 2^-14: an f16 subnormal or zero */
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* value = m * 2^-shift units of 2^-24 */
        if (shift >= 25) return sign;
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q; /* q may carry into the smallest normal, which is right */
    }
    uint32_t h = (ax >> 13) - ((127 - 15) << 10), rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return sign | (uint16_t)h;
}

float rk_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t rk_f32_to_bf16(float f) {
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)(x >> 16) | 0x40; /* quiet NaN */
    x += 0x7fff + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}

/* ---- reading ---- */

static const char *const other_dtypes[] = {"F64", "I64", "I32",  "I16",     "I8",      "U64", "U32",
                                           "U16", "U8",  "BOOL", "F8_E4M3", "F8_E5M2", NULL};

static rk_status parse_dtype(const char *file, const char *name, const json_t *v, rk_dtype *out,
                             rk_error *err) {
    if (!v) return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": no \"dtype\"", file, name);
    const char *s = json_string_value(v);
    if (!s) return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": \"dtype\" is not a string", file, name);
    for (int d = RK_F32; d <= RK_BF16; d++)
        if (!strcmp(s, rk_dtype_name((rk_dtype)d))) {
            *out = (rk_dtype)d;
            return RK_OK;
        }
    for (size_t i = 0; other_dtypes[i]; i++)
        if (!strcmp(s, other_dtypes[i]))
            return rk_fail(err, RK_EFORMAT,
                           "%s: tensor \"%s\": dtype %s is not supported (raftkit reads F32, F16, BF16)",
                           file, name, s);
    return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": unknown dtype \"%s\"", file, name, s);
}

/* Fills t's ndim and shape from v, and *nelem with the element count. */
static rk_status parse_shape(const char *file, const char *name, const json_t *v, rk_st_tensor *t,
                             uint64_t *nelem, rk_error *err) {
    if (!v) return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": no \"shape\"", file, name);
    if (!json_is_array(v))
        return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": \"shape\" is not an array", file, name);
    size_t nd = json_array_size(v);
    if (nd > RK_ST_MAX_DIMS)
        return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": %zu dimensions, at most %d supported", file, name,
                       nd, RK_ST_MAX_DIMS);
    uint64_t prod = 1;
    for (size_t i = 0; i < nd; i++) {
        const json_t *d = json_array_get(v, i);
        if (!json_is_integer(d))
            return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": shape[%zu] is not an integer", file, name, i);
        json_int_t x = json_integer_value(d);
        if (x < 0)
            return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": shape[%zu] = %lld is negative", file, name, i,
                           (long long)x);
        /* Bound by INT64_MAX / 4 so that bytes = elements * 4 fits too. */
        if (x > 0 && prod > (uint64_t)(INT64_MAX / 4) / (uint64_t)x)
            return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": shape overflows at shape[%zu]", file, name,
                           i);
        prod *= (uint64_t)x;
        t->shape[i] = x;
    }
    t->ndim = (int)nd;
    *nelem = prod;
    return RK_OK;
}

static rk_status parse_offsets(const char *file, const char *name, const json_t *v, uint64_t *begin,
                               uint64_t *end, rk_error *err) {
    if (!v) return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": no \"data_offsets\"", file, name);
    const json_t *b = json_array_get(v, 0), *e = json_array_get(v, 1);
    if (!json_is_array(v) || json_array_size(v) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
        json_integer_value(b) < 0 || json_integer_value(e) < 0)
        return rk_fail(err, RK_EFORMAT,
                       "%s: tensor \"%s\": \"data_offsets\" is not two non-negative integers", file, name);
    *begin = (uint64_t)json_integer_value(b);
    *end = (uint64_t)json_integer_value(e);
    return RK_OK;
}

static int cmp_span(const void *a, const void *b) {
    const rk_st_tensor *x = *(const rk_st_tensor *const *)a, *y = *(const rk_st_tensor *const *)b;
    const char *px = x->data, *py = y->data;
    return px < py ? -1 : px > py;
}

/* Tensors t[0..n) of one file (non-empty ones) must not share a byte. */
static rk_status check_overlap(const char *file, rk_st_tensor *t, size_t n, rk_error *err) {
    rk_st_tensor **v = malloc((n ? n : 1) * sizeof *v);
    if (!v) return rk_fail(err, RK_ENOMEM, "%s: out of memory", file);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i].nbytes) v[m++] = &t[i];
    qsort(v, m, sizeof *v, cmp_span);
    rk_status s = RK_OK;
    for (size_t i = 1; i < m; i++) {
        const char *prev_end = (const char *)v[i - 1]->data + v[i - 1]->nbytes;
        if ((const char *)v[i]->data < prev_end) {
            s = rk_fail(err, RK_EFORMAT, "%s: tensors \"%s\" and \"%s\" overlap", file, v[i - 1]->name,
                        v[i]->name);
            break;
        }
    }
    free(v);
    return s;
}

static rk_status push_tensor(rk_safetensors *st, const rk_st_tensor *t, rk_error *err) {
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 64;
        rk_st_tensor *p = realloc(st->t, cap * sizeof *p);
        if (!p) return rk_fail(err, RK_ENOMEM, "out of memory");
        st->t = p;
        st->cap = cap;
    }
    st->t[st->n++] = *t;
    return RK_OK;
}

/* Maps path and appends its tensors to st. */
static rk_status load_file(rk_safetensors *st, const char *path, rk_error *err) {
    st_map *maps = realloc(st->maps, (st->n_maps + 1) * sizeof *maps);
    if (!maps) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    st->maps = maps;
    st_map *m = &st->maps[st->n_maps];
    memset(m, 0, sizeof *m);
    m->path = strdup(path);
    if (!m->path) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    st->n_maps++; /* counted now so rk_st_close frees what follows */

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return rk_fail(err, errno == ENOENT ? RK_ENOTFOUND : RK_EIO, "%s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return rk_fail(err, RK_EIO, "%s: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return rk_fail(err, RK_EFORMAT, "%s: not a regular file", path);
    }
    if (sb.st_size < 8) {
        close(fd);
        return rk_fail(err, RK_EFORMAT,
                       "%s: %lld bytes, too short for a safetensors file (8-byte header size)", path,
                       (long long)sb.st_size);
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);
    if (p == MAP_FAILED) return rk_fail(err, RK_EIO, "%s: mmap: %s", path, strerror(e));
    m->p = p;
    m->n = (size_t)sb.st_size;

    const unsigned char *bytes = p;
    uint64_t hlen = rk_le_get(bytes, 8);
    if (hlen > MAX_HEADER)
        return rk_fail(err, RK_EFORMAT, "%s: header size %llu is absurd (more than 100 MB)", path,
                       (unsigned long long)hlen);
    if (hlen > m->n - 8)
        return rk_fail(err, RK_EFORMAT, "%s: header size %llu runs past the end of the file (%zu bytes)",
                       path, (unsigned long long)hlen, m->n);
    const unsigned char *data = bytes + 8 + hlen;
    uint64_t data_len = m->n - 8 - hlen;

    json_t *hdr = NULL;
    char what[1024];
    snprintf(what, sizeof what, "%s: header", path);
    rk_status s = rk_json_parse((const char *)bytes + 8, (size_t)hlen, what, &hdr, err);
    if (s) return s;
    if (!json_is_object(hdr)) {
        json_decref(hdr);
        return rk_fail(err, RK_EFORMAT, "%s: header is not a JSON object", path);
    }

    size_t first = st->n;
    const char *key;
    json_t *val;
    json_object_foreach(hdr, key, val) {
        if (!strcmp(key, "__metadata__")) {
            const char *mk;
            json_t *mv;
            if (!json_is_object(val)) {
                s = rk_fail(err, RK_EFORMAT, "%s: \"__metadata__\" is not an object", path);
                break;
            }
            json_object_foreach(val, mk, mv) {
                if (!json_is_string(mv)) {
                    s = rk_fail(err, RK_EFORMAT, "%s: \"__metadata__\" value of \"%s\" is not a string", path,
                                mk);
                    break;
                }
            }
            if (s) break;
            m->meta = json_incref(val);
            continue;
        }
        if (!json_is_object(val)) {
            s = rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": entry is not an object", path, key);
            break;
        }
        rk_st_tensor t = {0};
        uint64_t nelem = 0, begin = 0, end = 0;
        if ((s = parse_dtype(path, key, json_object_get(val, "dtype"), &t.dtype, err))) break;
        if ((s = parse_shape(path, key, json_object_get(val, "shape"), &t, &nelem, err))) break;
        if ((s = parse_offsets(path, key, json_object_get(val, "data_offsets"), &begin, &end, err))) break;
        if (begin > end) {
            s = rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": data_offsets [%llu, %llu] begin after end", path,
                        key, (unsigned long long)begin, (unsigned long long)end);
            break;
        }
        if (end > data_len) {
            s = rk_fail(err, RK_EFORMAT,
                        "%s: tensor \"%s\": data_offsets end %llu past the end of the data (%llu bytes)",
                        path, key, (unsigned long long)end, (unsigned long long)data_len);
            break;
        }
        uint64_t want = nelem * rk_dtype_size(t.dtype);
        if (end - begin != want) {
            s = rk_fail(err, RK_EFORMAT,
                        "%s: tensor \"%s\": data_offsets span %llu bytes, shape and dtype %s need %llu", path,
                        key, (unsigned long long)(end - begin), rk_dtype_name(t.dtype),
                        (unsigned long long)want);
            break;
        }
        t.data = data + begin;
        t.nbytes = (size_t)want;
        t.file = m->path;
        t.name = strdup(key);
        if (!t.name) {
            s = rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
            break;
        }
        if ((s = push_tensor(st, &t, err))) {
            free((char *)t.name);
            break;
        }
    }
    json_decref(hdr);
    if (s) return s;
    return check_overlap(path, st->t + first, st->n - first, err);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp(((const rk_st_tensor *)a)->name, ((const rk_st_tensor *)b)->name);
}

/* Sorts st's tensors by name; a name in two shards is refused. */
static rk_status sort_unique(rk_safetensors *st, const char *what, rk_error *err) {
    if (st->n > 1) qsort(st->t, st->n, sizeof *st->t, cmp_name);
    for (size_t i = 1; i < st->n; i++)
        if (!strcmp(st->t[i - 1].name, st->t[i].name))
            return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\" appears in both %s and %s", what,
                           st->t[i].name, st->t[i - 1].file, st->t[i].file);
    return RK_OK;
}

/* dir + "/" + name, malloc'ed; NULL when out of memory. */
static char *join(const char *dir, size_t n_dir, const char *name) {
    size_t n = strlen(name);
    char *p = malloc(n_dir + n + 2);
    if (!p) return NULL;
    memcpy(p, dir, n_dir);
    p[n_dir] = '/';
    memcpy(p + n_dir + 1, name, n + 1);
    return p;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Reads the index at path and loads the shards it names (from dir). */
static rk_status load_index(rk_safetensors *st, const char *path, const char *dir, size_t n_dir,
                            rk_error *err) {
    char *text = NULL;
    size_t n_text = 0;
    rk_status rs = rk_file_read(path, &text, &n_text, err);
    if (rs) return rs;
    json_t *idx = NULL;
    rk_status s = rk_json_parse(text, n_text, path, &idx, err);
    free(text);
    if (s) return s;
    json_t *wm = json_object_get(idx, "weight_map");
    if (!json_is_object(wm)) {
        json_decref(idx);
        return rk_fail(err, RK_EFORMAT, "%s: no \"weight_map\" object", path);
    }
    /* The distinct shard names, sorted, so the load order does not depend on
     * the index's key order. */
    size_t n_names = 0;
    const char **names = malloc((json_object_size(wm) + 1) * sizeof *names);
    if (!names) {
        json_decref(idx);
        return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    }
    const char *key;
    json_t *val;
    json_object_foreach(wm, key, val) {
        const char *file = json_string_value(val);
        if (!file || !*file || strchr(file, '/')) {
            s = rk_fail(err, RK_EFORMAT, "%s: weight_map[\"%s\"] is not a plain file name", path, key);
            break;
        }
        names[n_names++] = file;
    }
    if (!s) {
        qsort(names, n_names, sizeof *names, cmp_str);
        size_t u = 0;
        for (size_t i = 0; i < n_names; i++)
            if (!u || strcmp(names[u - 1], names[i])) names[u++] = names[i];
        n_names = u;
    }
    for (size_t i = 0; !s && i < n_names; i++) {
        char *shard = join(dir, n_dir, names[i]);
        if (!shard) {
            s = rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
            break;
        }
        struct stat sb;
        if (stat(shard, &sb) != 0)
            s = rk_fail(err, errno == ENOENT ? RK_ENOTFOUND : RK_EIO, "%s: shard %s: %s", path, shard,
                        strerror(errno));
        else if ((s = load_file(st, shard, err)))
            rk_fail_prefix(err, "%s", path);
        free(shard);
    }
    free(names);
    if (!s) s = sort_unique(st, path, err);
    if (!s) { /* every tensor the index lists is in the shard it names */
        json_object_foreach(wm, key, val) {
            const rk_st_tensor *t = rk_st_find(st, key);
            const char *file = json_string_value(val), *base = t ? strrchr(t->file, '/') : NULL;
            if (!t || strcmp(base ? base + 1 : t->file, file)) {
                s = rk_fail(err, RK_EFORMAT,
                            "%s: tensor \"%s\" is listed in weight_map but absent from shard %s", path, key,
                            file);
                break;
            }
        }
    }
    json_decref(idx);
    return s;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

rk_status rk_st_open(const char *path, rk_safetensors **out, rk_error *err) {
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return rk_fail(err, errno == ENOENT ? RK_ENOTFOUND : RK_EIO, "%s: %s", path, strerror(errno));
    rk_safetensors *st = calloc(1, sizeof *st);
    if (!st) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    rk_status s;
    size_t n_path = strlen(path);
    while (n_path > 1 && path[n_path - 1] == '/')
        n_path--;
    if (S_ISDIR(sb.st_mode)) {
        char *single = join(path, n_path, SINGLE_NAME), *index = join(path, n_path, INDEX_NAME);
        if (!single || !index)
            s = rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
        else if (access(single, F_OK) == 0)
            s = load_file(st, single, err);
        else if (access(index, F_OK) == 0)
            s = load_index(st, index, path, n_path, err);
        else
            s = rk_fail(err, RK_ENOTFOUND, "%s: no %s or %s in this directory", path, SINGLE_NAME,
                        INDEX_NAME);
        free(single);
        free(index);
    } else if (ends_with(path, ".index.json")) {
        const char *slash = strrchr(path, '/');
        s = slash ? load_index(st, path, path, (size_t)(slash - path), err)
                  : load_index(st, path, ".", 1, err);
    } else {
        s = load_file(st, path, err);
    }
    if (!s) s = sort_unique(st, path, err);
    if (s) {
        rk_st_close(st);
        return s;
    }
    *out = st;
    return RK_OK;
}

void rk_st_close(rk_safetensors *st) {
    if (!st) return;
    for (size_t i = 0; i < st->n; i++)
        free((char *)st->t[i].name);
    free(st->t);
    for (size_t i = 0; i < st->n_maps; i++) {
        if (st->maps[i].p) munmap(st->maps[i].p, st->maps[i].n);
        json_decref(st->maps[i].meta);
        free(st->maps[i].path);
    }
    free(st->maps);
    free(st);
}

size_t rk_st_count(const rk_safetensors *st) { return st->n; }

const rk_st_tensor *rk_st_get(const rk_safetensors *st, size_t i) { return i < st->n ? &st->t[i] : NULL; }

const rk_st_tensor *rk_st_find(const rk_safetensors *st, const char *name) {
    size_t lo = 0, hi = st->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(st->t[mid].name, name);
        if (!c) return &st->t[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *rk_st_metadata(const rk_safetensors *st, const char *key) {
    for (size_t i = 0; i < st->n_maps; i++) {
        const char *v = json_string_value(json_object_get(st->maps[i].meta, key));
        if (v) return v;
    }
    return NULL;
}

static size_t elements(int ndim, const int64_t *shape) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

rk_status rk_st_read_f32(const rk_st_tensor *t, float *out, size_t n, rk_error *err) {
    size_t have = elements(t->ndim, t->shape);
    if (n != have)
        return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": %zu elements, expected %zu", t->file, t->name,
                       have, n);
    const unsigned char *p = t->data;
    switch (t->dtype) {
    case RK_F32:
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (n) memcpy(out, p, n * 4);
#else
        for (size_t i = 0; i < n; i++)
            out[i] = bits_f32((uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                              (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24);
#endif
        return RK_OK;
    case RK_F16:
        for (size_t i = 0; i < n; i++)
            out[i] = rk_f16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return RK_OK;
    case RK_BF16:
        for (size_t i = 0; i < n; i++)
            out[i] = rk_bf16_to_f32((uint16_t)(p[2 * i] | p[2 * i + 1] << 8));
        return RK_OK;
    }
    return rk_fail(err, RK_EFORMAT, "%s: tensor \"%s\": bad dtype %d", t->file, t->name, (int)t->dtype);
}

/* ---- writing ---- */

static int cmp_out(const void *a, const void *b) {
    return strcmp((*(const rk_st_out *const *)a)->name, (*(const rk_st_out *const *)b)->name);
}

/* Sets *out to the header JSON (unpadded, malloc'ed) for the tensors in
 * order o[0..n) and the metadata. */
static rk_status header_text(const char *path, const rk_st_out *const *o, size_t n,
                             const char *const *meta_kv, char **out, rk_error *err) {
    *out = NULL;
    json_t *hdr = json_object();
    if (!hdr) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    rk_status s = RK_OK;
    size_t m = 0;
    while (meta_kv && meta_kv[m])
        m++;
    if (m % 2) s = rk_fail(err, RK_EINVAL, "%s: metadata key \"%s\" has no value", path, meta_kv[m - 1]);
    if (!s && m) {
        /* Sorted keys, so the same metadata always gives the same bytes. */
        const char **keys = malloc(m / 2 * sizeof *keys);
        json_t *meta = json_object();
        if (!keys || !meta || json_object_set(hdr, "__metadata__", meta) != 0)
            s = rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
        for (size_t i = 0; !s && i < m / 2; i++)
            keys[i] = meta_kv[2 * i];
        if (!s) qsort(keys, m / 2, sizeof *keys, cmp_str);
        for (size_t i = 0; !s && i < m / 2; i++) {
            const char *v = NULL;
            for (size_t j = 0; j < m; j += 2)
                if (!strcmp(meta_kv[j], keys[i])) v = meta_kv[j + 1];
            if (i && !strcmp(keys[i - 1], keys[i]))
                s = rk_fail(err, RK_EINVAL, "%s: metadata key \"%s\" given twice", path, keys[i]);
            else if (json_object_set_new(meta, keys[i], json_string(v)) != 0)
                s = rk_fail(err, RK_EINVAL, "%s: metadata \"%s\" is not UTF-8", path, keys[i]);
        }
        json_decref(meta);
        free(keys);
    }
    uint64_t off = 0;
    for (size_t i = 0; !s && i < n; i++) {
        const rk_st_out *t = o[i];
        uint64_t nb = elements(t->ndim, t->shape) * rk_dtype_size(t->dtype);
        /* Field order as the Python library writes it: dtype, shape, data_offsets. */
        json_t *entry = json_object(), *shape = json_array();
        int bad = !entry || !shape;
        for (int d = 0; !bad && d < t->ndim; d++)
            bad = json_array_append_new(shape, json_integer(t->shape[d]));
        bad = bad || json_object_set_new(entry, "dtype", json_string(rk_dtype_name(t->dtype))) ||
              json_object_set(entry, "shape", shape) ||
              json_object_set_new(entry, "data_offsets",
                                  json_pack("[II]", (json_int_t)off, (json_int_t)(off + nb)));
        json_decref(shape);
        if (bad) {
            json_decref(entry);
            s = rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
        } else if (json_object_set_new(hdr, t->name, entry) != 0) {
            s = rk_fail(err, RK_EINVAL, "%s: tensor name \"%s\" is not UTF-8", path, t->name);
        }
        off += nb;
    }
    if (!s && !(*out = json_dumps(hdr, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        s = rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    json_decref(hdr);
    return s;
}

static rk_status check_out(const char *path, const rk_st_out *t, rk_error *err) {
    if (!t->name || !*t->name) return rk_fail(err, RK_EINVAL, "%s: a tensor without a name", path);
    if (!strcmp(t->name, "__metadata__"))
        return rk_fail(err, RK_EINVAL, "%s: \"__metadata__\" is not a tensor name", path);
    if (!rk_dtype_size(t->dtype))
        return rk_fail(err, RK_EINVAL, "%s: tensor \"%s\": bad dtype %d", path, t->name, (int)t->dtype);
    if (t->ndim < 0 || t->ndim > RK_ST_MAX_DIMS)
        return rk_fail(err, RK_EINVAL, "%s: tensor \"%s\": ndim %d", path, t->name, t->ndim);
    uint64_t prod = 1;
    for (int d = 0; d < t->ndim; d++) {
        if (t->shape[d] < 0)
            return rk_fail(err, RK_EINVAL, "%s: tensor \"%s\": negative shape", path, t->name);
        if (t->shape[d] && prod > (uint64_t)(INT64_MAX / 4) / (uint64_t)t->shape[d])
            return rk_fail(err, RK_EINVAL, "%s: tensor \"%s\": shape overflows", path, t->name);
        prod *= (uint64_t)t->shape[d];
    }
    if (prod && !t->data) return rk_fail(err, RK_EINVAL, "%s: tensor \"%s\": no data", path, t->name);
    return RK_OK;
}

/* Writes tensor t's data, converted, to f. Returns 0 or -1. */
static int write_data(FILE *f, const rk_st_out *t) {
    size_t n = elements(t->ndim, t->shape), esz = rk_dtype_size(t->dtype);
    unsigned char buf[8192];
    size_t per = sizeof buf / esz;
    for (size_t i = 0; i < n; i += per) {
        size_t k = n - i < per ? n - i : per;
        for (size_t j = 0; j < k; j++) {
            float x = t->data[i + j];
            switch (t->dtype) {
            case RK_F32: rk_le_put(buf + 4 * j, f32_bits(x), 4); break;
            case RK_F16: rk_le_put(buf + 2 * j, rk_f32_to_f16(x), 2); break;
            case RK_BF16: rk_le_put(buf + 2 * j, rk_f32_to_bf16(x), 2); break;
            }
        }
        if (fwrite(buf, esz, k, f) != k) return -1;
    }
    return 0;
}

rk_status rk_st_write(const char *path, const rk_st_out *t, size_t n, const char *const *meta_kv,
                      rk_error *err) {
    for (size_t i = 0; i < n; i++) {
        rk_status s = check_out(path, &t[i], err);
        if (s) return s;
    }
    const rk_st_out **o = malloc((n ? n : 1) * sizeof *o);
    if (!o) return rk_fail(err, RK_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++)
        o[i] = &t[i];
    qsort(o, n, sizeof *o, cmp_out);
    for (size_t i = 1; i < n; i++)
        if (!strcmp(o[i - 1]->name, o[i]->name)) {
            rk_status s = rk_fail(err, RK_EINVAL, "%s: tensor \"%s\" given twice", path, o[i]->name);
            free(o);
            return s;
        }
    char *hdr = NULL;
    rk_status s = header_text(path, o, n, meta_kv, &hdr, err);
    if (s) {
        free(o);
        return s;
    }
    size_t n_hdr = strlen(hdr), pad = (8 - n_hdr % 8) % 8;

    rk_atomic a;
    if (!(s = rk_atomic_open(&a, path, err))) {
        unsigned char len[8];
        rk_le_put(len, n_hdr + pad, 8);
        int bad = fwrite(len, 1, 8, a.f) != 8 || fwrite(hdr, 1, n_hdr, a.f) != n_hdr ||
                  fwrite("        ", 1, pad, a.f) != pad;
        for (size_t i = 0; !bad && i < n; i++)
            bad = write_data(a.f, o[i]) != 0;
        if (bad) {
            s = rk_fail(err, RK_EIO, "%s: write failed: %s", a.tmp, strerror(errno));
            rk_atomic_abort(&a);
        } else {
            s = rk_atomic_commit(&a, err);
        }
    }
    free(hdr);
    free(o);
    return s;
}
