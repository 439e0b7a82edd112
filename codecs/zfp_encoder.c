/*
 * A ZFP fixed-precision encoder for 2-D float32 tiles, written for carta-trio.
 *
 * It emits the bytes of libzfp 1.0's zfp_compress with zfp_stream_set_precision(p),
 * no header, 64-bit stream words (what zfpy.compress_numpy(a, precision=p,
 * write_header=False) returns and what the frontend's zfp decodes), for the one case
 * raster tiles need: a 2-D float field, x fastest, rows at any stride.  The format
 * facts it follows:
 *
 *  - 4x4 blocks in raster order (y outer), partial blocks at the right and top edges
 *    padded as zfp pads them;
 *  - per block: the largest |value|'s frexp exponent e (clamped at -126; a block whose
 *    values are all zero is the single bit 0), else the 9 bits 2*(e+127)+1, the values
 *    times 2^(30-e) truncated to int32, zfp's lifting transform along x then along y,
 *    the coefficients in sequency order as negabinary;
 *  - bit planes 31 down to 32-p: the bits of coefficients already found significant
 *    verbatim, then group tests (1 = a one follows, then its position in unary);
 *  - bits packed LSB first into 64-bit little-endian words, the last word zero padded.
 *
 * libzfp writes the group tests one bit at a time; here a bit plane's verbatim bits and
 * group tests are one write (ones doubled through a table), a bit plane is gathered
 * with SSE2 in a handful of instructions, and the block transform runs on four lanes,
 * which makes it about three times as fast (ZFP_ENCODER_SCALAR builds the plain C path
 * that other machines use).  The result is checked byte for byte against zfpy when loaded
 * (codecs/zfp_compiled.py) and by the test suite; anything else falls back to libzfp.
 *
 * Built with -fwrapv: libzfp's int32 arithmetic wraps on overflow (inf and NaN inputs,
 * which the tile path never passes) and so must ours.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__) && !defined(ZFP_ENCODER_SCALAR)
#include <emmintrin.h>
#endif

#include "float_rows.h"

/* LSB-first writer of 64-bit words; `acc` holds `bits` (< 64) pending bits. */
typedef struct {
    uint64_t *ptr;
    uint64_t acc;
    unsigned bits;
} writer;

/* Append the low n bits of value (value < 2^n, n <= 63). */
static inline void put_bits(writer *w, uint64_t value, unsigned n)
{
    w->acc |= value << w->bits;
    w->bits += n;
    if (w->bits >= 64) {
        uint64_t word = w->acc;
        memcpy(w->ptr, &word, 8);
        w->ptr++;
        w->bits -= 64;
        /* n > w->bits here, so the shift is below 64 */
        w->acc = w->bits ? value >> (n - w->bits) : 0;
    }
}

static inline void flush(writer *w)
{
    if (w->bits) {
        uint64_t word = w->acc;
        memcpy(w->ptr, &word, 8);
        w->ptr++;
        w->acc = 0;
        w->bits = 0;
    }
}

/* Coefficients (i, j) ordered by i + j, then i*i + j*j; index i + 4 j. */
static const uint8_t SEQUENCY[16] = {0, 1, 4, 5, 2, 8, 6, 9, 3, 12, 10, 7, 13, 11, 14, 15};

/* Each byte with every one bit doubled (1 -> 11, 0 -> 0), filled in at import. */
static uint16_t DOUBLED[256];

static void fill_doubled(void)
{
    for (unsigned byte = 0; byte < 256; byte++) {
        unsigned out = 0, at = 0;
        for (unsigned i = 0; i < 8; i++) {
            if ((byte >> i) & 1u) {
                out |= 3u << at;
                at += 2;
            }
            else {
                at += 1;
            }
        }
        DOUBLED[byte] = (uint16_t)out;
    }
}

/* zfp's forward lifting step on four values at stride s. */
static inline void lift(int32_t *p, int s)
{
    int32_t x = p[0], y = p[s], z = p[2 * s], w = p[3 * s];
    x += w; x >>= 1; w -= x;
    z += y; z >>= 1; y -= z;
    x += z; x >>= 1; z -= x;
    w += y; w >>= 1; y -= w;
    w += y >> 1; y -= w >> 1;
    p[0] = x; p[s] = y; p[2 * s] = z; p[3 * s] = w;
}

/* The frexp exponent of the block's largest |value| (NaN ignored), clamped at -126;
 * -127 when every value is zero or NaN. */
static inline int exponent_of(float largest);

static inline int block_exponent(const float *block)
{
    float largest = 0.0f;
    for (int i = 0; i < 16; i++) {
        float f = fabsf(block[i]);
        if (largest < f)
            largest = f;
    }
    return exponent_of(largest);
}

/* 2^k as a float, +inf above the float range (k >= -126 here). */
static inline float power_of_two(int k)
{
    if (k > 127)
        return INFINITY;
    uint32_t bits = (uint32_t)(k + 127) << 23;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* The block's frexp exponent (see block_exponent) from its largest |value|. */
static inline int exponent_of(float largest)
{
    if (!(largest > 0.0f))
        return -127;
    uint32_t bits;
    memcpy(&bits, &largest, 4);
    unsigned biased = bits >> 23;
    if (biased == 0)
        return -126;
    if (biased == 255) {
        int e;
        frexpf(largest, &e);
        return e;
    }
    return (int)biased - 126;
}

#if defined(__SSE2__) && !defined(ZFP_ENCODER_SCALAR)
#define TRANSPOSE(a, b, c, d)                                      \
    do {                                                           \
        __m128i t0_ = _mm_unpacklo_epi32(a, b), t1_ = _mm_unpacklo_epi32(c, d); \
        __m128i t2_ = _mm_unpackhi_epi32(a, b), t3_ = _mm_unpackhi_epi32(c, d); \
        a = _mm_unpacklo_epi64(t0_, t1_);                          \
        b = _mm_unpackhi_epi64(t0_, t1_);                          \
        c = _mm_unpacklo_epi64(t2_, t3_);                          \
        d = _mm_unpackhi_epi64(t2_, t3_);                          \
    } while (0)

/* lift() on four lanes at once */
#define LIFT(x, y, z, w)                                                                         \
    do {                                                                                         \
        x = _mm_add_epi32(x, w); x = _mm_srai_epi32(x, 1); w = _mm_sub_epi32(w, x);              \
        z = _mm_add_epi32(z, y); z = _mm_srai_epi32(z, 1); y = _mm_sub_epi32(y, z);              \
        x = _mm_add_epi32(x, z); x = _mm_srai_epi32(x, 1); z = _mm_sub_epi32(z, x);              \
        w = _mm_add_epi32(w, y); w = _mm_srai_epi32(w, 1); y = _mm_sub_epi32(y, w);              \
        w = _mm_add_epi32(w, _mm_srai_epi32(y, 1)); y = _mm_sub_epi32(y, _mm_srai_epi32(w, 1)); \
    } while (0)

/* The block's exponent, and (unless the block is all zero) its coefficients in
 * sequency order as negabinary; rows at p, p + stride, ... */
static inline int block_coefficients(const float *p, Py_ssize_t stride, uint32_t *u)
{
    __m128 r0 = _mm_loadu_ps(p), r1 = _mm_loadu_ps(p + stride);
    __m128 r2 = _mm_loadu_ps(p + 2 * stride), r3 = _mm_loadu_ps(p + 3 * stride);
    const __m128 magnitude = _mm_castsi128_ps(_mm_set1_epi32(0x7fffffff));
    __m128 a0 = _mm_and_ps(r0, magnitude), a1 = _mm_and_ps(r1, magnitude);
    __m128 a2 = _mm_and_ps(r2, magnitude), a3 = _mm_and_ps(r3, magnitude);
    /* NaN is never the largest (zfp compares with <): make it 0 first */
    a0 = _mm_and_ps(a0, _mm_cmpord_ps(a0, a0));
    a1 = _mm_and_ps(a1, _mm_cmpord_ps(a1, a1));
    a2 = _mm_and_ps(a2, _mm_cmpord_ps(a2, a2));
    a3 = _mm_and_ps(a3, _mm_cmpord_ps(a3, a3));
    __m128 m = _mm_max_ps(_mm_max_ps(a0, a1), _mm_max_ps(a2, a3));
    m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(1, 0, 3, 2)));
    m = _mm_max_ps(m, _mm_shuffle_ps(m, m, _MM_SHUFFLE(2, 3, 0, 1)));
    int emax = exponent_of(_mm_cvtss_f32(m));
    if (emax == -127)
        return emax;
    __m128 scale = _mm_set1_ps(power_of_two(30 - emax));
    __m128i q0 = _mm_cvttps_epi32(_mm_mul_ps(r0, scale)), q1 = _mm_cvttps_epi32(_mm_mul_ps(r1, scale));
    __m128i q2 = _mm_cvttps_epi32(_mm_mul_ps(r2, scale)), q3 = _mm_cvttps_epi32(_mm_mul_ps(r3, scale));
    TRANSPOSE(q0, q1, q2, q3); /* now columns: lifting along x works on all rows at once */
    LIFT(q0, q1, q2, q3);
    TRANSPOSE(q0, q1, q2, q3); /* rows again: along y */
    LIFT(q0, q1, q2, q3);
    const __m128i mask = _mm_set1_epi32((int)0xaaaaaaaau);
    int32_t q[16];
    _mm_storeu_si128((__m128i *)(q + 0), _mm_xor_si128(_mm_add_epi32(q0, mask), mask));
    _mm_storeu_si128((__m128i *)(q + 4), _mm_xor_si128(_mm_add_epi32(q1, mask), mask));
    _mm_storeu_si128((__m128i *)(q + 8), _mm_xor_si128(_mm_add_epi32(q2, mask), mask));
    _mm_storeu_si128((__m128i *)(q + 12), _mm_xor_si128(_mm_add_epi32(q3, mask), mask));
    for (int i = 0; i < 16; i++)
        u[i] = (uint32_t)q[SEQUENCY[i]];
    return emax;
}
#else
static inline int block_coefficients(const float *p, Py_ssize_t stride, uint32_t *u)
{
    float block[16];
    for (int y = 0; y < 4; y++)
        memcpy(block + 4 * y, p + y * stride, 16);
    int emax = block_exponent(block);
    if (emax == -127)
        return emax;
    float scale = power_of_two(30 - emax);
    int32_t q[16];
    for (int i = 0; i < 16; i++)
        q[i] = (int32_t)(scale * block[i]);
    for (int y = 0; y < 4; y++)
        lift(q + 4 * y, 1);
    for (int x = 0; x < 4; x++)
        lift(q + x, 4);
    for (int i = 0; i < 16; i++)
        u[i] = ((uint32_t)q[SEQUENCY[i]] + 0xaaaaaaaau) ^ 0xaaaaaaaau;
    return emax;
}
#endif

/* Encode the 4x4 block whose rows start at p, p + stride, ... */
static void encode_block(writer *w, const float *p, Py_ssize_t stride, unsigned precision)
{
    uint32_t u[16];
    int emax = block_coefficients(p, stride, u);
    unsigned biased = (unsigned)(emax + 127);
    if (!biased) {
        put_bits(w, 0, 1);
        return;
    }
    put_bits(w, 2 * biased + 1, 9);

    unsigned kmin = precision < 32 ? 32 - precision : 0;
    unsigned n = 0; /* coefficients found significant so far */
#if defined(__SSE2__) && !defined(ZFP_ENCODER_SCALAR)
    __m128i v0 = _mm_loadu_si128((const __m128i *)(u + 0));
    __m128i v1 = _mm_loadu_si128((const __m128i *)(u + 4));
    __m128i v2 = _mm_loadu_si128((const __m128i *)(u + 8));
    __m128i v3 = _mm_loadu_si128((const __m128i *)(u + 12));
#endif
    for (int k = 31; k >= (int)kmin; k--) {
        uint32_t plane;
#if defined(__SSE2__) && !defined(ZFP_ENCODER_SCALAR)
        /* bit k sits in the sign bit after k's turn; saturating packs keep signs */
        __m128i low = _mm_packs_epi32(v0, v1), high = _mm_packs_epi32(v2, v3);
        plane = (uint32_t)_mm_movemask_epi8(_mm_packs_epi16(low, high));
        v0 = _mm_slli_epi32(v0, 1);
        v1 = _mm_slli_epi32(v1, 1);
        v2 = _mm_slli_epi32(v2, 1);
        v3 = _mm_slli_epi32(v3, 1);
#else
        plane = 0;
        for (int i = 0; i < 16; i++)
            plane |= ((u[i] >> k) & 1u) << i;
#endif
        /* the first n bits go verbatim; the group tests code the remaining m */
        unsigned m = 16 - n;
        uint64_t value = plane & ((1u << n) - 1u);
        unsigned length = n;
        if (m) {
            uint32_t rest = plane >> n;
            if (!rest) {
                length += 1; /* a negative group test: a 0 */
            }
            else {
                /* a 1, then each bit of the rest with an extra 1 after each one (the
                 * next positive group test); after the last one a 0, or, when the last
                 * one is the last coefficient, neither it nor its extra bit */
                unsigned last = 31u - (unsigned)__builtin_clz(rest);
                unsigned low = rest & 0xffu;
                uint64_t doubled = DOUBLED[low] | ((uint64_t)DOUBLED[rest >> 8] << (8 + __builtin_popcount(low)));
                unsigned bits = last + 1 + (unsigned)__builtin_popcount(rest);
                if (last < m - 1)
                    doubled &= ~(1ull << (bits - 1));
                else
                    bits -= 2;
                doubled &= (1ull << bits) - 1;
                value |= (1u | (doubled << 1)) << n;
                length += bits + 1;
                n += last + 1;
            }
        }
        put_bits(w, value, length);
    }
}

/* Copy the partial block (nx or ny below 4) at origin into `block`, padded as zfp pads
 * it: rows first, then columns. */
static void gather_partial(float *block, const float *origin, Py_ssize_t row_stride, unsigned nx, unsigned ny)
{
    for (unsigned y = 0; y < ny; y++) {
        float *row = block + 4 * y;
        memcpy(row, origin + (Py_ssize_t)y * row_stride, 4 * nx);
        switch (nx) {
        case 1: row[1] = row[0]; /* FALLTHROUGH */
        case 2: row[2] = row[1]; /* FALLTHROUGH */
        case 3: row[3] = row[0]; /* FALLTHROUGH */
        default: break;
        }
    }
    for (unsigned x = 0; x < 4; x++) {
        float *col = block + x;
        switch (ny) {
        case 1: col[4] = col[0]; /* FALLTHROUGH */
        case 2: col[8] = col[4]; /* FALLTHROUGH */
        case 3: col[12] = col[0]; /* FALLTHROUGH */
        default: break;
        }
    }
}

/* Upper bound of the stream's bytes: per block 9 exponent bits and at most 32 bits per
 * plane, plus one (16 verbatim or group-test bits and 16 position bits), in words. */
static size_t capacity(Py_ssize_t width, Py_ssize_t height, unsigned precision)
{
    size_t blocks = (size_t)((width + 3) / 4) * (size_t)((height + 3) / 4);
    size_t planes = precision < 32 ? precision : 32;
    size_t bits = blocks * (9 + 33 * planes) + 64;
    return (bits + 63) / 64 * 8;
}

static size_t encode_field(uint64_t *out, const float *data, Py_ssize_t width, Py_ssize_t height,
                           Py_ssize_t row_stride, unsigned precision)
{
    writer w = {out, 0, 0};
    float block[16];
    for (Py_ssize_t y = 0; y < height; y += 4) {
        unsigned ny = height - y < 4 ? (unsigned)(height - y) : 4;
        for (Py_ssize_t x = 0; x < width; x += 4) {
            unsigned nx = width - x < 4 ? (unsigned)(width - x) : 4;
            const float *origin = data + y * row_stride + x;
            if (nx == 4 && ny == 4) {
                encode_block(&w, origin, row_stride, precision);
            }
            else {
                gather_partial(block, origin, row_stride, nx, ny);
                encode_block(&w, block, 4, precision);
            }
        }
    }
    flush(&w);
    return (size_t)(w.ptr - out) * 8;
}

PyDoc_STRVAR(compress_doc,
"compress(field, precision) -> bytes\n\n"
"The header-less ZFP fixed-precision stream of a 2-D float32 buffer whose rows are\n"
"contiguous (x fastest, any row stride), as libzfp 1.0 writes it.  The GIL is\n"
"released while it encodes.");

static PyObject *compress(PyObject *module, PyObject *args)
{
    (void)module;
    PyObject *source;
    int precision;
    if (!PyArg_ParseTuple(args, "Oi:compress", &source, &precision))
        return NULL;
    if (precision < 1 || precision > 64) {
        PyErr_Format(PyExc_ValueError, "zfp precision %d is outside 1..64", precision);
        return NULL;
    }
    Py_buffer view;
    if (get_float_rows(source, &view) < 0)
        return NULL;
    PyObject *result = NULL;
    Py_ssize_t height = view.shape[0], width = view.shape[1], row_stride = view.strides[0] / 4;
    size_t size = capacity(width, height, (unsigned)precision);
    uint64_t *out = malloc(size);
    if (out == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    size_t used;
    Py_BEGIN_ALLOW_THREADS
    used = encode_field(out, (const float *)view.buf, width, height, row_stride, (unsigned)precision);
    Py_END_ALLOW_THREADS
    result = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)used);
    free(out);
done:
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"compress", compress, METH_VARARGS, compress_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_zfp_encoder",
    "ZFP fixed-precision encoding of 2-D float32 tiles (see codecs/zfp_compiled.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__zfp_encoder(void)
{
    fill_doubled();
    return PyModule_Create(&module_def);
}
