/* Unit tests for model/safetensors.c: float conversions, round trips through
 * real files, byte-exact fixtures in the layout of the Python safetensors
 * library, every malformed-file refusal, and sharded directories. */
#include "helpers.h" /* first: it defines _GNU_SOURCE */

#include <float.h>
#include <math.h>
#include <stdint.h>

#include "raftkit/safetensors.h"

/* ---- helpers ---- */

static void put_u64(unsigned char *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* Writes dir/name = u64(header_len) + header + data and returns the path. */
static char *write_st(const char *dir, const char *name, uint64_t header_len, const char *header,
                      const void *data, size_t n_data) {
    size_t n_hdr = strlen(header), n = 8 + n_hdr + n_data;
    unsigned char *buf = malloc(n);
    put_u64(buf, header_len);
    memcpy(buf + 8, header, n_hdr);
    if (n_data) memcpy(buf + 8 + n_hdr, data, n_data);
    char *path = write_file(dir, name, buf, n);
    free(buf);
    return path;
}

/* A file whose declared header size is the header's own length. */
static char *write_st_json(const char *dir, const char *header, const void *data, size_t n_data) {
    return write_st(dir, "bad.safetensors", strlen(header), header, data, n_data);
}

static unsigned char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot read %s", path);
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc((size_t)len + 1);
    cr_assert_eq(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

/* Opening path fails with code, and the message names the path and says why. */
static void expect_open_fails(const char *path, rk_status code, const char *why) {
    rk_safetensors *st = (rk_safetensors *)1;
    rk_error e = {0};
    cr_assert_eq(rk_st_open(path, &st, &e), code, "status for %s: %s", path, e.msg);
    cr_assert_null(st);
    cr_assert(strstr(e.msg, path), "message names the file: %s", e.msg);
    cr_assert(strstr(e.msg, why), "message says \"%s\": %s", why, e.msg);
}

static rk_safetensors *open_ok(const char *path) {
    rk_safetensors *st = NULL;
    rk_error e = {0};
    cr_assert_eq(rk_st_open(path, &st, &e), RK_OK, "%s", e.msg);
    cr_assert_not_null(st);
    return st;
}

static void expect_values(const rk_safetensors *st, const char *name, const float *want, size_t n) {
    const rk_st_tensor *t = rk_st_find(st, name);
    cr_assert_not_null(t, "tensor %s", name);
    float *got = malloc((n ? n : 1) * sizeof *got);
    rk_error e = {0};
    cr_assert_eq(rk_st_read_f32(t, got, n, &e), RK_OK, "%s", e.msg);
    for (size_t i = 0; i < n; i++)
        cr_assert(got[i] == want[i] || (isnan(got[i]) && isnan(want[i])), "%s[%zu] = %g, want %g", name, i,
                  got[i], want[i]);
    free(got);
}

static float f32_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- conversions ---- */

Test(convert, f16_known_values) {
    cr_assert_eq(rk_f32_to_f16(1.0f), 0x3C00);
    cr_assert_eq(rk_f16_to_f32(0x3C00), 1.0f);
    cr_assert_eq(rk_f32_to_f16(-2.0f), 0xC000);
    cr_assert_eq(rk_f32_to_f16(65504.0f), 0x7BFF);
    cr_assert_eq(rk_f16_to_f32(0x7BFF), 65504.0f);
    cr_assert_eq(rk_f16_to_f32(0x0001), ldexpf(1, -24), "smallest subnormal");
    cr_assert_eq(rk_f32_to_f16(ldexpf(1, -24)), 0x0001);
    cr_assert_eq(rk_f16_to_f32(0x03FF), ldexpf(1023, -24), "largest subnormal");
    cr_assert_eq(rk_f16_to_f32(0x0400), ldexpf(1, -14), "smallest normal");
    cr_assert_eq(rk_f32_to_f16(0.0f), 0x0000);
    cr_assert_eq(rk_f32_to_f16(-0.0f), 0x8000);
    cr_assert(signbit(rk_f16_to_f32(0x8000)) && rk_f16_to_f32(0x8000) == 0.0f);
    cr_assert_eq(rk_f32_to_f16(INFINITY), 0x7C00);
    cr_assert_eq(rk_f32_to_f16(-INFINITY), 0xFC00);
    cr_assert(isinf(rk_f16_to_f32(0x7C00)) && rk_f16_to_f32(0xFC00) < 0);
    cr_assert(isnan(rk_f16_to_f32(0x7E00)) && isnan(rk_f16_to_f32(0x7C01)));
    uint16_t h = rk_f32_to_f16(NAN);
    cr_assert_eq(h & 0x7C00, 0x7C00);
    cr_assert_neq(h & 0x3FF, 0, "NaN does not become infinity");
    cr_assert_eq(rk_f32_to_f16(f32_of(0x7F800001)) & 0x3FF, 0x200, "payload below f16 precision: still NaN");
    cr_assert_eq(rk_f32_to_f16(1e-10f), 0x0000, "underflow to zero");
    cr_assert_eq(rk_f32_to_f16(-1e-10f), 0x8000);
    cr_assert_eq(rk_f32_to_f16(1e6f), 0x7C00, "overflow to infinity");
    cr_assert_eq(rk_f32_to_f16(FLT_MAX), 0x7C00);
}

Test(convert, f16_rounds_to_nearest_even) {
    /* Halfway between 1 (0x3C00, even) and 1 + 2^-10: down to even. */
    cr_assert_eq(rk_f32_to_f16(1.0f + ldexpf(1, -11)), 0x3C00);
    /* Halfway between 1 + 2^-10 (odd) and 1 + 2^-9: up to even. */
    cr_assert_eq(rk_f32_to_f16(1.0f + 3 * ldexpf(1, -11)), 0x3C02);
    /* Just above and below halfway. */
    cr_assert_eq(rk_f32_to_f16(1.0f + ldexpf(1, -11) + ldexpf(1, -20)), 0x3C01);
    cr_assert_eq(rk_f32_to_f16(1.0f + 3 * ldexpf(1, -11) - ldexpf(1, -20)), 0x3C01);
    /* Overflow boundary: 65519 rounds down to 65504, 65520 (a tie, odd below) to infinity. */
    cr_assert_eq(rk_f32_to_f16(65519.0f), 0x7BFF);
    cr_assert_eq(rk_f32_to_f16(65520.0f), 0x7C00);
    /* Carry out of the mantissa into the exponent: 2047.5 -> 2048. */
    cr_assert_eq(rk_f32_to_f16(2047.5f), 0x6800);
    /* Subnormals: 2^-25 ties between 0 and 2^-24 -> 0; 3 * 2^-25 ties between 1 and 2 units -> 2. */
    cr_assert_eq(rk_f32_to_f16(ldexpf(1, -25)), 0x0000);
    cr_assert_eq(rk_f32_to_f16(ldexpf(1, -25) * 1.0001f), 0x0001);
    cr_assert_eq(rk_f32_to_f16(3 * ldexpf(1, -25)), 0x0002);
    cr_assert_eq(rk_f32_to_f16(5 * ldexpf(1, -25)), 0x0002);
    /* Largest subnormal + half a unit ties up into the smallest normal. */
    cr_assert_eq(rk_f32_to_f16(ldexpf(1, -14) - ldexpf(1, -25)), 0x0400);
}

Test(convert, f16_exhaustive_round_trip) {
    for (uint32_t h = 0; h < 65536; h++) {
        float f = rk_f16_to_f32((uint16_t)h);
        uint16_t back = rk_f32_to_f16(f);
        if ((h & 0x7C00) == 0x7C00 && (h & 0x3FF)) {
            cr_assert(isnan(f), "0x%04x is NaN", h);
            cr_assert(isnan(rk_f16_to_f32(back)), "0x%04x stays NaN (0x%04x)", h, back);
            cr_assert_eq(back, h, "NaN payload and sign kept for 0x%04x", h);
        } else {
            cr_assert_eq(back, h, "0x%04x -> %a -> 0x%04x", h, f, back);
        }
    }
}

#if defined(__FLT16_MAX__)
/* The compiler's own _Float16 as an independent reference. */
Test(convert, f16_matches_compiler_float16) {
    for (uint32_t h = 0; h < 65536; h++) {
        _Float16 x;
        uint16_t b = (uint16_t)h;
        memcpy(&x, &b, 2);
        float want = (float)x, got = rk_f16_to_f32(b);
        if (isnan(want))
            cr_assert(isnan(got));
        else
            cr_assert(memcmp(&want, &got, 4) == 0, "0x%04x: %a vs %a", h, got, want);
    }
    uint32_t s = 12345;
    for (int i = 0; i < 2000000; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        /* Bias towards the f16 range: exponents 2^-30 .. 2^20. */
        uint32_t bits = (s & 0x807FFFFF) | ((97 + (s >> 23) % 51) << 23);
        float f = f32_of(i & 1 ? bits : s);
        if (isnan(f)) continue;
        _Float16 r = (_Float16)f;
        uint16_t want;
        memcpy(&want, &r, 2);
        cr_assert_eq(rk_f32_to_f16(f), want, "%a: 0x%04x vs 0x%04x", f, rk_f32_to_f16(f), want);
    }
}
#endif

Test(convert, bf16_known_values_and_rounding) {
    cr_assert_eq(rk_f32_to_bf16(1.0f), 0x3F80);
    cr_assert_eq(rk_bf16_to_f32(0x3F80), 1.0f);
    cr_assert_eq(rk_f32_to_bf16(-2.0f), 0xC000);
    cr_assert_eq(rk_bf16_to_f32(0x0001), f32_of(0x00010000), "subnormal");
    cr_assert_eq(rk_f32_to_bf16(1.0f + ldexpf(1, -8)), 0x3F80, "tie, down to even");
    cr_assert_eq(rk_f32_to_bf16(1.0f + 3 * ldexpf(1, -8)), 0x3F82, "tie, up to even");
    cr_assert_eq(rk_f32_to_bf16(1.0f + ldexpf(1, -8) + ldexpf(1, -20)), 0x3F81, "above half");
    cr_assert_eq(rk_f32_to_bf16(FLT_MAX), 0x7F80, "rounds up to infinity");
    cr_assert_eq(rk_f32_to_bf16(INFINITY), 0x7F80);
    cr_assert_eq(rk_f32_to_bf16(-INFINITY), 0xFF80);
    cr_assert(isnan(rk_bf16_to_f32(rk_f32_to_bf16(NAN))));
    cr_assert(isnan(rk_bf16_to_f32(rk_f32_to_bf16(f32_of(0x7F800001)))), "low payload stays NaN");
    for (uint32_t h = 0; h < 65536; h++) {
        float f = rk_bf16_to_f32((uint16_t)h);
        uint16_t back = rk_f32_to_bf16(f);
        if (isnan(f))
            cr_assert(isnan(rk_bf16_to_f32(back)), "0x%04x stays NaN", h);
        else
            cr_assert_eq(back, h, "0x%04x -> 0x%04x", h, back);
    }
}

/* ---- round trips ---- */

Test(roundtrip, all_dtypes_and_ranks_with_metadata) {
    char *dir = tmpdir_new();
    float s0[] = {3.5f};
    float v1[] = {1, -2, 0.5f, 65504, -0.0f};
    float m23[] = {1, 2, 3, 4, 5, 6};
    float c213[] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    float q[16];
    for (int i = 0; i < 16; i++)
        q[i] = (float)i / 4 - 2;
    float odd[] = {0.1f, 1e-7f, 70000.0f, NAN}; /* not representable in f16: converted on write */
    rk_st_out t[] = {
        {"z.scalar", RK_F32, 0, {0}, s0},       {"layer.1.v", RK_F16, 1, {5}, v1},
        {"b.matrix", RK_BF16, 2, {2, 3}, m23},  {"c.cube", RK_F32, 3, {2, 1, 3}, c213},
        {"d.four", RK_F16, 4, {1, 2, 2, 4}, q}, {"e.empty", RK_F32, 2, {0, 3}, NULL},
        {"f.odd16", RK_F16, 1, {4}, odd},       {"g.oddbf", RK_BF16, 1, {4}, odd},
    };
    size_t n = sizeof t / sizeof t[0];
    const char *meta[] = {"format", "pt", "step", "12", NULL};
    char path[600];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    rk_error e = {0};
    cr_assert_eq(rk_st_write(path, t, n, meta, &e), RK_OK, "%s", e.msg);
    char tmp[620];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_neq(access(tmp, F_OK), 0, "no temp file left behind");

    size_t n_file;
    unsigned char *bytes = slurp(path, &n_file);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    cr_assert_eq((8 + hlen) % 8, 0, "data starts 8-byte aligned");
    cr_assert_eq(bytes[8], '{');
    free(bytes);

    rk_safetensors *st = open_ok(path);
    cr_assert_eq(rk_st_count(st), n);
    for (size_t i = 1; i < n; i++)
        cr_assert_lt(strcmp(rk_st_get(st, i - 1)->name, rk_st_get(st, i)->name), 0, "names sorted");
    cr_assert_null(rk_st_get(st, n));
    cr_assert_str_eq(rk_st_get(st, 0)->name, "b.matrix");
    cr_assert_null(rk_st_find(st, "nope"));
    cr_assert_null(rk_st_find(st, "__metadata__"));
    cr_assert_str_eq(rk_st_metadata(st, "format"), "pt");
    cr_assert_str_eq(rk_st_metadata(st, "step"), "12");
    cr_assert_null(rk_st_metadata(st, "missing"));

    const rk_st_tensor *z = rk_st_find(st, "z.scalar");
    cr_assert_eq(z->ndim, 0);
    cr_assert_eq(z->nbytes, 4);
    cr_assert_eq(z->dtype, RK_F32);
    const rk_st_tensor *d = rk_st_find(st, "d.four");
    cr_assert_eq(d->ndim, 4);
    cr_assert_eq(d->dtype, RK_F16);
    cr_assert(d->shape[0] == 1 && d->shape[1] == 2 && d->shape[2] == 2 && d->shape[3] == 4);
    cr_assert_eq(d->nbytes, 32);
    cr_assert_str_eq(d->file, path);
    const rk_st_tensor *b = rk_st_find(st, "b.matrix");
    cr_assert_eq(b->dtype, RK_BF16);
    cr_assert(b->ndim == 2 && b->shape[0] == 2 && b->shape[1] == 3 && b->nbytes == 12);
    const rk_st_tensor *em = rk_st_find(st, "e.empty");
    cr_assert(em->ndim == 2 && em->shape[0] == 0 && em->shape[1] == 3 && em->nbytes == 0);

    expect_values(st, "z.scalar", s0, 1);
    expect_values(st, "layer.1.v", v1, 5);
    cr_assert(signbit(rk_f16_to_f32(((const uint8_t *)rk_st_find(st, "layer.1.v")->data)[9] << 8)),
              "-0 keeps its sign");
    expect_values(st, "b.matrix", m23, 6);
    expect_values(st, "c.cube", c213, 6);
    expect_values(st, "d.four", q, 16);
    expect_values(st, "e.empty", NULL, 0);
    float want16[4], wantbf[4];
    for (int i = 0; i < 4; i++) {
        want16[i] = rk_f16_to_f32(rk_f32_to_f16(odd[i]));
        wantbf[i] = rk_bf16_to_f32(rk_f32_to_bf16(odd[i]));
    }
    cr_assert(isinf(want16[2]), "70000 overflows f16");
    cr_assert_eq(wantbf[2], 70144.0f, "bf16 keeps the range");
    expect_values(st, "f.odd16", want16, 4);
    expect_values(st, "g.oddbf", wantbf, 4);

    float buf[8];
    cr_assert_eq(rk_st_read_f32(b, buf, 5, &e), RK_EFORMAT);
    cr_assert(strstr(e.msg, path) && strstr(e.msg, "\"b.matrix\"") && strstr(e.msg, "expected 5"), "%s",
              e.msg);
    rk_st_close(st);

    /* Writing again replaces the file whole. */
    cr_assert_eq(rk_st_write(path, t, 1, NULL, &e), RK_OK, "%s", e.msg);
    st = open_ok(path);
    cr_assert_eq(rk_st_count(st), 1);
    cr_assert_null(rk_st_metadata(st, "format"));
    rk_st_close(st);
    rk_st_close(NULL);
    tmpdir_free(dir);
}

Test(roundtrip, no_tensors) {
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/empty.safetensors", dir);
    rk_error e = {0};
    cr_assert_eq(rk_st_write(path, NULL, 0, NULL, &e), RK_OK, "%s", e.msg);
    size_t n;
    unsigned char *bytes = slurp(path, &n);
    const unsigned char want[] = {8, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' ', ' ', ' ', ' ', ' '};
    cr_assert_eq(n, sizeof want);
    cr_assert_eq(memcmp(bytes, want, n), 0);
    free(bytes);
    rk_safetensors *st = open_ok(path);
    cr_assert_eq(rk_st_count(st), 0);
    cr_assert_null(rk_st_get(st, 0));
    cr_assert_null(rk_st_find(st, "a"));
    rk_st_close(st);
    tmpdir_free(dir);
}

Test(write, refuses_bad_input_and_leaves_target_alone) {
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/w.safetensors", dir);
    float x[] = {1, 2};
    rk_error e = {0};
    rk_st_out dup[] = {{"a", RK_F32, 1, {2}, x}, {"a", RK_F16, 1, {2}, x}};
    cr_assert_eq(rk_st_write(path, dup, 2, NULL, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "\"a\" given twice"), "%s", e.msg);
    rk_st_out meta_name[] = {{"__metadata__", RK_F32, 1, {2}, x}};
    cr_assert_eq(rk_st_write(path, meta_name, 1, NULL, &e), RK_EINVAL);
    rk_st_out no_data[] = {{"a", RK_F32, 1, {2}, NULL}};
    cr_assert_eq(rk_st_write(path, no_data, 1, NULL, &e), RK_EINVAL);
    rk_st_out neg[] = {{"a", RK_F32, 1, {-2}, x}};
    cr_assert_eq(rk_st_write(path, neg, 1, NULL, &e), RK_EINVAL);
    rk_st_out bad_dtype[] = {{"a", (rk_dtype)7, 1, {2}, x}};
    cr_assert_eq(rk_st_write(path, bad_dtype, 1, NULL, &e), RK_EINVAL);
    rk_st_out ok[] = {{"a", RK_F32, 1, {2}, x}};
    const char *odd_meta[] = {"k", NULL};
    cr_assert_eq(rk_st_write(path, ok, 1, odd_meta, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "\"k\" has no value"), "%s", e.msg);
    const char *twice[] = {"k", "1", "k", "2", NULL};
    cr_assert_eq(rk_st_write(path, ok, 1, twice, &e), RK_EINVAL);
    cr_assert_neq(access(path, F_OK), 0, "nothing written");

    char missing[700];
    snprintf(missing, sizeof missing, "%s/no/such/dir/w.safetensors", dir);
    cr_assert_eq(rk_st_write(missing, ok, 1, NULL, &e), RK_EIO);
    cr_assert(strstr(e.msg, missing), "%s", e.msg);
    tmpdir_free(dir);
}

/* ---- byte-exact fixtures ---- */

/* As Python's safetensors.torch.save_file({"a": torch.tensor([1., 2.])}) lays it out. */
Test(fixture, reads_python_layout) {
    char *dir = tmpdir_new();
    const unsigned char file[] = "\x38\x00\x00\x00\x00\x00\x00\x00"
                                 "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}  "
                                 "\x00\x00\x80\x3f\x00\x00\x00\x40";
    cr_assert_eq(sizeof file - 1, 8 + 56 + 8);
    char *path = write_file(dir, "model.safetensors", file, sizeof file - 1);
    rk_safetensors *st = open_ok(path);
    cr_assert_eq(rk_st_count(st), 1);
    const rk_st_tensor *a = rk_st_get(st, 0);
    cr_assert_str_eq(a->name, "a");
    cr_assert(a->dtype == RK_F32 && a->ndim == 1 && a->shape[0] == 2 && a->nbytes == 8);
    expect_values(st, "a", (float[]){1, 2}, 2);
    rk_st_close(st);

    /* The directory form finds model.safetensors. */
    st = open_ok(dir);
    cr_assert_eq(rk_st_count(st), 1);
    rk_st_close(st);
    free(path);

    /* Python orders entries by dtype then name, so keys arrive unsorted; a
     * 0-d F16 and a 2x2 BF16, with metadata. */
    const unsigned char file2[] = "\x90\x00\x00\x00\x00\x00\x00\x00"
                                  "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"BF16\",\"shape\":"
                                  "[2,2],\"data_offsets\":[0,8]},"
                                  "\"a\":{\"dtype\":\"F16\",\"shape\":[],\"data_offsets\":[8,10]}}   "
                                  "\x80\x3f\x00\x40\x80\xbf\x00\x00" /* bf16 1, 2, -1, 0 */
                                  "\x00\x38";                        /* f16 0.5 */
    cr_assert_eq(sizeof file2 - 1, 8 + 144 + 10);
    path = write_file(dir, "two.safetensors", file2, sizeof file2 - 1);
    st = open_ok(path);
    cr_assert_eq(rk_st_count(st), 2);
    cr_assert_str_eq(rk_st_get(st, 0)->name, "a");
    cr_assert_str_eq(rk_st_get(st, 1)->name, "b");
    cr_assert_eq(rk_st_get(st, 0)->ndim, 0);
    expect_values(st, "a", (float[]){0.5f}, 1);
    expect_values(st, "b", (float[]){1, 2, -1, 0}, 4);
    cr_assert_str_eq(rk_st_metadata(st, "format"), "pt");
    rk_st_close(st);
    free(path);
    tmpdir_free(dir);
}

Test(fixture, writer_output_is_byte_exact) {
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/out.safetensors", dir);
    float w[] = {1, -2}, b[] = {0.5f};
    rk_st_out t[] = {{"w", RK_F16, 1, {2}, w}, {"b", RK_F32, 0, {0}, b}};
    const char *meta[] = {"format", "pt", NULL};
    rk_error e = {0};
    cr_assert_eq(rk_st_write(path, t, 2, meta, &e), RK_OK, "%s", e.msg);
    /* 137 bytes of JSON + 7 spaces = 144 = 0x90; data: f32 0.5, f16 1, f16 -2. */
    const unsigned char want[] =
        "\x90\x00\x00\x00\x00\x00\x00\x00"
        "{\"__metadata__\":{\"format\":\"pt\"},\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
        "\"w\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[4,8]}}       "
        "\x00\x00\x00\x3f"
        "\x00\x3c\x00\xc0";
    size_t n;
    unsigned char *got = slurp(path, &n);
    cr_assert_eq(n, sizeof want - 1);
    cr_assert_eq(memcmp(got, want, n), 0, "got header %.*s", (int)(n > 152 ? 144 : 0), (const char *)got + 8);
    free(got);
    tmpdir_free(dir);
}

/* ---- malformed files ---- */

Test(malformed, short_file_and_bad_header_size) {
    char *dir = tmpdir_new();
    char *p = write_file(dir, "short.safetensors", "\x05\x00\x00", 3);
    expect_open_fails(p, RK_EFORMAT, "too short");
    free(p);
    p = write_file(dir, "empty.safetensors", "", 0);
    expect_open_fails(p, RK_EFORMAT, "too short");
    free(p);
    p = write_st(dir, "past.safetensors", 1000, "{}", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, "past the end of the file");
    free(p);
    p = write_st(dir, "absurd.safetensors", 200ULL * 1000 * 1000, "{}", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, "absurd");
    free(p);
    p = write_st(dir, "huge.safetensors", UINT64_MAX, "{}", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, "absurd");
    free(p);
    tmpdir_free(dir);
}

Test(malformed, header_not_json_or_not_object) {
    char *dir = tmpdir_new();
    char *p = write_st_json(dir, "{\"a\": nope}", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, ": header: line 1, column");
    free(p);
    p = write_st_json(dir, "[1, 2]", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, "header is not a JSON object");
    free(p);
    p = write_st_json(dir, "{\"a\": 3}", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, "tensor \"a\": entry is not an object");
    free(p);
    p = write_st_json(dir, "{\"__metadata__\": {\"k\": 1}}", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, "\"__metadata__\" value of \"k\" is not a string");
    free(p);
    p = write_st_json(dir, "{\"__metadata__\": [1]}", NULL, 0);
    expect_open_fails(p, RK_EFORMAT, "\"__metadata__\" is not an object");
    free(p);
    tmpdir_free(dir);
}

Test(malformed, missing_fields_and_bad_dtypes) {
    char *dir = tmpdir_new();
    const char data[8] = {0};
    struct {
        const char *json, *why;
    } cases[] = {
        {"{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "tensor \"w\": no \"dtype\""},
        {"{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "tensor \"w\": no \"shape\""},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", "tensor \"w\": no \"data_offsets\""},
        {"{\"w\":{\"dtype\":\"F99\",\"shape\":[2],\"data_offsets\":[0,8]}}",
         "tensor \"w\": unknown dtype \"F99\""},
        {"{\"w\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", "dtype I64 is not supported"},
        {"{\"w\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[0,8]}}", "dtype U8 is not supported"},
        {"{\"w\":{\"dtype\":7,\"shape\":[2],\"data_offsets\":[0,8]}}", "\"dtype\" is not a string"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}}", "\"shape\" is not an array"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", "shape[0] is not an integer"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}", "9 dimensions"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-1],\"data_offsets\":[0,8]}}", "shape[1] = -1 is negative"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,8]}}",
         "shape overflows at shape[1]"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", "not two non-negative integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}}",
         "not two non-negative integers"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
         "tensor \"w\": data_offsets [8, 0] begin after end"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
         "tensor \"w\": data_offsets end 16 past the end of the data (8 bytes)"},
        {"{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
         "tensor \"w\": data_offsets span 8 bytes, shape and dtype F32 need 12"},
        {"{\"w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,8]}}", "need 4"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F16\",\"shape\":"
         "[2],\"data_offsets\":[2,6]}}",
         "tensors \"a\" and \"b\" overlap"},
        {"{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F16\",\"shape\":"
         "[2],\"data_offsets\":[4,8]}}",
         "tensors \"a\" and \"b\" overlap"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = write_st_json(dir, cases[i].json, data, sizeof data);
        expect_open_fails(p, RK_EFORMAT, cases[i].why);
        free(p);
    }
    /* Not refused: a gap between tensors, an empty tensor sitting inside another's span. */
    char *p = write_st_json(dir,
                            "{\"a\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[0,2]},"
                            "\"b\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[6,8]},"
                            "\"c\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[1,1]}}",
                            data, sizeof data);
    rk_safetensors *st = open_ok(p);
    cr_assert_eq(rk_st_count(st), 3);
    rk_st_close(st);
    free(p);
    tmpdir_free(dir);
}

Test(malformed, missing_paths) {
    char *dir = tmpdir_new();
    char path[600];
    snprintf(path, sizeof path, "%s/nothing.safetensors", dir);
    expect_open_fails(path, RK_ENOTFOUND, "No such file");
    expect_open_fails(dir, RK_ENOTFOUND, "no model.safetensors or model.safetensors.index.json");
    tmpdir_free(dir);
}

/* ---- sharded directories ---- */

static void write_shard(const char *dir, const char *name, const rk_st_out *t, size_t n,
                        const char *const *meta) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    rk_error e = {0};
    cr_assert_eq(rk_st_write(path, t, n, meta, &e), RK_OK, "%s", e.msg);
}

#define SHARD1 "model-00001-of-00002.safetensors"
#define SHARD2 "model-00002-of-00002.safetensors"

static char *sharded_dir(void) {
    char *dir = tmpdir_new();
    static float a[] = {1, 2, 3}, b[] = {4, 5}, c[] = {6};
    rk_st_out s1[] = {{"embed", RK_BF16, 1, {3}, a}, {"lm_head", RK_F32, 0, {0}, c}};
    rk_st_out s2[] = {{"layers.0.w", RK_F16, 2, {1, 2}, b}};
    const char *meta[] = {"format", "pt", NULL};
    write_shard(dir, SHARD1, s1, 2, meta);
    write_shard(dir, SHARD2, s2, 1, NULL);
    return dir;
}

Test(sharded, directory_with_index_over_two_shards) {
    char *dir = sharded_dir();
    char *idx =
        write_text(dir, "model.safetensors.index.json",
                   "{\"metadata\":{\"total_size\":14},\"weight_map\":{"
                   "\"layers.0.w\":\"" SHARD2 "\",\"embed\":\"" SHARD1 "\",\"lm_head\":\"" SHARD1 "\"}}");
    rk_safetensors *st = open_ok(dir);
    cr_assert_eq(rk_st_count(st), 3);
    cr_assert_str_eq(rk_st_get(st, 0)->name, "embed");
    cr_assert_str_eq(rk_st_get(st, 1)->name, "layers.0.w");
    cr_assert_str_eq(rk_st_get(st, 2)->name, "lm_head");
    cr_assert(strstr(rk_st_find(st, "layers.0.w")->file, SHARD2));
    cr_assert(strstr(rk_st_find(st, "embed")->file, SHARD1));
    expect_values(st, "embed", (float[]){1, 2, 3}, 3);
    expect_values(st, "layers.0.w", (float[]){4, 5}, 2);
    expect_values(st, "lm_head", (float[]){6}, 1);
    cr_assert_str_eq(rk_st_metadata(st, "format"), "pt");
    rk_st_close(st);

    /* The index file itself opens the same set; a trailing slash on the directory too. */
    st = open_ok(idx);
    cr_assert_eq(rk_st_count(st), 3);
    rk_st_close(st);
    char slashed[600];
    snprintf(slashed, sizeof slashed, "%s/", dir);
    st = open_ok(slashed);
    cr_assert_eq(rk_st_count(st), 3);
    rk_st_close(st);
    free(idx);
    tmpdir_free(dir);
}

Test(sharded, index_errors) {
    char *dir = sharded_dir();
    char *idx =
        write_text(dir, "model.safetensors.index.json",
                   "{\"weight_map\":{\"embed\":\"" SHARD1 "\",\"x\":\"model-00003-of-00003.safetensors\"}}");
    expect_open_fails(idx, RK_ENOTFOUND, "model-00003-of-00003.safetensors");
    free(idx);

    idx = write_text(dir, "model.safetensors.index.json",
                     "{\"weight_map\":{\"embed\":\"" SHARD1 "\",\"ghost\":\"" SHARD2 "\"}}");
    expect_open_fails(idx, RK_EFORMAT,
                      "tensor \"ghost\" is listed in weight_map but absent from shard " SHARD2);
    free(idx);

    idx = write_text(dir, "model.safetensors.index.json",
                     "{\"weight_map\":{\"embed\":\"" SHARD2 "\",\"layers.0.w\":\"" SHARD2 "\"}}");
    expect_open_fails(idx, RK_EFORMAT,
                      "tensor \"embed\" is listed in weight_map but absent from shard " SHARD2);
    free(idx);

    idx = write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{\"embed\":\"../" SHARD1 "\"}}");
    expect_open_fails(idx, RK_EFORMAT, "not a plain file name");
    free(idx);

    idx = write_text(dir, "model.safetensors.index.json", "{\"metadata\":{}}");
    expect_open_fails(idx, RK_EFORMAT, "no \"weight_map\"");
    free(idx);

    idx = write_text(dir, "model.safetensors.index.json", "{\"weight_map\":");
    expect_open_fails(idx, RK_EFORMAT, "line 1");
    free(idx);

    /* The same tensor in two shards. */
    float v[] = {9};
    rk_st_out dup[] = {{"embed", RK_F32, 0, {0}, v}};
    write_shard(dir, SHARD2, dup, 1, NULL);
    idx = write_text(dir, "model.safetensors.index.json",
                     "{\"weight_map\":{\"embed\":\"" SHARD1 "\",\"lm_head\":\"" SHARD1 "\",\"x\":\"" SHARD2
                     "\"}}");
    expect_open_fails(idx, RK_EFORMAT, "tensor \"embed\" appears in both");
    free(idx);
    idx = write_text(dir, "model.safetensors.index.json",
                     "{\"weight_map\":{\"lm_head\":\"" SHARD1 "\",\"embed\":\"" SHARD2 "\"}}");
    expect_open_fails(idx, RK_EFORMAT, "appears in both");
    free(idx);

    /* A malformed shard is named in the message. */
    char *bad = write_st(dir, SHARD2, 4, "{}", NULL, 0);
    idx = write_text(dir, "model.safetensors.index.json", "{\"weight_map\":{\"embed\":\"" SHARD2 "\"}}");
    expect_open_fails(idx, RK_EFORMAT, SHARD2 ": header size 4 runs past the end");
    free(idx);
    free(bad);
    tmpdir_free(dir);
}
