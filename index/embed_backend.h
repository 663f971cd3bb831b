/* embed_backend.h — what embed.c needs from each embedder implementation.
 * Internal to index/: the rest of raftkit goes through embed.h. */
#ifndef RAFTKIT_EMBED_BACKEND_H
#define RAFTKIT_EMBED_BACKEND_H

#include "raftkit/embed.h"

/* The http backend (embed_http.c). */
typedef struct rk_embed_http rk_embed_http;

/* Prepares requests to url (a base URL gets "/v1/embeddings" appended) with
 * o's model, key variable (read now; a variable that is named but unset or
 * empty fails with RK_EINVAL naming it), batch, retries and timeout. *dim is
 * the expected dimension; when it is 0 one request embeds a probe text and
 * *dim gets the server's dimension. */
rk_status rk_embed_http_open(const char *url, const rk_embed_opts *o, int *dim, rk_embed_http **out,
                             rk_error *err);
/* Embeds n texts (n <= the batch: one request) into out[n][dim]. Every reply
 * is checked: HTTP status 2xx, a JSON body with "data": [{"index": i,
 * "embedding": [...]}, ...] holding each index once (in any order), every
 * embedding of dim numbers. Errors start with the URL. */
rk_status rk_embed_http_embed(rk_embed_http *h, size_t n, const char *const *texts, const size_t *lens,
                              int dim, float *out, rk_error *err);
size_t rk_embed_http_batch(const rk_embed_http *h);
void rk_embed_http_free(rk_embed_http *h); /* accepts NULL */

#endif
