/* kb.c — the KB on LMDB: named databases, records, transactions, map growth.
 *
 * Record layouts (little-endian, packed, read with memcpy because LMDB only
 * aligns values to 2 bytes):
 *   docs    u8 version=1 | u64 hash.lo | u64 hash.hi | u64 size | i64 mtime |
 *           u64 first_chunk | u32 nchunks | u32 etag_len | u32 last_modified_len |
 *           u32 uri_len | u32 title_len | uri NUL | title NUL | etag NUL |
 *           last_modified NUL
 *   chunks  u8 version=1 | u64 doc_id | u32 ordinal | u32 ntokens | u64 start |
 *           u64 end | u32 text_len | u32 page | u32 section_len | text NUL |
 *           section NUL
 *   removed     key: u64 chunk id -> u64 generation of the removal
 *   chunk_refs  key: u64 chunk id BE | u64 doc id BE -> u32 ordinal | u32 page |
 *               u64 start | u64 end | section NUL: a document holding the text
 *               of a chunk it does not own (an exact duplicate), and where
 *   doc_refs    key: u64 doc id BE | u64 chunk id BE -> u8 1 when the document
 *               owns the chunk (it was handed over), 0 when it only holds it.
 *   Big-endian keys keep one chunk's (one document's) entries together.
 *   chunk_hash  key: u64 lo | u64 hi -> value: u64 chunk id
 *   chunk_tail  key: u64 chunk id -> u64 lo | u64 hi: the chunks added since
 *               the last fold, whose hashes chunk_hash does not hold yet.
 *               Random keys make every insert into chunk_hash copy a page
 *               of it, so that each commit rewrote nearly all of it; the
 *               tail only appends, and is folded in, in key order, once it
 *               holds half as many entries as chunk_hash. Writers look the
 *               tail up in memory (rk_kb.tail), and ask a Bloom filter
 *               (rk_kb.hashed) before searching chunk_hash.
 *   vectors     key: u64 chunk id BE | u64 embedder key BE -> float32[dim]:
 *               chunk-major, so removing a chunk removes its vectors of every
 *               embedder in one range
 *   Schema 1 (vectors keyed by chunk id alone, one embedder per KB) is
 *   upgraded when opened for writing: its vectors, embedder and indexes are
 *   derived data and go; documents and chunks stay. Schema 2 has no
 *   chunk_tail (an empty one is created); schema 3 keeps an older raftkit,
 *   which would not look there, from writing.
 *   faiss, embedder  key: name NUL u32 big-endian piece -> bytes
 *   meta    key: string -> JSON text. "schema" -> {"version": N};
 *           "counters" -> {"next_doc_id", "next_chunk_id", "generation",
 *           "folds"}: folds counts the folds of chunk_tail, the only way
 *           chunk_hash gains entries. */
#include "raftkit/kb.h"

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hashfilter.h"
#include "idmap.h"
#include "raftkit/json.h"

enum {
    DB_META,
    DB_DOCS,
    DB_DOC_URI,
    DB_CHUNKS,
    DB_CHUNK_HASH,
    DB_VECTORS,
    DB_FAISS,
    DB_EMBEDDER,
    DB_REMOVED,
    DB_CHUNK_REFS,
    DB_DOC_REFS,
    DB_GENCACHE,
    DB_CHUNK_TAIL,
    DB_COUNT
};
static const char *const db_names[DB_COUNT] = {"meta",     "docs",     "doc_uri",   "chunks",  "chunk_hash",
                                               "vectors",  "faiss",    "embedder",  "removed", "chunk_refs",
                                               "doc_refs", "gencache", "chunk_tail"};
static const unsigned db_flags[DB_COUNT] = {
    0, MDB_INTEGERKEY, 0, MDB_INTEGERKEY, 0, 0, 0, 0, MDB_INTEGERKEY, 0, 0, 0, MDB_INTEGERKEY};

enum { DOC_HDR = 1 + 8 * 6 + 4 * 3, CHUNK_HDR = 1 + 8 + 4 + 4 + 8 + 8 + 4 + 4 + 4, RECORD_V1 = 1 };

static size_t g_piece_size = (size_t)64 << 20;
void rk_kb_set_blob_piece_size(size_t bytes) { g_piece_size = bytes ? bytes : (size_t)64 << 20; }

/* The tail is folded into chunk_hash once it holds this many entries and
 * half as many as chunk_hash: each fold then copies chunk_hash's pages once
 * for at least a third of all the chunks, however many commits added them. */
static size_t g_fold_min = 65536;
void rk_kb_set_fold_min(size_t entries) { g_fold_min = entries ? entries : 65536; }

struct rk_kb {
    MDB_env *env;
    MDB_dbi dbi[DB_COUNT];
    char *path;
    int readonly;
    unsigned absent; /* read-only, and the KB is older than these dbs (bit i: db i) */
    /* LMDB resizes the map only while the process has no transaction open
     * (mdb_env_set_mapsize), yet workers read while the writer grows the
     * map: each transaction holds this lock shared, a resize holds it alone.
     * glibc's rwlock prefers readers, so a thread holding a transaction may
     * open another while a resize waits. */
    pthread_rwlock_t resize;
    /* One write transaction at a time in this process (LMDB runs one at a
     * time anyway): it owns the tail below while it runs. */
    pthread_mutex_t write;
    /* chunk_tail by hash, as of this handle's last committed write
     * transaction (tail_known 0: unknown), whose counters were generation
     * tail_gen, next chunk id tail_next and fold count tail_folds. Another
     * process's commit changes the generation; the next write transaction
     * then reads the entries appended since, and tail_lazy says that the
     * map may still hold entries that process removed. */
    rk_idmap tail;
    uint64_t tail_gen, tail_next, tail_folds;
    int tail_known, tail_lazy;
    /* A filter over chunk_hash as of fold number hashed_folds (hashed_known
     * 0: none): deletes leave it a superset, which is all a filter must be. */
    rk_hashfilter hashed;
    uint64_t hashed_folds;
    int hashed_known;
    uint64_t unfiltered; /* chunk_hash searches since the filter was last usable */
};

/* Transactions this thread holds open, on any KB: while it holds one, it
 * must not wait for a resize, which would wait for it in turn. */
static _Thread_local unsigned held;

struct rk_kb_txn {
    rk_kb *kb;
    MDB_txn *txn;
    int map_full; /* an LMDB call hit MDB_MAP_FULL: rk_kb_write grows and retries */
    int write;
    int tail_synced;   /* kb->tail is this write transaction's chunk_tail */
    int hashed_synced; /* hashed_sync has decided filtered */
    int filtered;      /* kb->hashed covers this write transaction's chunk_hash */
    int counters_loaded, counters_dirty;
    uint64_t next_doc, next_chunk, generation, begin_generation, folds;
};

/* Turns an LMDB code into a status and message; remembers a full map. */
static rk_status db_fail(rk_kb_txn *t, int rc, rk_error *err, const char *what) {
    if (rc == MDB_MAP_FULL && t) t->map_full = 1;
    return rk_fail(err, RK_EDB, "%s: %s: %s", t ? t->kb->path : "KB", what, mdb_strerror(rc));
}

static void put_u32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint32_t get_u32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static uint64_t get_u64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static MDB_val idkey(size_t *id) { return (MDB_val){sizeof *id, id}; }

/* A two-id key in big-endian order: keys with the same first id sort together. */
static MDB_val pair_key(uint8_t buf[16], uint64_t a, uint64_t b) {
    for (int i = 0; i < 8; i++) {
        buf[i] = (uint8_t)(a >> (56 - 8 * i));
        buf[8 + i] = (uint8_t)(b >> (56 - 8 * i));
    }
    return (MDB_val){16, buf};
}

static uint64_t pair_part(const void *key, int second) {
    const uint8_t *p = (const uint8_t *)key + (second ? 8 : 0);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* ---- open / close ---- */

/* Checks that path is a KB directory, or makes one for RK_KB_CREATE; *exists
 * says whether it holds a data.mdb already. */
static rk_status check_dir(const char *path, rk_kb_mode mode, int *exists, rk_error *err) {
    struct stat st;
    *exists = 0;
    if (stat(path, &st) != 0) {
        if (errno != ENOENT) return rk_fail(err, RK_EIO, "%s: %s", path, strerror(errno));
        if (mode != RK_KB_CREATE) return rk_fail(err, RK_ENOTFOUND, "%s: no such KB directory", path);
        /* EEXIST: another process (a shard) created it first, and LMDB's lock serializes the rest. */
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            return rk_fail(err, RK_EIO, "%s: cannot create: %s", path, strerror(errno));
        return RK_OK;
    }
    if (!S_ISDIR(st.st_mode)) return rk_fail(err, RK_ENOTKB, "%s: not a raftkit KB (not a directory)", path);
    char data[4096];
    snprintf(data, sizeof data, "%s/data.mdb", path);
    if (stat(data, &st) == 0) {
        *exists = 1;
        return RK_OK;
    }
    if (mode != RK_KB_CREATE) return rk_fail(err, RK_ENOTKB, "%s: not a raftkit KB (no data.mdb)", path);
    DIR *d = opendir(path);
    if (!d) return rk_fail(err, RK_EIO, "%s: %s", path, strerror(errno));
    struct dirent *e;
    int empty = 1;
    /* LMDB's own files alone mean another process is creating the KB now
     * (data.mdb may have appeared since the stat above). */
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "lock.mdb") &&
            strcmp(e->d_name, "data.mdb"))
            empty = 0;
    closedir(d);
    if (!empty)
        return rk_fail(err, RK_ENOTKB, "%s: not a raftkit KB and not empty; refusing to create a KB in it",
                       path);
    return RK_OK;
}

/* Resizes the map (0: to the size another process gave it) once no other
 * thread has a transaction open; EBUSY if this thread has one. */
static int resize(rk_kb *kb, size_t size) {
    if (held) return EBUSY;
    pthread_rwlock_wrlock(&kb->resize);
    int rc = mdb_env_set_mapsize(kb->env, size);
    pthread_rwlock_unlock(&kb->resize);
    return rc;
}

/* Begins a transaction, holding kb->resize shared until txn_end. */
static rk_status txn_begin(rk_kb *kb, unsigned flags, MDB_txn **out, rk_error *err) {
    pthread_rwlock_rdlock(&kb->resize);
    int rc = mdb_txn_begin(kb->env, NULL, flags, out);
    if (rc == MDB_MAP_RESIZED) { /* another process grew the map: adopt its size */
        pthread_rwlock_unlock(&kb->resize);
        if ((rc = resize(kb, 0)) == EBUSY)
            return rk_fail(err, RK_EDB,
                           "%s: another process grew the KB while this thread holds a transaction", kb->path);
        pthread_rwlock_rdlock(&kb->resize);
        if (!rc) rc = mdb_txn_begin(kb->env, NULL, flags, out);
    }
    if (rc) {
        pthread_rwlock_unlock(&kb->resize);
        return rk_fail(err, RK_EDB, "%s: cannot begin a transaction: %s", kb->path, mdb_strerror(rc));
    }
    held++;
    return RK_OK;
}

/* Commits (or aborts) txn and lets a resize go ahead; returns the commit's LMDB code. */
static int txn_end(rk_kb *kb, MDB_txn *txn, int commit) {
    int rc = 0;
    if (commit)
        rc = mdb_txn_commit(txn);
    else
        mdb_txn_abort(txn);
    held--;
    pthread_rwlock_unlock(&kb->resize);
    return rc;
}

static int put_schema(MDB_txn *txn, MDB_dbi meta) {
    char text[64];
    int len = snprintf(text, sizeof text, "{\"version\":%d}", RK_KB_SCHEMA);
    MDB_val k = {6, "schema"}, v = {(size_t)len, text};
    return mdb_put(txn, meta, &k, &v, 0);
}

/* Schema 1 -> 2: the vectors table changes its keys, so it goes with what was
 * built from it (the embedder record and tables, the indexes and their specs). */
static int upgrade_v1(MDB_txn *txn, MDB_dbi meta) {
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, "vectors", MDB_INTEGERKEY, &dbi);
    if (!rc) rc = mdb_drop(txn, dbi, 1);
    for (const char *const *name = (const char *const[]){"faiss", "embedder", NULL}; !rc && *name; name++)
        if (!(rc = mdb_dbi_open(txn, *name, 0, &dbi))) rc = mdb_drop(txn, dbi, 0);
    MDB_cursor *c;
    if (rc || (rc = mdb_cursor_open(txn, meta, &c))) return rc == MDB_NOTFOUND ? 0 : rc;
    MDB_val k, v;
    for (int op = MDB_FIRST; !(rc = mdb_cursor_get(c, &k, &v, op)); op = MDB_NEXT)
        if ((k.mv_size == 8 && !memcmp(k.mv_data, "embedder", 8)) ||
            (k.mv_size > 6 && !memcmp(k.mv_data, "index:", 6)))
            if ((rc = mdb_cursor_del(c, 0))) break;
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Opens (creating when allowed) the named dbs, and checks or writes the schema. */
static rk_status open_dbs(rk_kb *kb, rk_kb_mode mode, rk_error *err) {
    MDB_txn *txn;
    rk_status s = txn_begin(kb, kb->readonly ? MDB_RDONLY : 0, &txn, err);
    if (s) return s;
    MDB_dbi meta;
    int rc = mdb_dbi_open(txn, "meta", kb->readonly ? 0 : MDB_CREATE, &meta);
    if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) {
        txn_end(kb, txn, 0);
        return rk_fail(err, RK_ENOTKB, "%s: not a raftkit KB (an LMDB environment without raftkit's tables)",
                       kb->path);
    }
    if (rc) goto dbfail;
    MDB_val k = {6, "schema"}, v;
    rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) {
        MDB_stat st;
        mdb_stat(txn, meta, &st);
        if (mode != RK_KB_CREATE || st.ms_entries != 0) {
            txn_end(kb, txn, 0);
            return rk_fail(err, RK_ENOTKB, "%s: not a raftkit KB (no schema record)", kb->path);
        }
        if ((rc = put_schema(txn, meta))) goto dbfail;
    } else if (rc) {
        goto dbfail;
    } else {
        json_t *j;
        if (rk_json_parse(v.mv_data, v.mv_size, "schema record", &j, err)) {
            txn_end(kb, txn, 0);
            return rk_fail_prefix(err, "%s: not a raftkit KB", kb->path);
        }
        json_int_t version = json_integer_value(json_object_get(j, "version"));
        json_decref(j);
        if (version > RK_KB_SCHEMA) {
            txn_end(kb, txn, 0);
            return rk_fail(err, RK_EVERSION,
                           "%s: KB schema %lld was written by a newer raftkit (this one reads up to %d); "
                           "upgrade raftkit",
                           kb->path, (long long)version, RK_KB_SCHEMA);
        }
        if (version == 1 && kb->readonly) {
            txn_end(kb, txn, 0);
            return rk_fail(err, RK_EVERSION,
                           "%s: KB schema 1 needs an upgrade; open it for writing once (raft-index build)",
                           kb->path);
        }
        if (version == 1 && (rc = upgrade_v1(txn, meta))) goto dbfail;
        if (version < RK_KB_SCHEMA && !kb->readonly && (rc = put_schema(txn, meta))) goto dbfail;
    }
    for (int i = 0; i < DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, db_names[i], db_flags[i] | (kb->readonly ? 0 : MDB_CREATE), &kb->dbi[i]);
        /* The generation cache (added in schema 2) and chunk_tail (schema 3)
         * are made by the first write: a KB opened read-only before it has neither. */
        if (rc == MDB_NOTFOUND && (i == DB_GENCACHE || i == DB_CHUNK_TAIL)) {
            kb->absent |= 1u << i;
            rc = 0;
        }
        if (rc) goto dbfail;
    }
    if ((rc = txn_end(kb, txn, 1))) return rk_fail(err, RK_EDB, "%s: %s", kb->path, mdb_strerror(rc));
    return RK_OK;
dbfail:
    txn_end(kb, txn, 0);
    return rk_fail(err, RK_EDB, "%s: %s", kb->path, mdb_strerror(rc));
}

rk_status rk_kb_open(const char *path, rk_kb_mode mode, size_t initial_map_size, rk_kb **out, rk_error *err) {
    *out = NULL;
    int exists;
    rk_status s = check_dir(path, mode, &exists, err);
    if (s) return s;
    rk_kb *kb = calloc(1, sizeof *kb);
    if (!kb || !(kb->path = strdup(path))) {
        free(kb);
        return rk_fail(err, RK_ENOMEM, "out of memory");
    }
    pthread_rwlock_init(&kb->resize, NULL);
    pthread_mutex_init(&kb->write, NULL);
    kb->readonly = mode == RK_KB_READONLY;
    int rc = mdb_env_create(&kb->env);
    if (!rc) rc = mdb_env_set_maxdbs(kb->env, DB_COUNT + 1);
    /* An existing KB opens at the map size its last writer grew it to. A
     * size set here would replace it, raised by LMDB only to the data's
     * size, and the first write would abort to grow the map again. The map
     * is address space, not disk: the file grows as pages are written. */
    if (!rc && !exists)
        rc = mdb_env_set_mapsize(kb->env, initial_map_size ? initial_map_size : (size_t)1 << 30);
    /* NOTLS: a thread may hold several read transactions (a searcher's and its caller's). */
    if (!rc) rc = mdb_env_open(kb->env, path, MDB_NOTLS | (kb->readonly ? MDB_RDONLY : 0), 0666);
    if (rc) {
        if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
            s = rk_fail(err, RK_ENOTKB, "%s: not a raftkit KB (data.mdb: %s)", path, mdb_strerror(rc));
        else
            s = rk_fail(err, RK_EDB, "%s: cannot open KB: %s", path, mdb_strerror(rc));
        rk_kb_close(kb);
        return s;
    }
    if ((s = open_dbs(kb, mode, err))) {
        rk_kb_close(kb);
        return s;
    }
    *out = kb;
    return RK_OK;
}

void rk_kb_close(rk_kb *kb) {
    if (!kb) return;
    if (kb->env) mdb_env_close(kb->env);
    pthread_rwlock_destroy(&kb->resize);
    pthread_mutex_destroy(&kb->write);
    rk_idmap_free(&kb->tail);
    rk_hashfilter_free(&kb->hashed);
    free(kb->path);
    free(kb);
}

const char *rk_kb_path(const rk_kb *kb) { return kb->path; }
const char *rk_kb_txn_path(const rk_kb_txn *t) { return t->kb->path; }

/* ---- transactions ---- */

rk_status rk_kb_read_begin(rk_kb *kb, rk_kb_txn **out, rk_error *err) {
    rk_kb_txn *t = calloc(1, sizeof *t);
    if (!t) return rk_fail(err, RK_ENOMEM, "out of memory");
    t->kb = kb;
    rk_status s = txn_begin(kb, MDB_RDONLY, &t->txn, err);
    if (s) {
        free(t);
        return s;
    }
    *out = t;
    return RK_OK;
}

void rk_kb_read_end(rk_kb_txn *t) {
    if (!t) return;
    txn_end(t->kb, t->txn, 0);
    free(t);
}

static rk_status load_counters(rk_kb_txn *t, rk_error *err) {
    if (t->counters_loaded) return RK_OK;
    json_t *j;
    rk_status s = rk_kb_meta_get(t, "counters", &j, err);
    if (s == RK_ENOTFOUND) {
        t->next_doc = t->next_chunk = 1; /* 0 means "none" in rk_doc.id */
        t->generation = t->folds = 0;
    } else if (s) {
        return s;
    } else {
        t->next_doc = (uint64_t)json_integer_value(json_object_get(j, "next_doc_id"));
        t->next_chunk = (uint64_t)json_integer_value(json_object_get(j, "next_chunk_id"));
        t->generation = (uint64_t)json_integer_value(json_object_get(j, "generation"));
        t->folds = (uint64_t)json_integer_value(json_object_get(j, "folds")); /* 0 before schema 3 */
        json_decref(j);
        if (!t->next_doc || !t->next_chunk)
            return rk_fail(err, RK_EFORMAT, "%s: meta \"counters\" is damaged", t->kb->path);
    }
    t->begin_generation = t->generation;
    t->counters_loaded = 1;
    return RK_OK;
}

/* Marks a change to docs or chunks: the generation rises once per transaction. */
static rk_status touch(rk_kb_txn *t, rk_error *err) {
    rk_status s = load_counters(t, err);
    if (s) return s;
    if (!t->counters_dirty) t->generation++;
    t->counters_dirty = 1;
    return RK_OK;
}

static rk_status save_counters(rk_kb_txn *t, rk_error *err) {
    if (!t->counters_dirty) return RK_OK;
    json_t *j = json_pack("{sIsIsIsI}", "next_doc_id", (json_int_t)t->next_doc, "next_chunk_id",
                          (json_int_t)t->next_chunk, "generation", (json_int_t)t->generation, "folds",
                          (json_int_t)t->folds);
    if (!j) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = rk_kb_meta_put(t, "counters", j, err);
    json_decref(j);
    return s;
}

/* ---- chunk_tail (see the top of this file) ---- */

static MDB_val hash_key(uint64_t hk[2], rk_hash128 h) {
    hk[0] = h.lo;
    hk[1] = h.hi;
    return (MDB_val){2 * sizeof *hk, hk};
}

static rk_hash128 hash_of_key(const void *p) {
    return (rk_hash128){get_u64(p), get_u64((const uint8_t *)p + 8)};
}

/* Calls fn on each entry of chunk_tail with an id of at least from, in id
 * order, until it fails. */
static rk_status tail_each(rk_kb_txn *t, size_t from,
                           rk_status (*fn)(rk_hash128 h, uint64_t id, void *ctx, rk_error *err), void *ctx,
                           rk_error *err) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_CHUNK_TAIL], &c);
    if (rc) return db_fail(t, rc, err, "chunk_tail");
    rk_status s = RK_OK;
    MDB_val k = idkey(&from), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !s && !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        s = v.mv_size != 16 ? rk_fail(err, RK_EFORMAT, "%s: chunk_tail: damaged record", t->kb->path)
                            : fn(hash_of_key(v.mv_data), get_u64(k.mv_data), ctx, err);
    mdb_cursor_close(c);
    if (!s && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "chunk_tail");
    return s;
}

static rk_status put_tail(rk_hash128 h, uint64_t id, void *tail, rk_error *err) {
    return rk_idmap_put(tail, h, id) ? rk_fail(err, RK_ENOMEM, "out of memory") : RK_OK;
}

/* Makes kb->tail this write transaction's chunk_tail. It is kept from this
 * handle's last commit when nothing has been committed since. When other
 * processes have, without a fold, it reads only the entries they appended
 * (chunk ids only grow): the tail's length, not one batch's, would
 * otherwise be read on every commit of shards run side by side. Entries
 * they removed may stay, and find_hash checks what it finds (tail_lazy).
 * Else (no commit of this handle to start from, an abort, a fold) it is
 * read whole. */
static rk_status tail_sync(rk_kb_txn *t, rk_error *err) {
    if (t->tail_synced) return RK_OK;
    rk_kb *kb = t->kb;
    rk_status s = load_counters(t, err);
    if (s) return s;
    int known = kb->tail_known;
    kb->tail_known = 0; /* until this transaction commits */
    if (known && kb->tail_gen == t->begin_generation) {
        t->tail_synced = 1;
        return RK_OK;
    }
    size_t from = 0;
    if (known && kb->tail_folds == t->folds) {
        from = kb->tail_next;
        kb->tail_lazy = 1;
    } else {
        rk_idmap_clear(&kb->tail);
        kb->tail_lazy = 0;
    }
    if (!(s = tail_each(t, from, put_tail, &kb->tail, err))) t->tail_synced = 1;
    return s;
}

/* Decides whether this write transaction asks kb->hashed before searching
 * chunk_hash. The filter is kept while no fold has happened since it was
 * built (folds come geometrically further apart). It is built only once the
 * handle has searched chunk_hash entries/16 times without it: reading an
 * entry costs far less than a sixteenth of a search (about 25 ns against
 * 700 ns here), and a run that adds a few chunks to a big KB never reads
 * the whole table. */
static rk_status hashed_sync(rk_kb_txn *t, rk_error *err) {
    if (t->hashed_synced) return RK_OK;
    rk_kb *kb = t->kb;
    rk_status s = load_counters(t, err);
    if (s) return s;
    t->hashed_synced = 1;
    if (!kb->hashed_known || kb->hashed_folds != t->folds) {
        kb->hashed_known = 0;
        MDB_stat st;
        MDB_cursor *c;
        int rc = mdb_stat(t->txn, kb->dbi[DB_CHUNK_HASH], &st);
        if (!rc && kb->unfiltered < st.ms_entries / 16) return RK_OK;
        if (!rc && rk_hashfilter_reset(&kb->hashed, st.ms_entries))
            return rk_fail(err, RK_ENOMEM, "out of memory");
        if (rc || (rc = mdb_cursor_open(t->txn, kb->dbi[DB_CHUNK_HASH], &c)))
            return db_fail(t, rc, err, "chunk_hash");
        MDB_val k, v;
        while (!s && !(rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))) {
            if (k.mv_size != 16)
                s = rk_fail(err, RK_EFORMAT, "%s: chunk_hash: damaged key", kb->path);
            else
                rk_hashfilter_add(&kb->hashed, hash_of_key(k.mv_data));
        }
        mdb_cursor_close(c);
        if (!s && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "chunk_hash");
        if (s) return s;
        kb->hashed_folds = t->folds;
        kb->hashed_known = 1;
        kb->unfiltered = 0;
    }
    t->filtered = 1;
    return RK_OK;
}

/* A read transaction has no map of chunk_tail: it reads the table through. */
static rk_status tail_scan(rk_kb_txn *t, rk_hash128 h, uint64_t *id, rk_error *err) {
    if (t->kb->absent & 1u << DB_CHUNK_TAIL) return RK_ENOTFOUND;
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_CHUNK_TAIL], &c);
    if (rc) return db_fail(t, rc, err, "chunk_tail");
    MDB_val k, v;
    while (!(rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)))
        if (v.mv_size == 16 && rk_hash128_equal(hash_of_key(v.mv_data), h)) break;
    if (!rc) *id = get_u64(k.mv_data);
    mdb_cursor_close(c);
    return rc == MDB_NOTFOUND ? RK_ENOTFOUND : rc ? db_fail(t, rc, err, "chunk_tail") : RK_OK;
}

/* rk_kb_chunk_find, without a message for RK_ENOTFOUND: adding a chunk
 * expects it. */
static rk_status find_hash(rk_kb_txn *t, rk_hash128 h, uint64_t *id, rk_error *err) {
    rk_status s = t->write ? hashed_sync(t, err) : RK_OK;
    if (s) return s;
    uint64_t hk[2];
    MDB_val k = hash_key(hk, h), v;
    int rc = !t->filtered || rk_hashfilter_maybe(&t->kb->hashed, h)
                 ? mdb_get(t->txn, t->kb->dbi[DB_CHUNK_HASH], &k, &v)
                 : MDB_NOTFOUND;
    if (t->write && !t->filtered) t->kb->unfiltered++;
    if (!rc) {
        if (v.mv_size != 8) return rk_fail(err, RK_EFORMAT, "%s: chunk_hash: damaged record", t->kb->path);
        *id = get_u64(v.mv_data);
        return RK_OK;
    }
    if (rc != MDB_NOTFOUND) return db_fail(t, rc, err, "chunk_hash");
    if (!t->write) return tail_scan(t, h, id, err);
    if ((s = tail_sync(t, err))) return s;
    rk_kb *kb = t->kb;
    size_t found = rk_idmap_get(&kb->tail, h);
    if (found && kb->tail_lazy) { /* another process may have removed it */
        MDB_val k = idkey(&found), v;
        int rc = mdb_get(t->txn, kb->dbi[DB_CHUNK_TAIL], &k, &v);
        if (rc == MDB_NOTFOUND) {
            rk_idmap_del(&kb->tail, h);
            found = 0;
        } else if (rc) {
            return db_fail(t, rc, err, "chunk_tail");
        }
    }
    *id = found;
    return found ? RK_OK : RK_ENOTFOUND;
}

/* LMDB orders chunk_hash's keys (lo, hi, little-endian) by memcmp: as the
 * byte-swapped words are ordered. */
typedef struct tail_entry {
    uint64_t order[2]; /* bswap(lo), bswap(hi) */
    rk_hash128 h;
    uint64_t id;
} tail_entry;

typedef struct tail_entries {
    tail_entry *v;
    size_t n, cap;
} tail_entries;

static rk_status add_entry(rk_hash128 h, uint64_t id, void *ctx, rk_error *err) {
    tail_entries *e = ctx;
    if (e->n == e->cap) return rk_fail(err, RK_EFORMAT, "chunk_tail holds more entries than it counts");
    e->v[e->n++] = (tail_entry){{__builtin_bswap64(h.lo), __builtin_bswap64(h.hi)}, h, id};
    return RK_OK;
}

static int before(const tail_entry *a, const tail_entry *b) {
    return a->order[0] != b->order[0] ? a->order[0] < b->order[0] : a->order[1] < b->order[1];
}

/* e[0..n) sorted by key, in a new array. The keys are uniform hashes, so placing
 * each by its leading log2(n) bits leaves buckets of an entry or two, in
 * order, and insertion sort only moves entries within their bucket: O(n).
 * On the ingest bench, qsort took 4.6% of the writer's time, this about 2%.
 * NULL: out of memory. */
static tail_entry *sort_by_key(const tail_entry *e, size_t n) {
    unsigned bits = 1;
    while (bits < 32 && ((size_t)1 << bits) < n)
        bits++;
    size_t nb = (size_t)1 << bits, *at = calloc(nb + 1, sizeof *at);
    tail_entry *out = malloc((n ? n : 1) * sizeof *out);
    if (!at || !out) {
        free(at);
        free(out);
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        at[(e[i].order[0] >> (64 - bits)) + 1]++;
    for (size_t b = 0; b < nb; b++)
        at[b + 1] += at[b];
    for (size_t i = 0; i < n; i++)
        out[at[e[i].order[0] >> (64 - bits)]++] = e[i];
    free(at);
    for (size_t i = 1; i < n; i++) {
        tail_entry x = out[i];
        size_t j = i;
        for (; j > 0 && before(&x, &out[j - 1]); j--)
            out[j] = out[j - 1];
        out[j] = x;
    }
    return out;
}

/* Moves chunk_tail into chunk_hash in key order, once it has grown enough:
 * chunk_hash's pages are then copied once per fold, not once per commit. */
static rk_status tail_fold(rk_kb_txn *t, rk_error *err) {
    rk_kb *kb = t->kb;
    MDB_stat hashed, tail;
    int rc = mdb_stat(t->txn, kb->dbi[DB_CHUNK_HASH], &hashed);
    if (rc) return db_fail(t, rc, err, "chunk_hash");
    if ((rc = mdb_stat(t->txn, kb->dbi[DB_CHUNK_TAIL], &tail))) return db_fail(t, rc, err, "chunk_tail");
    size_t n = tail.ms_entries;
    if (n < g_fold_min || n < hashed.ms_entries / 2) return RK_OK;
    /* From the table, not kb->tail, which may hold entries removed by others. */
    tail_entries read = {malloc(n * sizeof *read.v), 0, n};
    if (!read.v) return rk_fail(err, RK_ENOMEM, "out of memory");
    rk_status s = tail_each(t, 0, add_entry, &read, err);
    tail_entry *e = s ? NULL : sort_by_key(read.v, read.n);
    size_t m = read.n;
    free(read.v);
    if (s) return s;
    if (!e) return rk_fail(err, RK_ENOMEM, "out of memory");
    MDB_cursor *c = NULL;
    s = touch(t, err);
    if (!s && (rc = mdb_cursor_open(t->txn, kb->dbi[DB_CHUNK_HASH], &c)))
        s = db_fail(t, rc, err, "chunk_hash");
    for (size_t i = 0; !s && i < m; i++) {
        uint64_t hk[2];
        MDB_val k = hash_key(hk, e[i].h), v = {8, &e[i].id};
        /* A sorted run of puts through one cursor stays on its leaf page while the keys do. */
        if ((rc = mdb_cursor_put(c, &k, &v, MDB_NOOVERWRITE)))
            s = rc == MDB_KEYEXIST
                    ? rk_fail(err, RK_EFORMAT, "%s: chunk_tail: a hash chunk_hash holds", kb->path)
                    : db_fail(t, rc, err, "chunk_hash");
    }
    if (c) mdb_cursor_close(c);
    free(e);
    if (!s && (rc = mdb_drop(t->txn, kb->dbi[DB_CHUNK_TAIL], 0))) s = db_fail(t, rc, err, "chunk_tail");
    if (!s) {
        rk_idmap_clear(&kb->tail);
        kb->tail_lazy = 0;
    }
    t->folds++; /* kb->hashed lacks the folded hashes: the next transaction rebuilds it */
    return s;
}

static rk_status write_locked(rk_kb *kb, rk_kb_write_fn fn, void *ctx, rk_error *err) {
    for (;;) {
        rk_kb_txn t = {.kb = kb, .write = 1};
        rk_status s = txn_begin(kb, 0, &t.txn, err);
        if (s) return s;
        s = fn(&t, ctx, err);
        if (!s && t.tail_synced) s = tail_fold(&t, err);
        if (!s) s = save_counters(&t, err);
        if (!s) {
            int rc = txn_end(kb, t.txn, 1);
            if (!rc) {
                if (t.tail_synced) {
                    kb->tail_gen = t.generation;
                    kb->tail_next = t.next_chunk;
                    kb->tail_folds = t.folds;
                    kb->tail_known = 1;
                }
                return RK_OK;
            }
            s = db_fail(&t, rc, err, "commit");
        } else {
            txn_end(kb, t.txn, 0);
        }
        if (!t.map_full) return s;
        MDB_envinfo info;
        mdb_env_info(kb->env, &info);
        int rc = resize(kb, info.me_mapsize * 2);
        if (rc == EBUSY)
            return rk_fail(err, RK_EDB,
                           "%s: the map is full and cannot grow while this thread holds a transaction",
                           kb->path);
        if (rc) return rk_fail(err, RK_EDB, "%s: cannot grow the map: %s", kb->path, mdb_strerror(rc));
    }
}

rk_status rk_kb_write(rk_kb *kb, rk_kb_write_fn fn, void *ctx, rk_error *err) {
    if (kb->readonly) return rk_fail(err, RK_EINVAL, "%s: KB opened read-only", kb->path);
    pthread_mutex_lock(&kb->write);
    rk_status s = write_locked(kb, fn, ctx, err);
    pthread_mutex_unlock(&kb->write);
    return s;
}

/* ---- meta ---- */

rk_status rk_kb_meta_get(rk_kb_txn *t, const char *key, json_t **out, rk_error *err) {
    MDB_val k = {strlen(key), (void *)key}, v;
    int rc = mdb_get(t->txn, t->kb->dbi[DB_META], &k, &v);
    if (rc == MDB_NOTFOUND) return rk_fail(err, RK_ENOTFOUND, "%s: no meta \"%s\"", t->kb->path, key);
    if (rc) return db_fail(t, rc, err, "meta");
    char what[300];
    snprintf(what, sizeof what, "%s: meta \"%s\"", t->kb->path, key);
    return rk_json_parse(v.mv_data, v.mv_size, what, out, err);
}

rk_status rk_kb_meta_put(rk_kb_txn *t, const char *key, const json_t *value, rk_error *err) {
    char *text = rk_json_text(value);
    if (!text) return rk_fail(err, RK_ENOMEM, "out of memory");
    MDB_val k = {strlen(key), (void *)key}, v = {strlen(text), text};
    int rc = mdb_put(t->txn, t->kb->dbi[DB_META], &k, &v, 0);
    free(text);
    return rc ? db_fail(t, rc, err, "meta") : RK_OK;
}

rk_status rk_kb_meta_delete(rk_kb_txn *t, const char *key, rk_error *err) {
    MDB_val k = {strlen(key), (void *)key};
    int rc = mdb_del(t->txn, t->kb->dbi[DB_META], &k, NULL);
    return rc && rc != MDB_NOTFOUND ? db_fail(t, rc, err, "meta") : RK_OK;
}

rk_status rk_kb_meta_foreach(rk_kb_txn *t, const char *prefix,
                             rk_status (*fn)(const char *key, json_t *value, void *ctx, rk_error *err),
                             void *ctx, rk_error *err) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_META], &c);
    if (rc) return db_fail(t, rc, err, "meta");
    size_t plen = strlen(prefix);
    MDB_val k = {plen, (void *)prefix}, v;
    rk_status s = RK_OK;
    for (rc = mdb_cursor_get(c, &k, &v, plen ? MDB_SET_RANGE : MDB_FIRST); !rc;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size < plen || memcmp(k.mv_data, prefix, plen)) break;
        char key[512];
        snprintf(key, sizeof key, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
        json_t *j;
        if ((s = rk_json_parse(v.mv_data, v.mv_size, key, &j, err))) break;
        s = fn(key, j, ctx, err);
        json_decref(j);
        if (s) break;
    }
    mdb_cursor_close(c);
    if (!s && rc && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "meta");
    return s;
}

rk_status rk_kb_generation(rk_kb_txn *t, uint64_t *out, rk_error *err) {
    rk_status s = load_counters(t, err);
    if (!s) *out = t->generation;
    return s;
}

/* ---- documents ---- */

static rk_status doc_decode(rk_kb_txn *t, uint64_t id, MDB_val v, rk_doc *d, rk_error *err) {
    const uint8_t *p = v.mv_data;
    if (v.mv_size < DOC_HDR || p[0] != RECORD_V1) goto bad;
    uint32_t elen = get_u32(p + 45), llen = get_u32(p + 49), ulen = get_u32(p + 53), tlen = get_u32(p + 57);
    if (v.mv_size != DOC_HDR + (size_t)ulen + 1 + tlen + 1 + elen + 1 + llen + 1) goto bad;
    *d = (rk_doc){.id = id,
                  .hash = {get_u64(p + 1), get_u64(p + 9)},
                  .size = get_u64(p + 17),
                  .mtime = (int64_t)get_u64(p + 25),
                  .first_chunk = get_u64(p + 33),
                  .nchunks = get_u32(p + 41),
                  .uri = (const char *)p + DOC_HDR,
                  .title = (const char *)p + DOC_HDR + ulen + 1,
                  .etag = (const char *)p + DOC_HDR + ulen + 1 + tlen + 1,
                  .last_modified = (const char *)p + DOC_HDR + ulen + 1 + tlen + 1 + elen + 1};
    return RK_OK;
bad:
    return rk_fail(err, RK_EFORMAT, "%s: document %llu: damaged record", t->kb->path, (unsigned long long)id);
}

rk_status rk_kb_doc_new_id(rk_kb_txn *t, uint64_t *id, rk_error *err) {
    rk_status s = touch(t, err);
    if (!s) *id = t->next_doc++;
    return s;
}

rk_status rk_kb_doc_put(rk_kb_txn *t, const rk_doc *d, rk_error *err) {
    if (!d->id) return rk_fail(err, RK_EINVAL, "%s: document %s has no id", t->kb->path, d->uri);
    rk_status s = touch(t, err);
    if (s) return s;
    const char *title = d->title ? d->title : "", *etag = d->etag ? d->etag : "",
               *lm = d->last_modified ? d->last_modified : "";
    size_t ulen = strlen(d->uri), tlen = strlen(title), elen = strlen(etag), llen = strlen(lm);
    size_t id = d->id;
    MDB_val k = idkey(&id), v = {DOC_HDR + ulen + 1 + tlen + 1 + elen + 1 + llen + 1, NULL};
    int rc = mdb_put(t->txn, t->kb->dbi[DB_DOCS], &k, &v, MDB_RESERVE);
    if (rc) return db_fail(t, rc, err, "docs");
    uint8_t *p = v.mv_data;
    p[0] = RECORD_V1;
    put_u64(p + 1, d->hash.lo);
    put_u64(p + 9, d->hash.hi);
    put_u64(p + 17, d->size);
    put_u64(p + 25, (uint64_t)d->mtime);
    put_u64(p + 33, d->first_chunk);
    put_u32(p + 41, d->nchunks);
    put_u32(p + 45, (uint32_t)elen);
    put_u32(p + 49, (uint32_t)llen);
    put_u32(p + 53, (uint32_t)ulen);
    put_u32(p + 57, (uint32_t)tlen);
    uint8_t *q = p + DOC_HDR;
    q = (uint8_t *)memcpy(q, d->uri, ulen + 1) + ulen + 1;
    q = (uint8_t *)memcpy(q, title, tlen + 1) + tlen + 1;
    q = (uint8_t *)memcpy(q, etag, elen + 1) + elen + 1;
    memcpy(q, lm, llen + 1);
    MDB_val uk = {ulen, (void *)d->uri}, uv = {sizeof id, &id};
    rc = mdb_put(t->txn, t->kb->dbi[DB_DOC_URI], &uk, &uv, 0);
    return rc ? db_fail(t, rc, err, "doc_uri") : RK_OK;
}

rk_status rk_kb_doc_get(rk_kb_txn *t, uint64_t id, rk_doc *out, rk_error *err) {
    size_t key = id;
    MDB_val k = idkey(&key), v;
    int rc = mdb_get(t->txn, t->kb->dbi[DB_DOCS], &k, &v);
    if (rc == MDB_NOTFOUND)
        return rk_fail(err, RK_ENOTFOUND, "%s: no document %llu", t->kb->path, (unsigned long long)id);
    if (rc) return db_fail(t, rc, err, "docs");
    return doc_decode(t, id, v, out, err);
}

rk_status rk_kb_doc_find(rk_kb_txn *t, const char *uri, uint64_t *id, rk_error *err) {
    MDB_val k = {strlen(uri), (void *)uri}, v;
    int rc = mdb_get(t->txn, t->kb->dbi[DB_DOC_URI], &k, &v);
    if (rc == MDB_NOTFOUND) return rk_fail(err, RK_ENOTFOUND, "%s: no document %s", t->kb->path, uri);
    if (rc) return db_fail(t, rc, err, "doc_uri");
    if (v.mv_size != 8) return rk_fail(err, RK_EFORMAT, "%s: doc_uri %s: damaged record", t->kb->path, uri);
    *id = get_u64(v.mv_data);
    return RK_OK;
}

static rk_status chunk_put(rk_kb_txn *t, const rk_chunk *c, unsigned flags, rk_error *err);

static rk_status del_key(rk_kb_txn *t, int db, MDB_val *k, rk_error *err) {
    int rc = mdb_del(t->txn, t->kb->dbi[db], k, NULL);
    return rc && rc != MDB_NOTFOUND ? db_fail(t, rc, err, db_names[db]) : RK_OK;
}

/* A document's entries in doc_refs: the chunks it holds (owned 0) or was
 * handed (owned 1), in chunk id order. */
typedef struct refs {
    uint64_t *id;
    uint8_t *owned;
    size_t n, cap;
} refs;

static void refs_free(refs *r) {
    free(r->id);
    free(r->owned);
}

static rk_status doc_refs_of(rk_kb_txn *t, uint64_t doc, refs *out, rk_error *err) {
    *out = (refs){0};
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_DOC_REFS], &c);
    if (rc) return db_fail(t, rc, err, "doc_refs");
    uint8_t kb[16];
    MDB_val k = pair_key(kb, doc, 0), v;
    rk_status s = RK_OK;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc && pair_part(k.mv_data, 0) == doc;
         rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (out->n == out->cap) {
            size_t cap = out->cap ? 2 * out->cap : 16;
            uint64_t *ni = realloc(out->id, cap * sizeof *ni);
            if (ni) out->id = ni;
            uint8_t *no = realloc(out->owned, cap);
            if (no) out->owned = no;
            if (!ni || !no) {
                s = rk_fail(err, RK_ENOMEM, "out of memory");
                break;
            }
            out->cap = cap;
        }
        out->id[out->n] = pair_part(k.mv_data, 1);
        out->owned[out->n++] = *(const uint8_t *)v.mv_data;
    }
    mdb_cursor_close(c);
    if (!s && rc && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "doc_refs");
    if (s) refs_free(out);
    return s;
}

rk_status rk_kb_doc_chunks(rk_kb_txn *t, uint64_t id,
                           rk_status (*fn)(uint64_t chunk_id, void *ctx, rk_error *err), void *ctx,
                           rk_error *err) {
    rk_doc d;
    refs r;
    rk_status s = rk_kb_doc_get(t, id, &d, err);
    if (!s) s = doc_refs_of(t, id, &r, err);
    if (s) return s;
    for (uint64_t c = d.first_chunk; !s && c < d.first_chunk + d.nchunks; c++)
        s = fn(c, ctx, err);
    for (size_t i = 0; !s && i < r.n; i++)
        if (r.owned[i]) s = fn(r.id[i], ctx, err);
    refs_free(&r);
    return s;
}

/* Hands chunk cid, owned by a document being deleted, to the first document
 * that holds its text too; *handed is 0 when there is none. */
static rk_status hand_over(rk_kb_txn *t, uint64_t cid, int *handed, rk_error *err) {
    *handed = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_CHUNK_REFS], &cur);
    if (rc) return db_fail(t, rc, err, "chunk_refs");
    uint8_t kb[16];
    MDB_val k = pair_key(kb, cid, 0), v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc || pair_part(k.mv_data, 0) != cid || v.mv_size < 25) {
        mdb_cursor_close(cur);
        return rc && rc != MDB_NOTFOUND ? db_fail(t, rc, err, "chunk_refs") : RK_OK;
    }
    uint64_t doc = pair_part(k.mv_data, 1);
    const uint8_t *m = v.mv_data;
    char section[512];
    snprintf(section, sizeof section, "%s", (const char *)m + 24);
    rk_chunk moved = {.id = cid,
                      .doc_id = doc,
                      .ordinal = get_u32(m),
                      .start = get_u64(m + 8),
                      .end = get_u64(m + 16),
                      .page = get_u32(m + 4),
                      .section = section};
    rk_chunk c;
    rk_status s = rk_kb_chunk_get(t, cid, &c, err);
    char *text = s ? NULL : strndup(c.text, c.text_len); /* c points into pages the puts may move */
    if (!s && !text) s = rk_fail(err, RK_ENOMEM, "out of memory");
    if (!s) {
        moved.ntokens = c.ntokens;
        moved.text = text;
        moved.text_len = c.text_len;
        rc = mdb_cursor_del(cur, 0);
        s = rc ? db_fail(t, rc, err, "chunk_refs") : chunk_put(t, &moved, 0, err);
    }
    mdb_cursor_close(cur);
    free(text);
    uint8_t owned = 1;
    MDB_val dk = pair_key(kb, doc, cid), dv = {1, &owned};
    if (!s && (rc = mdb_put(t->txn, t->kb->dbi[DB_DOC_REFS], &dk, &dv, 0)))
        s = db_fail(t, rc, err, "doc_refs");
    if (!s) *handed = 1;
    return s;
}

/* Removes the vectors of chunk cid, of every embedder. */
static rk_status vectors_delete(rk_kb_txn *t, uint64_t cid, rk_error *err) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_VECTORS], &c);
    if (rc) return db_fail(t, rc, err, "vectors");
    uint8_t kb[16];
    MDB_val k = pair_key(kb, cid, 0), v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); !rc; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || memcmp(k.mv_data, kb, 8)) break;
        if ((rc = mdb_cursor_del(c, 0))) break;
    }
    mdb_cursor_close(c);
    return rc && rc != MDB_NOTFOUND ? db_fail(t, rc, err, "vectors") : RK_OK;
}

/* Removes chunk cid: its record, hash entry and vectors, recorded in `removed`. */
static rk_status chunk_remove(rk_kb_txn *t, uint64_t cid, rk_error *err) {
    rk_chunk c;
    rk_status s = rk_kb_chunk_get(t, cid, &c, err);
    if (s == RK_ENOTFOUND) return RK_OK;
    if (!s) s = tail_sync(t, err); /* kb->tail is then this transaction's */
    if (s) return s;
    rk_hash128 h = rk_kb_chunk_hash(c.text, c.text_len);
    uint64_t owner = 0;
    size_t key = cid;
    MDB_val k = idkey(&key), gen = {sizeof t->generation, &t->generation};
    /* The hash entry goes only if it names this chunk. */
    if (!find_hash(t, h, &owner, NULL) && owner == cid) {
        if (rk_idmap_get(&t->kb->tail, h) == cid) {
            rk_idmap_del(&t->kb->tail, h);
            s = del_key(t, DB_CHUNK_TAIL, &k, err);
        } else {
            uint64_t hk[2];
            MDB_val hkv = hash_key(hk, h);
            s = del_key(t, DB_CHUNK_HASH, &hkv, err);
        }
    }
    if (!s) s = del_key(t, DB_CHUNKS, &k, err);
    if (!s) s = vectors_delete(t, cid, err);
    int rc = s ? 0 : mdb_put(t->txn, t->kb->dbi[DB_REMOVED], &k, &gen, 0);
    return rc ? db_fail(t, rc, err, "removed") : s;
}

rk_status rk_kb_doc_delete(rk_kb_txn *t, uint64_t id, rk_error *err) {
    rk_doc d;
    rk_status s = rk_kb_doc_get(t, id, &d, err);
    if (!s) s = touch(t, err);
    if (s) return s;
    char *uri = strdup(d.uri); /* d points into pages the deletes below may free */
    if (!uri) return rk_fail(err, RK_ENOMEM, "out of memory");
    uint64_t first = d.first_chunk, n = d.nchunks;
    refs r;
    if ((s = doc_refs_of(t, id, &r, err))) {
        free(uri);
        return s;
    }
    uint8_t kb[16];
    /* First the document lets go of the chunks it only holds, so that none is
     * handed back to it. */
    for (size_t i = 0; !s && i < r.n; i++) {
        MDB_val k = pair_key(kb, id, r.id[i]);
        s = del_key(t, DB_DOC_REFS, &k, err);
        if (!s && !r.owned[i]) {
            k = pair_key(kb, r.id[i], id);
            s = del_key(t, DB_CHUNK_REFS, &k, err);
        }
    }
    for (uint64_t i = 0; !s && i < n + r.n; i++) {
        if (i >= n && !r.owned[i - n]) continue;
        uint64_t cid = i < n ? first + i : r.id[i - n];
        int handed;
        s = hand_over(t, cid, &handed, err);
        if (!s && !handed) s = chunk_remove(t, cid, err);
    }
    refs_free(&r);
    size_t key = id;
    MDB_val k = idkey(&key), uk = {strlen(uri), uri};
    if (!s) s = del_key(t, DB_DOCS, &k, err);
    if (!s) s = del_key(t, DB_DOC_URI, &uk, err);
    free(uri);
    return s;
}

rk_status rk_kb_doc_foreach(rk_kb_txn *t, rk_status (*fn)(const rk_doc *, void *, rk_error *), void *ctx,
                            rk_error *err) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_DOCS], &c);
    if (rc) return db_fail(t, rc, err, "docs");
    MDB_val k, v;
    rk_status s = RK_OK;
    while (!s && !(rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))) {
        rk_doc d;
        if (!(s = doc_decode(t, get_u64(k.mv_data), v, &d, err))) s = fn(&d, ctx, err);
    }
    mdb_cursor_close(c);
    if (!s && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "docs");
    return s;
}

/* ---- chunks ---- */

rk_hash128 rk_kb_chunk_hash(const char *text, size_t len) { return rk_hash128_of(text, len); }

static rk_status chunk_decode(rk_kb_txn *t, uint64_t id, MDB_val v, rk_chunk *c, rk_error *err) {
    const uint8_t *p = v.mv_data;
    if (v.mv_size < CHUNK_HDR || p[0] != RECORD_V1) goto bad;
    uint32_t len = get_u32(p + 33), slen = get_u32(p + 41);
    if (v.mv_size != CHUNK_HDR + (size_t)len + 1 + slen + 1) goto bad;
    *c = (rk_chunk){.id = id,
                    .doc_id = get_u64(p + 1),
                    .ordinal = get_u32(p + 9),
                    .ntokens = get_u32(p + 13),
                    .start = get_u64(p + 17),
                    .end = get_u64(p + 25),
                    .page = get_u32(p + 37),
                    .section = (const char *)p + CHUNK_HDR + len + 1,
                    .text = (const char *)p + CHUNK_HDR,
                    .text_len = len};
    return RK_OK;
bad:
    return rk_fail(err, RK_EFORMAT, "%s: chunk %llu: damaged record", t->kb->path, (unsigned long long)id);
}

/* Writes chunk c under c->id; flags: MDB_APPEND for an id above every stored
 * one, which fills pages instead of splitting them in half. */
static rk_status chunk_put(rk_kb_txn *t, const rk_chunk *c, unsigned flags, rk_error *err) {
    if (c->text_len > UINT32_MAX)
        return rk_fail(err, RK_EINVAL, "chunk of %zu bytes is too large", c->text_len);
    const char *section = c->section ? c->section : "";
    size_t slen = strlen(section);
    size_t id = c->id;
    MDB_val k = idkey(&id), v = {CHUNK_HDR + c->text_len + 1 + slen + 1, NULL};
    int rc = mdb_put(t->txn, t->kb->dbi[DB_CHUNKS], &k, &v, MDB_RESERVE | flags);
    if (rc) return db_fail(t, rc, err, "chunks");
    uint8_t *p = v.mv_data;
    p[0] = RECORD_V1;
    put_u64(p + 1, c->doc_id);
    put_u32(p + 9, c->ordinal);
    put_u32(p + 13, c->ntokens);
    put_u64(p + 17, c->start);
    put_u64(p + 25, c->end);
    put_u32(p + 33, (uint32_t)c->text_len);
    put_u32(p + 37, c->page);
    put_u32(p + 41, (uint32_t)slen);
    memcpy(p + CHUNK_HDR, c->text, c->text_len);
    p[CHUNK_HDR + c->text_len] = 0;
    memcpy(p + CHUNK_HDR + c->text_len + 1, section, slen + 1);
    return RK_OK;
}

rk_status rk_kb_chunk_add(rk_kb_txn *t, rk_chunk *c, rk_hash128 h, int *added, rk_error *err) {
    *added = 0;
    rk_status s = find_hash(t, h, &c->id, err);
    if (s != RK_ENOTFOUND) return s;
    size_t id = t->next_chunk; /* ids only grow: never reused */
    uint64_t hk[2];
    MDB_val k = idkey(&id), v = hash_key(hk, h);
    /* Above every id in chunk_tail, which is why it only appends. */
    int rc = mdb_put(t->txn, t->kb->dbi[DB_CHUNK_TAIL], &k, &v, MDB_APPEND);
    if (rc) return db_fail(t, rc, err, "chunk_tail");
    if (rk_idmap_put(&t->kb->tail, h, id)) return rk_fail(err, RK_ENOMEM, "out of memory");
    c->id = id;
    if ((s = touch(t, err)) || (s = chunk_put(t, c, MDB_APPEND, err))) return s;
    t->next_chunk++;
    *added = 1;
    return RK_OK;
}

rk_status rk_kb_chunk_ref_add(rk_kb_txn *t, const rk_chunk *ref, rk_error *err) {
    rk_status s = touch(t, err);
    if (s) return s;
    const char *section = ref->section ? ref->section : "";
    size_t slen = strlen(section);
    uint8_t kb[16], val[24 + 512];
    if (slen >= 512) slen = 511; /* a section path is a label: a cut one still tells */
    put_u32(val, ref->ordinal);
    put_u32(val + 4, ref->page);
    put_u64(val + 8, ref->start);
    put_u64(val + 16, ref->end);
    memcpy(val + 24, section, slen);
    val[24 + slen] = 0;
    MDB_val k = pair_key(kb, ref->id, ref->doc_id), v = {24 + slen + 1, val};
    int rc = mdb_put(t->txn, t->kb->dbi[DB_CHUNK_REFS], &k, &v, 0);
    if (rc) return db_fail(t, rc, err, "chunk_refs");
    uint8_t owned = 0;
    k = pair_key(kb, ref->doc_id, ref->id);
    v = (MDB_val){1, &owned};
    rc = mdb_put(t->txn, t->kb->dbi[DB_DOC_REFS], &k, &v, 0);
    return rc ? db_fail(t, rc, err, "doc_refs") : RK_OK;
}

rk_status rk_kb_chunk_get(rk_kb_txn *t, uint64_t id, rk_chunk *out, rk_error *err) {
    size_t key = id;
    MDB_val k = idkey(&key), v;
    int rc = mdb_get(t->txn, t->kb->dbi[DB_CHUNKS], &k, &v);
    if (rc == MDB_NOTFOUND)
        return rk_fail(err, RK_ENOTFOUND, "%s: no chunk %llu", t->kb->path, (unsigned long long)id);
    if (rc) return db_fail(t, rc, err, "chunks");
    return chunk_decode(t, id, v, out, err);
}

rk_status rk_kb_chunk_find(rk_kb_txn *t, rk_hash128 h, uint64_t *id, rk_error *err) {
    rk_status s = find_hash(t, h, id, err);
    return s == RK_ENOTFOUND ? rk_fail(err, RK_ENOTFOUND, "no chunk with that text") : s;
}

rk_status rk_kb_chunk_foreach(rk_kb_txn *t, rk_status (*fn)(const rk_chunk *, void *, rk_error *), void *ctx,
                              rk_error *err) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_CHUNKS], &c);
    if (rc) return db_fail(t, rc, err, "chunks");
    MDB_val k, v;
    rk_status s = RK_OK;
    while (!s && !(rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))) {
        rk_chunk ch;
        if (!(s = chunk_decode(t, get_u64(k.mv_data), v, &ch, err))) s = fn(&ch, ctx, err);
    }
    mdb_cursor_close(c);
    if (!s && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "chunks");
    return s;
}

rk_status rk_kb_removed_foreach(rk_kb_txn *t,
                                rk_status (*fn)(uint64_t id, uint64_t generation, void *ctx, rk_error *err),
                                void *ctx, rk_error *err) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_REMOVED], &c);
    if (rc) return db_fail(t, rc, err, "removed");
    MDB_val k, v;
    rk_status s = RK_OK;
    while (!s && !(rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)))
        s = fn(get_u64(k.mv_data), get_u64(v.mv_data), ctx, err);
    mdb_cursor_close(c);
    if (!s && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "removed");
    return s;
}

/* ---- vectors ---- */

rk_status rk_kb_vector_put(rk_kb_txn *t, uint64_t embedder, uint64_t id, const float *vec, size_t dim,
                           rk_error *err) {
    uint8_t kb[16];
    MDB_val k = pair_key(kb, id, embedder), v = {dim * sizeof(float), (void *)vec};
    int rc = mdb_put(t->txn, t->kb->dbi[DB_VECTORS], &k, &v, 0);
    return rc ? db_fail(t, rc, err, "vectors") : RK_OK;
}

rk_status rk_kb_vector_get(rk_kb_txn *t, uint64_t embedder, uint64_t id, float *out, size_t dim,
                           rk_error *err) {
    uint8_t kb[16];
    MDB_val k = pair_key(kb, id, embedder), v;
    int rc = mdb_get(t->txn, t->kb->dbi[DB_VECTORS], &k, &v);
    if (rc == MDB_NOTFOUND)
        return rk_fail(err, RK_ENOTFOUND, "%s: no vector for chunk %llu", t->kb->path,
                       (unsigned long long)id);
    if (rc) return db_fail(t, rc, err, "vectors");
    if (v.mv_size != dim * sizeof(float))
        return rk_fail(err, RK_EFORMAT, "%s: vector of chunk %llu has %zu bytes, expected %zu", t->kb->path,
                       (unsigned long long)id, v.mv_size, dim * sizeof(float));
    memcpy(out, v.mv_data, v.mv_size);
    return RK_OK;
}

rk_status rk_kb_vector_foreach(rk_kb_txn *t,
                               rk_status (*fn)(uint64_t embedder, uint64_t id, size_t dim, void *ctx,
                                               rk_error *err),
                               void *ctx, rk_error *err) {
    MDB_cursor *c;
    int rc = mdb_cursor_open(t->txn, t->kb->dbi[DB_VECTORS], &c);
    if (rc) return db_fail(t, rc, err, "vectors");
    MDB_val k, v;
    rk_status s = RK_OK;
    for (int op = MDB_FIRST; !s && !(rc = mdb_cursor_get(c, &k, &v, op)); op = MDB_NEXT) {
        if (k.mv_size != 16) {
            s = rk_fail(err, RK_EFORMAT, "%s: a vectors key of %zu bytes", t->kb->path, k.mv_size);
            break;
        }
        s = fn(pair_part(k.mv_data, 1), pair_part(k.mv_data, 0), v.mv_size / sizeof(float), ctx, err);
    }
    mdb_cursor_close(c);
    if (!s && rc != MDB_NOTFOUND) s = db_fail(t, rc, err, "vectors");
    return s;
}

rk_status rk_kb_vector_delete(rk_kb_txn *t, uint64_t embedder, uint64_t id, rk_error *err) {
    uint8_t kb[16];
    MDB_val k = pair_key(kb, id, embedder);
    return del_key(t, DB_VECTORS, &k, err);
}

/* ---- blobs ---- */

static size_t piece_key(uint8_t *buf, size_t cap, const char *name, uint32_t piece) {
    size_t n = strlen(name);
    if (n + 5 > cap) return 0;
    memcpy(buf, name, n + 1);
    buf[n + 1] = (uint8_t)(piece >> 24);
    buf[n + 2] = (uint8_t)(piece >> 16);
    buf[n + 3] = (uint8_t)(piece >> 8);
    buf[n + 4] = (uint8_t)piece;
    return n + 5;
}

static int blob_db(rk_kb_blobs b) { return b == RK_BLOB_FAISS ? DB_FAISS : DB_EMBEDDER; }

rk_status rk_kb_blob_delete(rk_kb_txn *t, rk_kb_blobs b, const char *name, rk_error *err) {
    uint8_t kb[300];
    for (uint32_t piece = 0;; piece++) {
        size_t kl = piece_key(kb, sizeof kb, name, piece);
        if (!kl) return rk_fail(err, RK_EINVAL, "blob name too long: %s", name);
        MDB_val k = {kl, kb};
        int rc = mdb_del(t->txn, t->kb->dbi[blob_db(b)], &k, NULL);
        if (rc == MDB_NOTFOUND) return RK_OK;
        if (rc) return db_fail(t, rc, err, db_names[blob_db(b)]);
    }
}

rk_status rk_kb_blob_put(rk_kb_txn *t, rk_kb_blobs b, const char *name, const void *data, size_t n,
                         rk_error *err) {
    rk_status s = rk_kb_blob_delete(t, b, name, err);
    if (s) return s;
    uint8_t kb[300];
    size_t off = 0;
    uint32_t piece = 0;
    do { /* an empty blob is one empty piece, so it reads back as present */
        size_t len = n - off < g_piece_size ? n - off : g_piece_size;
        MDB_val k = {piece_key(kb, sizeof kb, name, piece++), kb}, v = {len, NULL};
        int rc = mdb_put(t->txn, t->kb->dbi[blob_db(b)], &k, &v, MDB_RESERVE);
        if (rc) return db_fail(t, rc, err, db_names[blob_db(b)]);
        memcpy(v.mv_data, (const char *)data + off, len);
        off += len;
    } while (off < n);
    return RK_OK;
}

/* The LMDB code of reading piece i of blob name: MDB_NOTFOUND past the last. */
static int piece_get(rk_kb_txn *t, rk_kb_blobs b, const char *name, uint32_t i, MDB_val *v) {
    uint8_t kb[300];
    MDB_val k = {piece_key(kb, sizeof kb, name, i), kb};
    return mdb_get(t->txn, t->kb->dbi[blob_db(b)], &k, v);
}

rk_status rk_kb_blob_piece(rk_kb_txn *t, rk_kb_blobs b, const char *name, uint32_t i, const void **data,
                           size_t *n, rk_error *err) {
    uint8_t kb[300];
    if (!piece_key(kb, sizeof kb, name, i)) return rk_fail(err, RK_EINVAL, "blob name too long: %s", name);
    MDB_val v;
    int rc = piece_get(t, b, name, i, &v);
    if (rc == MDB_NOTFOUND && i)
        return rk_fail(err, RK_ENOTFOUND, "%s: %s \"%s\" has no piece %u", t->kb->path, db_names[blob_db(b)],
                       name, (unsigned)i);
    if (rc == MDB_NOTFOUND)
        return rk_fail(err, RK_ENOTFOUND, "%s: no %s \"%s\"", t->kb->path, db_names[blob_db(b)], name);
    if (rc) return db_fail(t, rc, err, db_names[blob_db(b)]);
    *data = v.mv_data;
    *n = v.mv_size;
    return RK_OK;
}

rk_status rk_kb_blob_get(rk_kb_txn *t, rk_kb_blobs b, const char *name, const void **data, size_t *n,
                         void **owned, rk_error *err) {
    *owned = NULL;
    rk_status s = rk_kb_blob_piece(t, b, name, 0, data, n, err);
    if (s) return s;
    /* Sizes first, so that several pieces are joined in one allocation. */
    MDB_val v;
    size_t total = *n;
    uint32_t pieces = 1;
    int rc;
    for (; !(rc = piece_get(t, b, name, pieces, &v)); pieces++)
        total += v.mv_size;
    if (rc != MDB_NOTFOUND) return db_fail(t, rc, err, db_names[blob_db(b)]);
    if (pieces == 1) return RK_OK; /* one piece: read in place */
    char *buf = malloc(total);
    if (!buf) return rk_fail(err, RK_ENOMEM, "out of memory reading \"%s\" (%zu bytes)", name, total);
    size_t at = 0;
    for (uint32_t i = 0; i < pieces; i++) {
        if ((rc = piece_get(t, b, name, i, &v))) {
            free(buf);
            return db_fail(t, rc, err, db_names[blob_db(b)]);
        }
        memcpy(buf + at, v.mv_data, v.mv_size);
        at += v.mv_size;
    }
    *data = *owned = buf;
    *n = total;
    return RK_OK;
}

/* ---- generation cache ---- */

rk_status rk_kb_cache_put(rk_kb_txn *t, rk_hash128 key, const void *data, size_t n, rk_error *err) {
    uint8_t kb[16];
    put_u64(kb, key.hi);
    put_u64(kb + 8, key.lo);
    MDB_val k = {16, kb}, v = {n, (void *)data};
    int rc = mdb_put(t->txn, t->kb->dbi[DB_GENCACHE], &k, &v, 0);
    return rc ? db_fail(t, rc, err, "gencache") : RK_OK;
}

rk_status rk_kb_cache_get(rk_kb_txn *t, rk_hash128 key, const void **data, size_t *n, rk_error *err) {
    if (t->kb->absent & 1u << DB_GENCACHE)
        return rk_fail(err, RK_ENOTFOUND, "%s: nothing cached", t->kb->path);
    uint8_t kb[16];
    put_u64(kb, key.hi);
    put_u64(kb + 8, key.lo);
    MDB_val k = {16, kb}, v;
    int rc = mdb_get(t->txn, t->kb->dbi[DB_GENCACHE], &k, &v);
    if (rc == MDB_NOTFOUND) return rk_fail(err, RK_ENOTFOUND, "%s: not cached", t->kb->path);
    if (rc) return db_fail(t, rc, err, "gencache");
    *data = v.mv_data;
    *n = v.mv_size;
    return RK_OK;
}

/* ---- stats ---- */

rk_status rk_kb_stats_get(rk_kb_txn *t, rk_kb_stats *out, rk_error *err) {
    MDB_stat st;
    int dbs[4] = {DB_DOCS, DB_CHUNKS, DB_VECTORS, DB_REMOVED};
    uint64_t counts[4];
    for (int i = 0; i < 4; i++) {
        int rc = mdb_stat(t->txn, t->kb->dbi[dbs[i]], &st);
        if (rc) return db_fail(t, rc, err, db_names[dbs[i]]);
        counts[i] = st.ms_entries;
    }
    MDB_envinfo info;
    mdb_env_info(t->kb->env, &info);
    mdb_env_stat(t->kb->env, &st);
    *out = (rk_kb_stats){.docs = counts[0],
                         .chunks = counts[1],
                         .vectors = counts[2],
                         .removed = counts[3],
                         .file_bytes = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize,
                         .map_bytes = info.me_mapsize};
    return RK_OK;
}
