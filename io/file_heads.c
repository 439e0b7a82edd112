/*
 * The system calls of a content-mode file listing, for a batch of names at once,
 * written for carta-trio (see io/file_heads.py for the Python side).
 *
 * Listing a folder of images by content opens every plain file, stats it through the
 * descriptor, reads its first bytes and closes it: four system calls, each wrapped by
 * Python (argument parsing, exceptions, an int or bytes object per call) and holding the
 * GIL between them. Here a batch of names goes through those calls in C with the GIL
 * released, so a listing thread can read the next batch while Python types this one.
 *
 * Files are opened O_NONBLOCK (a FIFO or device that replaced a plain file cannot stall
 * the listing) and are never read unless fstat calls them regular.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef O_NOCTTY
#define O_NOCTTY 0
#endif
#ifndef O_CLOEXEC
#define O_CLOEXEC 0
#endif

#if defined(__APPLE__)
#define MTIM st_mtimespec
#define CTIM st_ctimespec
#else
#define MTIM st_mtim
#define CTIM st_ctim
#endif

typedef struct {
    int error; /* errno of a failed open or fstat, else 0 */
    struct stat st;
    Py_ssize_t got; /* bytes read from the start (-1: not a regular file) */
} head_result;

PyDoc_STRVAR(read_heads_doc,
"read_heads(dir_fd, names, nbytes) -> list\n\n"
"For each name (relative to the open folder dir_fd): None if it cannot be opened or\n"
"stat'ed, else (st_mode, st_size, mtime seconds, st_dev, st_ino, ctime ns, head), head\n"
"being its first nbytes bytes (fewer if shorter; empty if the read fails) or None when\n"
"it is not a regular file. The GIL is released while the files are read.");

static PyObject *read_heads(PyObject *module, PyObject *args)
{
    (void)module;
    int dir_fd;
    PyObject *names;
    Py_ssize_t nbytes;
    if (!PyArg_ParseTuple(args, "iO!n:read_heads", &dir_fd, &PyList_Type, &names, &nbytes))
        return NULL;
    if (nbytes < 0 || nbytes > (1 << 20)) {
        PyErr_SetString(PyExc_ValueError, "nbytes must be 0 .. 1 MiB");
        return NULL;
    }
    Py_ssize_t n = PyList_GET_SIZE(names);
    PyObject **encoded = PyMem_Calloc((size_t)(n ? n : 1), sizeof(PyObject *));
    head_result *results = PyMem_Calloc((size_t)(n ? n : 1), sizeof(head_result));
    char *heads = PyMem_Malloc((size_t)(n ? n : 1) * (size_t)(nbytes ? nbytes : 1));
    PyObject *out = NULL;
    if (encoded == NULL || results == NULL || heads == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        encoded[i] = PyUnicode_EncodeFSDefault(PyList_GET_ITEM(names, i)); /* TypeError for non-str */
        if (encoded[i] == NULL)
            goto done;
    }
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        head_result *r = &results[i];
        int fd = openat(dir_fd, PyBytes_AS_STRING(encoded[i]), O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) {
            r->error = errno ? errno : EIO;
            continue;
        }
        if (fstat(fd, &r->st) < 0) {
            r->error = errno ? errno : EIO;
        }
        else if (S_ISREG(r->st.st_mode)) {
            ssize_t got = nbytes ? pread(fd, heads + i * nbytes, (size_t)nbytes, 0) : 0;
            r->got = got < 0 ? 0 : got;
        }
        else {
            r->got = -1;
        }
        close(fd);
    }
    Py_END_ALLOW_THREADS
    out = PyList_New(n);
    if (out == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < n; i++) {
        head_result *r = &results[i];
        PyObject *item;
        if (r->error) {
            item = Py_NewRef(Py_None);
        }
        else {
            /* int(os.stat_result.st_mtime): seconds truncated toward zero */
            long long mtime = (long long)r->st.MTIM.tv_sec;
            if (mtime < 0 && r->st.MTIM.tv_nsec > 0)
                mtime += 1;
            long long ctime_ns = (long long)r->st.CTIM.tv_sec * 1000000000LL + r->st.CTIM.tv_nsec;
            item = Py_BuildValue(
                "(IKLKKLN)", (unsigned int)r->st.st_mode, (unsigned long long)r->st.st_size, mtime,
                (unsigned long long)r->st.st_dev, (unsigned long long)r->st.st_ino, ctime_ns,
                r->got < 0 ? Py_NewRef(Py_None) : PyBytes_FromStringAndSize(heads + i * nbytes, r->got));
            if (item == NULL) {
                Py_CLEAR(out);
                goto done;
            }
        }
        PyList_SET_ITEM(out, i, item);
    }
done:
    if (encoded != NULL) {
        for (Py_ssize_t i = 0; i < n; i++)
            Py_XDECREF(encoded[i]);
    }
    PyMem_Free(encoded);
    PyMem_Free(results);
    PyMem_Free(heads);
    return out;
}

static PyMethodDef methods[] = {
    {"read_heads", read_heads, METH_VARARGS, read_heads_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_file_heads",
    "A content-mode listing's system calls for a batch of files (see io/file_heads.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__file_heads(void)
{
    return PyModule_Create(&module_def);
}
