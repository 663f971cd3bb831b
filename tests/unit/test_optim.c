/* test_optim.c — schedules, clipping and AdamW against values torch and
 * transformers computed (tests/parity/make_optim.py → fixtures/optim.json). */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>

#include "raftkit/optim.h"

static json_t *fixture(void) {
    json_error_t je;
    json_t *j = json_load_file(RK_SOURCE_DIR "/tests/parity/fixtures/optim.json", 0, &je);
    cr_assert(j, "fixtures/optim.json: %s", je.text);
    return j;
}

static void close_rel(double got, double want, double tol, const char *what, int i) {
    cr_assert(fabs(got - want) <= tol * fmax(1.0, fabs(want)), "%s[%d]: got %.9g, want %.9g", what, i, got,
              want);
}

Test(optim, schedules_match_transformers) {
    json_t *j = fixture(), *s = json_object_get(j, "schedules");
    long warmup = (long)json_integer_value(json_object_get(s, "warmup"));
    long total = (long)json_integer_value(json_object_get(s, "total"));
    const char *names[] = {"constant", "linear", "cosine"};
    for (int k = 0; k < 3; k++) {
        rk_schedule sc;
        cr_assert_eq(rk_schedule_parse(names[k], &sc, NULL), RK_OK);
        json_t *v = json_object_get(json_object_get(s, "lr"), names[k]);
        cr_assert_eq(json_array_size(v), (size_t)total);
        for (long i = 0; i < total; i++)
            close_rel(rk_schedule_lr(sc, i, warmup, total), json_real_value(json_array_get(v, (size_t)i)),
                      1e-12, names[k], (int)i);
    }
    json_decref(j);
}

Test(optim, unknown_schedule_is_named) {
    rk_schedule sc;
    rk_error e = {0};
    cr_assert_eq(rk_schedule_parse("exponential", &sc, &e), RK_EINVAL);
    cr_assert(strstr(e.msg, "exponential") && strstr(e.msg, "cosine"), "%s", e.msg);
}

static float *floats(json_t *a, size_t n) {
    cr_assert_eq(json_array_size(a), n);
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = (float)json_real_value(json_array_get(a, i));
    return v;
}

Test(optim, adamw_with_clipping_and_decay_mask_matches_torch) {
    json_t *j = fixture(), *a = json_object_get(j, "adamw");
    json_t *p0 = json_object_get(a, "p0");
    size_t n = json_array_size(p0);
    float *p = floats(p0, n);
    uint8_t *mask = malloc(n);
    for (size_t i = 0; i < n; i++)
        mask[i] = (uint8_t)json_integer_value(json_array_get(json_object_get(a, "mask"), i));
    rk_adamw o;
    cr_assert_eq(rk_adamw_init(&o, n, NULL), RK_OK);
    float lr = (float)json_real_value(json_object_get(a, "lr")),
          wd = (float)json_real_value(json_object_get(a, "weight_decay"));
    for (size_t k = 0; k < json_array_size(json_object_get(a, "grads")); k++) {
        float *g = floats(json_array_get(json_object_get(a, "grads"), k), n);
        double norm = rk_clip_grad_norm(g, n, json_real_value(json_object_get(a, "clip")));
        close_rel(norm, json_real_value(json_array_get(json_object_get(a, "norms"), k)), 1e-6, "norm",
                  (int)k);
        rk_adamw_step(&o, p, g, mask, lr, wd);
        json_t *want = json_array_get(json_object_get(a, "params"), k);
        for (size_t i = 0; i < n; i++)
            close_rel(p[i], json_real_value(json_array_get(want, i)), 1e-6, "param", (int)i);
        free(g);
    }
    rk_adamw_free(&o);
    free(p);
    free(mask);
    json_decref(j);
}

Test(optim, clipping_leaves_small_gradients_alone) {
    float g[3] = {0.1f, 0.2f, -0.2f};
    double norm = rk_clip_grad_norm(g, 3, 1.0);
    cr_assert_float_eq(norm, 0.3, 1e-7);
    cr_assert_eq(g[1], 0.2f);
    float big[2] = {3, 4};
    cr_assert_float_eq(rk_clip_grad_norm(big, 2, 1.0), 5.0, 1e-7);
    cr_assert_float_eq(sqrt(big[0] * big[0] + big[1] * big[1]), 1.0, 1e-5);
}
