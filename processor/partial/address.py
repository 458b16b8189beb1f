"""Where a buffer's bytes are in memory, through the C API's buffer protocol (CPython only).

A run's kept records are found in its bytes by the address of a value msgspec decoded as a
`msgspec.Raw`: a Raw made while decoding is a view into the input, so its address minus the
input's is the value's offset. Without this, a record's bytes take a second scan of the whole run.
`PyObject_GetBuffer` is the public way to read a buffer's address; where ctypes or the C API is
missing (another Python), `buffer_address` is None and callers scan as before.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any

__all__ = ["buffer_address"]


class _Buffer(ctypes.Structure):
    """`Py_buffer` (Include/pybuffer.h), of which only `buf` is read."""

    _fields_ = [
        ("buf", ctypes.c_void_p),
        ("obj", ctypes.c_void_p),
        ("len", ctypes.c_ssize_t),
        ("itemsize", ctypes.c_ssize_t),
        ("readonly", ctypes.c_int),
        ("ndim", ctypes.c_int),
        ("format", ctypes.c_char_p),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("suboffsets", ctypes.c_void_p),
        ("internal", ctypes.c_void_p),
    ]


def _make() -> Callable[[Any], int] | None:
    # Own function objects, not `ctypes.pythonapi.PyObject_GetBuffer` itself: its argtypes are
    # shared by everyone in the process who sets them.
    try:
        get_buffer = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.POINTER(_Buffer), ctypes.c_int)(
            ("PyObject_GetBuffer", ctypes.pythonapi)
        )
        release = ctypes.PYFUNCTYPE(None, ctypes.POINTER(_Buffer))(("PyBuffer_Release", ctypes.pythonapi))
    except (AttributeError, OSError):  # not CPython
        return None

    def buffer_address(obj: Any) -> int:
        """The address of `obj`'s first byte (it must support the buffer protocol)."""
        view = _Buffer()  # one per call: threads may ask at once
        at = ctypes.byref(view)
        get_buffer(obj, at, 0)  # raises (the error set by the object) when it has no buffer
        try:
            return view.buf or 0
        finally:
            release(at)

    return buffer_address


buffer_address = _make()
