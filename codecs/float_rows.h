/*
 * The one kind of buffer the tile extensions read: a non-empty 2-D float32 array whose
 * rows are contiguous (x fastest) at any row stride that is a whole number of floats,
 * such as a tile's window of an image plane.  Shared by zfp_encoder.c and nan_blocks.c.
 */

#ifndef CARTA_TRIO_FLOAT_ROWS_H
#define CARTA_TRIO_FLOAT_ROWS_H

#include <Python.h>
#include <string.h>

/* Get `source`'s buffer into `view`; 0, or -1 with ValueError (nothing held) if it is not
 * such an array. On 0 the caller releases `view`. */
static int get_float_rows(PyObject *source, Py_buffer *view)
{
    if (PyObject_GetBuffer(source, view, PyBUF_STRIDES | PyBUF_FORMAT) < 0)
        return -1;
    if (view->ndim != 2 || view->itemsize != 4 || view->format == NULL || strcmp(view->format, "f") != 0 ||
        view->strides[1] != 4 || view->strides[0] % 4 != 0 || view->strides[0] < 4 * view->shape[1] ||
        view->shape[0] < 1 || view->shape[1] < 1) {
        PyBuffer_Release(view);
        PyErr_SetString(PyExc_ValueError, "need a non-empty 2-D float32 buffer with contiguous rows");
        return -1;
    }
    return 0;
}

#endif
