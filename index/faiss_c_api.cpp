// faiss_c_api.cpp — the part of FAISS's C API that raftkit calls, for systems
// (Debian's libfaiss-dev) that ship the C API headers but not libfaiss_c.
// Each function has exactly the signature declared in <faiss/c_api/...>; C++
// exceptions become the declared error codes, with the message kept for
// faiss_get_last_error(). CMake compiles this file only when no system
// libfaiss_c is found. Add a function here when raftkit starts calling it.
#include <faiss/Index.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_factory.h>
#include <faiss/index_io.h>

#include <cstdio>
#include <exception>
#include <stdexcept>
#include <string>

extern "C" {
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
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

int faiss_write_index(const FaissIndex *idx, FILE *f) {
    return guarded([&] { faiss::write_index(cxx(idx), f); });
}

int faiss_read_index(FILE *f, int io_flags, FaissIndex **p_out) {
    return guarded([&] { *p_out = reinterpret_cast<FaissIndex *>(faiss::read_index(f, io_flags)); });
}

} // extern "C"
