// faiss_c_api.cpp — the part of FAISS's C API that raftkit calls, for systems
// (Debian's libfaiss-dev) that ship the C API headers but not libfaiss_c.
// Each function has exactly the signature declared in <faiss/c_api/...>; C++
// exceptions become the declared error codes, with the message kept for
// faiss_get_last_error(). CMake compiles this file only when no system
// libfaiss_c is found. Add a function here when raftkit starts calling it.
#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/IndexIDMap.h>
#include <faiss/IndexIVF.h>
#include <faiss/IndexPreTransform.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>
#include <faiss/invlists/InvertedLists.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>

extern "C" {
#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/IndexPreTransform_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
}

namespace {
thread_local std::string last_error;

// Runs f, mapping exceptions to the C API's codes (error_c.h).
template <class F> int guarded(F &&f) {
    try {
        f();
        return 0;
    } catch (const faiss::FaissException &e) {
        last_error = e.what();
        return FAISS_EXCEPT;
    } catch (const std::exception &e) {
        last_error = e.what();
        return STD_EXCEPT;
    } catch (...) {
        last_error = "unknown error";
        return UNKNOWN_EXCEPT;
    }
}

faiss::Index *cxx(FaissIndex *i) { return reinterpret_cast<faiss::Index *>(i); }
const faiss::Index *cxx(const FaissIndex *i) { return reinterpret_cast<const faiss::Index *>(i); }
// A subclass handle (FaissIndexIVF, ...) is the subclass pointer that its
// _cast function handed out, reinterpreted, as in FAISS's own C API.
template <class T> T *as(FaissIndex *i) { return reinterpret_cast<T *>(i); }
template <class T> const T *as(const FaissIndex *i) { return reinterpret_cast<const T *>(i); }
template <class T> FaissIndex *handle(FaissIndex *i) {
    return reinterpret_cast<FaissIndex *>(dynamic_cast<T *>(cxx(i)));
}
} // namespace

extern "C" {

const char *faiss_get_last_error() { return last_error.empty() ? nullptr : last_error.c_str(); }

int faiss_index_factory(FaissIndex **p_index, int d, const char *description, FaissMetricType metric) {
    return guarded([&] {
        *p_index = reinterpret_cast<FaissIndex *>(
            faiss::index_factory(d, description, static_cast<faiss::MetricType>(metric)));
    });
}

void faiss_Index_free(FaissIndex *obj) { delete cxx(obj); }
int faiss_Index_d(const FaissIndex *obj) { return cxx(obj)->d; }
int faiss_Index_is_trained(const FaissIndex *obj) { return cxx(obj)->is_trained; }
idx_t faiss_Index_ntotal(const FaissIndex *obj) { return cxx(obj)->ntotal; }
FaissMetricType faiss_Index_metric_type(const FaissIndex *obj) {
    return static_cast<FaissMetricType>(cxx(obj)->metric_type);
}

int faiss_Index_train(FaissIndex *index, idx_t n, const float *x) {
    return guarded([&] { cxx(index)->train(n, x); });
}

int faiss_Index_add_with_ids(FaissIndex *index, idx_t n, const float *x, const idx_t *xids) {
    return guarded([&] { cxx(index)->add_with_ids(n, x, xids); });
}

int faiss_Index_search(const FaissIndex *index, idx_t n, const float *x, idx_t k, float *distances,
                       idx_t *labels) {
    return guarded([&] { cxx(index)->search(n, x, k, distances, labels); });
}

int faiss_Index_reset(FaissIndex *index) {
    return guarded([&] { cxx(index)->reset(); });
}

int faiss_Index_remove_ids(FaissIndex *index, const FaissIDSelector *sel, size_t *n_removed) {
    return guarded([&] {
        size_t n = cxx(index)->remove_ids(*reinterpret_cast<const faiss::IDSelector *>(sel));
        if (n_removed) *n_removed = n;
    });
}

int faiss_IDSelectorBatch_new(FaissIDSelectorBatch **p_sel, size_t n, const idx_t *indices) {
    return guarded([&] {
        *p_sel = reinterpret_cast<FaissIDSelectorBatch *>(
            static_cast<faiss::IDSelector *>(new faiss::IDSelectorBatch(n, indices)));
    });
}

void faiss_IDSelector_free(FaissIDSelector *obj) { delete reinterpret_cast<faiss::IDSelector *>(obj); }

int faiss_ParameterSpace_new(FaissParameterSpace **space) {
    return guarded([&] { *space = reinterpret_cast<FaissParameterSpace *>(new faiss::ParameterSpace()); });
}

void faiss_ParameterSpace_free(FaissParameterSpace *obj) {
    delete reinterpret_cast<faiss::ParameterSpace *>(obj);
}

int faiss_ParameterSpace_set_index_parameter(const FaissParameterSpace *space, FaissIndex *index,
                                             const char *name, double value) {
    return guarded([&] {
        reinterpret_cast<const faiss::ParameterSpace *>(space)->set_index_parameter(cxx(index), name, value);
    });
}

int faiss_IndexIDMap_new(FaissIndexIDMap **p_index, FaissIndex *index) {
    return guarded(
        [&] { *p_index = reinterpret_cast<FaissIndexIDMap *>(new faiss::IndexIDMap(cxx(index))); });
}

void faiss_IndexIDMap_set_own_fields(FaissIndexIDMap *obj, int own_fields) {
    as<faiss::IndexIDMap>(obj)->own_fields = own_fields != 0;
}

FaissIndexIDMap *faiss_IndexIDMap_cast(FaissIndex *index) { return handle<faiss::IndexIDMap>(index); }

void faiss_IndexIDMap_id_map(FaissIndexIDMap *index, idx_t **p_id_map, size_t *p_size) {
    auto *map = as<faiss::IndexIDMap>(index);
    *p_id_map = reinterpret_cast<idx_t *>(map->id_map.data());
    *p_size = map->id_map.size();
}

FaissIndexPreTransform *faiss_IndexPreTransform_cast(FaissIndex *index) {
    return handle<faiss::IndexPreTransform>(index);
}

FaissIndex *faiss_IndexPreTransform_index(const FaissIndexPreTransform *obj) {
    return reinterpret_cast<FaissIndex *>(as<faiss::IndexPreTransform>(obj)->index);
}

FaissIndexIVF *faiss_IndexIVF_cast(FaissIndex *index) { return handle<faiss::IndexIVF>(index); }

size_t faiss_IndexIVF_nlist(const FaissIndexIVF *obj) { return as<faiss::IndexIVF>(obj)->nlist; }

size_t faiss_IndexIVF_get_list_size(const FaissIndexIVF *index, size_t list_no) {
    return as<faiss::IndexIVF>(index)->get_list_size(list_no);
}

void faiss_IndexIVF_invlists_get_ids(const FaissIndexIVF *index, size_t list_no, idx_t *invlist) {
    const faiss::InvertedLists *lists = as<faiss::IndexIVF>(index)->invlists;
    // ScopedIds releases what on-disk lists hand out.
    faiss::InvertedLists::ScopedIds ids(lists, list_no);
    std::memcpy(invlist, ids.get(), lists->list_size(list_no) * sizeof *invlist);
}

int faiss_IndexIVF_merge_from(FaissIndexIVF *index, FaissIndexIVF *other, idx_t add_id) {
    return guarded([&] { as<faiss::IndexIVF>(index)->merge_from(*as<faiss::IndexIVF>(other), add_id); });
}

int faiss_write_index(const FaissIndex *idx, FILE *f) {
    return guarded([&] { faiss::write_index(cxx(idx), f); });
}

int faiss_read_index(FILE *f, int io_flags, FaissIndex **p_out) {
    return guarded([&] { *p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(f, io_flags)); });
}

} // extern "C"
