/*
 * A raster tile's NaN run lengths and NaN-filled copy, written for carta-trio (see
 * codecs/raster_tiles.py, which has the same rules in numpy and says where they come
 * from: WIRE.md 2.6, the reference's GetNanEncodingsBlock).
 *
 *  - runs: row-major run lengths alternating non-NaN / NaN, starting with a (possibly
 *    empty) non-NaN run, int32; only NaN counts (+-Inf is a value);
 *  - fill: per 4x4 block from the tile origin (partial at the right and top edges), the
 *    NaNs of a block that has some other value become the float32 mean of its other
 *    values, summed x outer, y inner as the reference sums them; all-NaN blocks stay NaN.
 *
 * A tile without NaN (most tiles) costs one vectorised scan and no copy.  Compiled with
 * -ffp-contract=off: the sum and the division are plain float32 operations.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__) && !defined(NAN_BLOCKS_SCALAR)
#include <emmintrin.h>
#define USE_SSE2 1
#else
#define USE_SSE2 0
#endif

#include "float_rows.h"

/* Whether row p[0..n) holds a NaN. */
static int row_has_nan(const float *p, Py_ssize_t n)
{
    Py_ssize_t i = 0;
#if USE_SSE2
    __m128 any = _mm_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        __m128 a = _mm_loadu_ps(p + i), b = _mm_loadu_ps(p + i + 4);
        any = _mm_or_ps(any, _mm_or_ps(_mm_cmpunord_ps(a, a), _mm_cmpunord_ps(b, b)));
    }
    if (_mm_movemask_ps(any))
        return 1;
#endif
    for (; i < n; i++)
        if (isnan(p[i]))
            return 1;
    return 0;
}

/* Fill the NaNs of the block at (x0, y0) of the contiguous width-wide tile t. */
static void fill_block(float *t, Py_ssize_t width, Py_ssize_t x0, Py_ssize_t y0, Py_ssize_t nx, Py_ssize_t ny)
{
#if USE_SSE2
    if (nx == 4 && ny == 4) {
        /* most blocks of a tile with NaN have none, or only NaN: decide with four loads */
        int mask = 0;
        for (int y = 0; y < 4; y++) {
            __m128 row = _mm_loadu_ps(t + (y0 + y) * width + x0);
            mask |= _mm_movemask_ps(_mm_cmpunord_ps(row, row)) << (4 * y);
        }
        if (mask == 0 || mask == 0xffff)
            return;
    }
#endif
    float total = 0.0f;
    int valid = 0, missing = 0;
    for (Py_ssize_t x = 0; x < nx; x++) {
        for (Py_ssize_t y = 0; y < ny; y++) {
            float v = t[(y0 + y) * width + x0 + x];
            if (isnan(v)) {
                missing++;
            }
            else {
                total += v;
                valid++;
            }
        }
    }
    if (!missing || !valid)
        return;
    float mean = total / (float)valid;
    for (Py_ssize_t y = 0; y < ny; y++)
        for (Py_ssize_t x = 0; x < nx; x++)
            if (isnan(t[(y0 + y) * width + x0 + x]))
                t[(y0 + y) * width + x0 + x] = mean;
}

/* The run lengths of t[0..pixels) into run; returns how many. */
static Py_ssize_t nan_runs(const float *t, Py_ssize_t pixels, int32_t *run)
{
    Py_ssize_t count = 0, i = 0;
    int state = 0; /* 0: in a non-NaN run */
    int32_t length = 0;
#if USE_SSE2
    for (; i + 4 <= pixels; i += 4) {
        __m128 v = _mm_loadu_ps(t + i);
        int mask = _mm_movemask_ps(_mm_cmpunord_ps(v, v));
        if (mask == (state ? 0xf : 0)) {
            length += 4;
            continue;
        }
        for (int k = 0; k < 4; k++) {
            int is_nan = (mask >> k) & 1;
            if (is_nan != state) {
                run[count++] = length;
                length = 0;
                state = is_nan;
            }
            length++;
        }
    }
#endif
    for (; i < pixels; i++) {
        int is_nan = isnan(t[i]) ? 1 : 0;
        if (is_nan != state) {
            run[count++] = length;
            length = 0;
            state = is_nan;
        }
        length++;
    }
    run[count++] = length;
    return count;
}

PyDoc_STRVAR(prepare_doc,
"prepare(tile) -> (runs, filled)\n\n"
"For a 2-D float32 buffer with contiguous rows: the NaN run lengths (int32 bytes in\n"
"native order) and, when the tile has a NaN, a row-major float32 copy with NaNs filled\n"
"by their 4x4 block's mean (bytes); filled is None for a tile without NaN.");

static PyObject *prepare(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *source;
    if (!PyArg_ParseTuple(args, "O:prepare", &source))
        return NULL;
    Py_buffer view;
    if (get_float_rows(source, &view) < 0)
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t height = view.shape[0], width = view.shape[1], stride = view.strides[0] / 4;
    const float *data = (const float *)view.buf;
    Py_ssize_t first_nan_row = -1;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < height; y++) {
        if (row_has_nan(data + y * stride, width)) {
            first_nan_row = y;
            break;
        }
    }
    Py_END_ALLOW_THREADS
    if (first_nan_row < 0) {
        int32_t whole = (int32_t)(width * height);
        result = Py_BuildValue("(y#O)", (const char *)&whole, (Py_ssize_t)4, Py_None);
        PyBuffer_Release(&view);
        return result;
    }
    Py_ssize_t pixels = width * height;
    /* at most pixels + 1 runs (every pixel a run, plus the leading empty one) */
    PyObject *runs = PyBytes_FromStringAndSize(NULL, 4 * (pixels + 1));
    PyObject *filled = PyBytes_FromStringAndSize(NULL, 4 * pixels);
    if (runs == NULL || filled == NULL) {
        Py_XDECREF(runs);
        Py_XDECREF(filled);
        PyBuffer_Release(&view);
        return NULL;
    }
    int32_t *run = (int32_t *)PyBytes_AS_STRING(runs);
    float *tile = (float *)PyBytes_AS_STRING(filled);
    Py_ssize_t count = 0;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t y = 0; y < height; y++)
        memcpy(tile + y * width, data + y * stride, 4 * (size_t)width);
    count = nan_runs(tile, pixels, run);
    for (Py_ssize_t y0 = first_nan_row / 4 * 4; y0 < height; y0 += 4) {
        Py_ssize_t ny = height - y0 < 4 ? height - y0 : 4;
        int band_has_nan = 0;
        for (Py_ssize_t y = y0; y < y0 + ny && !band_has_nan; y++)
            band_has_nan = row_has_nan(tile + y * width, width);
        if (!band_has_nan)
            continue;
        for (Py_ssize_t x0 = 0; x0 < width; x0 += 4)
            fill_block(tile, width, x0, y0, width - x0 < 4 ? width - x0 : 4, ny);
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (_PyBytes_Resize(&runs, 4 * count) < 0) {
        Py_DECREF(filled);
        return NULL;
    }
    return Py_BuildValue("(NN)", runs, filled);
}

static PyMethodDef methods[] = {
    {"prepare", prepare, METH_VARARGS, prepare_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_nan_blocks", "NaN run lengths and block-mean filling of raster tiles.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__nan_blocks(void)
{
    return PyModule_Create(&module_def);
}
