/*
 * Two reductions over whole float32 planes that the cube histogram spends its time in,
 * written for carta-trio (see analysis/plane_kernels.py for the Python side):
 *
 *  - plane_stats: per plane of a C-contiguous [z, y, x] block, the count of finite
 *    values, their sum and sum of squares (float64), the sum of squared deviations
 *    from the plane's mean (a second pass over the plane) and the float32 min and max.
 *    NaN and +-Inf are left out, as the reference's BasicStats leave them out.
 *  - bin_counts: the reference's histogram rule in float32: bin = (int)((v - min) /
 *    width), v == max into the last bin, NaN, +-Inf (and, unless the caller promises
 *    every value lies within the bounds, values outside [min, max]) dropped.
 *
 * numpy does each of these in several passes over memory (a float64 copy, masks,
 * index arrays); here it is one pass (two for the deviations) with the GIL released.
 * The arithmetic that decides a bin is the same single float32 subtract and divide,
 * so the counts are identical; compiled with -ffp-contract=off so no step is fused.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(PLANE_KERNELS_SCALAR)
#include <emmintrin.h>
#define USE_SSE2 1
#else
#define USE_SSE2 0
#endif

typedef struct {
    double count, sum, sumsq, m2, min, max;
} stats;

static stats stats_of_plane(const float *p, Py_ssize_t n)
{
    double sum = 0.0, sumsq = 0.0;
    int64_t count = 0;
    float lo = INFINITY, hi = -INFINITY;
    Py_ssize_t i = 0;
#if USE_SSE2
    const __m128 magnitude = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    const __m128 largest = _mm_set1_ps(FLT_MAX);
    const __m128 plus_inf = _mm_set1_ps(INFINITY), minus_inf = _mm_set1_ps(-INFINITY);
    __m128d s0 = _mm_setzero_pd(), s1 = _mm_setzero_pd(), q0 = _mm_setzero_pd(), q1 = _mm_setzero_pd();
    __m128 vlo = plus_inf, vhi = minus_inf;
    __m128i counts = _mm_setzero_si128();
    int64_t counted = 0;
    Py_ssize_t since_flush = 0;
    for (; i + 4 <= n; i += 4) {
        __m128 v = _mm_loadu_ps(p + i);
        __m128 ok = _mm_cmple_ps(_mm_and_ps(v, magnitude), largest); /* false for NaN and Inf */
        __m128 z = _mm_and_ps(v, ok);
        __m128d a = _mm_cvtps_pd(z), b = _mm_cvtps_pd(_mm_movehl_ps(z, z));
        s0 = _mm_add_pd(s0, a);
        s1 = _mm_add_pd(s1, b);
        q0 = _mm_add_pd(q0, _mm_mul_pd(a, a));
        q1 = _mm_add_pd(q1, _mm_mul_pd(b, b));
        vlo = _mm_min_ps(vlo, _mm_or_ps(z, _mm_andnot_ps(ok, plus_inf)));
        vhi = _mm_max_ps(vhi, _mm_or_ps(z, _mm_andnot_ps(ok, minus_inf)));
        counts = _mm_sub_epi32(counts, _mm_castps_si128(ok));
        if (++since_flush == (1 << 28)) { /* int32 lanes: flush long before they overflow */
            int32_t c[4];
            _mm_storeu_si128((__m128i *)c, counts);
            counted += (int64_t)c[0] + c[1] + c[2] + c[3];
            counts = _mm_setzero_si128();
            since_flush = 0;
        }
    }
    {
        double d[2];
        int32_t c[4];
        float f[4];
        _mm_storeu_pd(d, _mm_add_pd(s0, s1));
        sum = d[0] + d[1];
        _mm_storeu_pd(d, _mm_add_pd(q0, q1));
        sumsq = d[0] + d[1];
        _mm_storeu_si128((__m128i *)c, counts);
        count = counted + c[0] + c[1] + c[2] + c[3];
        _mm_storeu_ps(f, vlo);
        for (int k = 0; k < 4; k++)
            lo = f[k] < lo ? f[k] : lo;
        _mm_storeu_ps(f, vhi);
        for (int k = 0; k < 4; k++)
            hi = f[k] > hi ? f[k] : hi;
    }
#endif
    for (; i < n; i++) {
        float v = p[i];
        if (fabsf(v) <= FLT_MAX) {
            double d = v;
            sum += d;
            sumsq += d * d;
            count++;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    stats out = {(double)count, sum, sumsq, 0.0, lo, hi};
    if (count == 0) {
        out.sum = out.sumsq = out.m2 = out.min = out.max = NAN;
        return out;
    }
    double mean = sum / (double)count, m2 = 0.0;
    i = 0;
#if USE_SSE2
    {
        const __m128d mean2 = _mm_set1_pd(mean);
        __m128d m0 = _mm_setzero_pd(), m1 = _mm_setzero_pd();
        for (; i + 4 <= n; i += 4) {
            __m128 v = _mm_loadu_ps(p + i);
            __m128 ok = _mm_cmple_ps(_mm_and_ps(v, magnitude), largest);
            __m128 z = _mm_and_ps(v, ok);
            /* 64-bit masks from the 32-bit ones: both halves of a lane */
            __m128d oka = _mm_castps_pd(_mm_unpacklo_ps(ok, ok)), okb = _mm_castps_pd(_mm_unpackhi_ps(ok, ok));
            __m128d a = _mm_and_pd(_mm_sub_pd(_mm_cvtps_pd(z), mean2), oka);
            __m128d b = _mm_and_pd(_mm_sub_pd(_mm_cvtps_pd(_mm_movehl_ps(z, z)), mean2), okb);
            m0 = _mm_add_pd(m0, _mm_mul_pd(a, a));
            m1 = _mm_add_pd(m1, _mm_mul_pd(b, b));
        }
        double d[2];
        _mm_storeu_pd(d, _mm_add_pd(m0, m1));
        m2 = d[0] + d[1];
    }
#endif
    for (; i < n; i++) {
        float v = p[i];
        if (fabsf(v) <= FLT_MAX) {
            double d = (double)v - mean;
            m2 += d * d;
        }
    }
    out.m2 = m2;
    return out;
}

/* Get the input buffer (C-contiguous) and the writable output buffer; 0, or -1 with
 * nothing held. */
static int get_in_out(PyObject *source, Py_buffer *in, PyObject *target, Py_buffer *out)
{
    if (PyObject_GetBuffer(source, in, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return -1;
    if (PyObject_GetBuffer(target, out, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(in);
        return -1;
    }
    return 0;
}

PyDoc_STRVAR(plane_stats_doc,
"plane_stats(block, planes, out) -> None\n\n"
"Per plane of a C-contiguous float32 buffer holding `planes` equal planes, write\n"
"count, sum, sum of squares, sum of squared deviations, min and max of its finite\n"
"values into rows 0..5 of `out`, a C-contiguous float64 buffer of 6 x planes.");

static PyObject *plane_stats(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *source, *target;
    Py_ssize_t planes;
    if (!PyArg_ParseTuple(args, "OnO:plane_stats", &source, &planes, &target))
        return NULL;
    Py_buffer in, out;
    if (get_in_out(source, &in, target, &out) < 0)
        return NULL;
    PyObject *result = NULL;
    if (in.itemsize != 4 || in.format == NULL || strcmp(in.format, "f") != 0 || planes < 1 ||
        (in.len / 4) % planes != 0 || out.itemsize != 8 || out.format == NULL || strcmp(out.format, "d") != 0 ||
        out.len != 6 * 8 * planes) {
        PyErr_SetString(PyExc_ValueError, "need float32 planes and a float64 6 x planes output");
        goto done;
    }
    {
        Py_ssize_t per_plane = in.len / 4 / planes;
        const float *data = (const float *)in.buf;
        double *rows = (double *)out.buf;
        Py_BEGIN_ALLOW_THREADS
        for (Py_ssize_t z = 0; z < planes; z++) {
            stats s = stats_of_plane(data + z * per_plane, per_plane);
            rows[0 * planes + z] = s.count;
            rows[1 * planes + z] = s.sum;
            rows[2 * planes + z] = s.sumsq;
            rows[3 * planes + z] = s.m2;
            rows[4 * planes + z] = s.min;
            rows[5 * planes + z] = s.max;
        }
        Py_END_ALLOW_THREADS
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out);
    PyBuffer_Release(&in);
    return result;
}

/* Bin indices of up to BATCH values, then the counting: the index computation is the
 * vectorised part, the counting a plain scatter. */
#define BATCH 2048

static void count_values(const float *p, Py_ssize_t n, float lo, float hi, float width, int32_t num_bins,
                         int within, int64_t *counts)
{
    /* counts has num_bins + 2 slots: index num_bins is v == max (clamped into the
     * last bin afterwards), num_bins + 1 is where dropped values go */
    const float dump = (float)(num_bins + 1);
    const int32_t drop = num_bins + 1;
    int32_t index[BATCH];
    for (Py_ssize_t start = 0; start < n; start += BATCH) {
        Py_ssize_t m = n - start < BATCH ? n - start : BATCH;
        const float *q = p + start;
        Py_ssize_t i = 0;
#if USE_SSE2
        const __m128 vlo = _mm_set1_ps(lo), vhi = _mm_set1_ps(hi), vwidth = _mm_set1_ps(width);
        const __m128 vdump = _mm_set1_ps(dump);
        const __m128 magnitude = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
        const __m128i vdrop = _mm_set1_epi32(drop);
        for (; i + 4 <= m; i += 4) {
            __m128 v = _mm_loadu_ps(q + i);
            __m128 t = _mm_and_ps(_mm_div_ps(_mm_sub_ps(v, vlo), vwidth), magnitude);
            __m128 keep = _mm_cmplt_ps(t, vdump); /* false for NaN and +Inf */
            if (!within)
                keep = _mm_and_ps(keep, _mm_and_ps(_mm_cmpge_ps(v, vlo), _mm_cmple_ps(v, vhi)));
            __m128i k = _mm_castps_si128(keep);
            __m128i bin = _mm_cvttps_epi32(_mm_and_ps(t, keep));
            _mm_storeu_si128((__m128i *)(index + i), _mm_or_si128(_mm_and_si128(k, bin), _mm_andnot_si128(k, vdrop)));
        }
#endif
        for (; i < m; i++) {
            float v = q[i];
            float t = fabsf((v - lo) / width);
            int keep = t < dump && (within || (v >= lo && v <= hi));
            index[i] = keep ? (int32_t)t : drop;
        }
        for (i = 0; i < m; i++)
            counts[index[i]]++;
    }
}

PyDoc_STRVAR(bin_counts_doc,
"bin_counts(values, lo, hi, width, num_bins, within, counts) -> None\n\n"
"Add the bin counts of a C-contiguous float32 buffer to `counts` (int64, num_bins + 2\n"
"slots: num_bins is v == max, num_bins + 1 the dropped values). float32 arithmetic:\n"
"bin = (int)|(v - lo) / width|; `within` promises lo <= v <= hi for finite v.");

static PyObject *bin_counts(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *source, *target;
    float lo, hi, width;
    int num_bins, within;
    if (!PyArg_ParseTuple(args, "OfffipO:bin_counts", &source, &lo, &hi, &width, &num_bins, &within, &target))
        return NULL;
    Py_buffer in, out;
    if (get_in_out(source, &in, target, &out) < 0)
        return NULL;
    PyObject *result = NULL;
    if (in.itemsize != 4 || in.format == NULL || strcmp(in.format, "f") != 0 || num_bins < 1 ||
        out.itemsize != 8 || out.format == NULL || (strcmp(out.format, "q") != 0 && strcmp(out.format, "l") != 0) ||
        out.len != 8 * ((Py_ssize_t)num_bins + 2)) {
        PyErr_SetString(PyExc_ValueError, "need float32 values and int64 counts of num_bins + 2");
        goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    count_values((const float *)in.buf, in.len / 4, lo, hi, width, num_bins, within, (int64_t *)out.buf);
    Py_END_ALLOW_THREADS
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&out);
    PyBuffer_Release(&in);
    return result;
}

static PyMethodDef methods[] = {
    {"plane_stats", plane_stats, METH_VARARGS, plane_stats_doc},
    {"bin_counts", bin_counts, METH_VARARGS, bin_counts_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_plane_kernels",
    "Plane statistics and histogram counts of float32 data (see analysis/plane_kernels.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__plane_kernels(void)
{
    return PyModule_Create(&module_def);
}
