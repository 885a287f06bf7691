"""DLPack capsules of device memory, built and read with ctypes (the CPU's come from NumPy).

Producer: ``capsule(pointer, shape, strides, dtype, device, keep, versioned, flags)`` returns a
``dltensor`` (legacy) or ``dltensor_versioned`` (DLPack >= 1.0) PyCapsule whose managed tensor
holds ``keep`` (the device buffer) in a registry until the consumer calls its deleter, or,
when nobody consumed it, until the capsule is collected (the capsule's destructor calls the
deleter then, as the DLPack Python specification asks).  The structs, shape and strides live
in that registry entry too, so the pointers the consumer reads stay valid until it releases
them.  This is what CuPy and PyTorch do in C (``DLManagedTensor.manager_ctx`` owning a
reference to the array); the deleter may be called from any thread (ctypes takes the GIL).

Consumer: ``consume(capsule)`` reads a capsule, renames it ``used_dltensor[_versioned]`` (so
its destructor no longer frees it) and returns a :class:`Tensor` whose ``release`` object
calls the producer's deleter when it is collected: the importer keeps it with the memory.
"""
from __future__ import annotations

import ctypes
import threading

import numpy as np

K_DLCPU, K_DLCUDA = 1, 2
FLAG_READ_ONLY, FLAG_IS_COPIED = 1, 2
VERSION = (1, 0)          # the DLPack version of the versioned capsules made here

LEGACY, VERSIONED = b"dltensor", b"dltensor_versioned"
_USED = {LEGACY: b"used_dltensor", VERSIONED: b"used_dltensor_versioned"}

# DLDataTypeCode: kDLInt, kDLUInt, kDLFloat, kDLComplex, kDLBool
_CODE = {"i": 0, "u": 1, "f": 2, "c": 5, "b": 6}
_KIND = {v: k for k, v in _CODE.items()}


class DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class DLTensor(ctypes.Structure):
    _fields_ = [("data", ctypes.c_void_p), ("device", DLDevice), ("ndim", ctypes.c_int32),
                ("dtype", DLDataType), ("shape", ctypes.POINTER(ctypes.c_int64)),
                ("strides", ctypes.POINTER(ctypes.c_int64)), ("byte_offset", ctypes.c_uint64)]


# void (*deleter)(DLManagedTensor[Versioned] *self): the argument as an address
DELETER = ctypes.CFUNCTYPE(None, ctypes.c_void_p)


class DLManagedTensor(ctypes.Structure):
    _fields_ = [("dl_tensor", DLTensor), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER)]


class DLPackVersion(ctypes.Structure):
    _fields_ = [("major", ctypes.c_uint32), ("minor", ctypes.c_uint32)]


class DLManagedTensorVersioned(ctypes.Structure):
    _fields_ = [("version", DLPackVersion), ("manager_ctx", ctypes.c_void_p), ("deleter", DELETER),
                ("flags", ctypes.c_uint64), ("dl_tensor", DLTensor)]


# The Python C API (PYFUNCTYPE: called with the GIL held, Python errors checked)
_api = ctypes.pythonapi
_CAPSULE_DESTRUCTOR = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
_capsule_new = ctypes.PYFUNCTYPE(ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, _CAPSULE_DESTRUCTOR)(
    ("PyCapsule_New", _api))
_is_valid_ptr = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p)(("PyCapsule_IsValid", _api))
_get_pointer_ptr = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", _api))
_is_valid = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_IsValid", _api))
_get_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_GetPointer", _api))
_set_name = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(("PyCapsule_SetName", _api))

_live = {}                # address of a managed tensor made here -> what it keeps alive
_live_lock = threading.Lock()


def _delete(address):
    """The deleter of the managed tensors made here: drop what the tensor kept alive."""
    with _live_lock:
        _live.pop(address, None)


_DELETER = DELETER(_delete)


def _capsule_destructor(capsule):
    """An unconsumed capsule (still named ``dltensor[_versioned]``) frees its tensor."""
    for name in (LEGACY, VERSIONED):
        if _is_valid_ptr(capsule, name):
            address = _get_pointer_ptr(capsule, name)
            managed = (DLManagedTensor if name == LEGACY else DLManagedTensorVersioned).from_address(address)
            if managed.deleter:
                managed.deleter(address)
            return


_DESTRUCTOR = _CAPSULE_DESTRUCTOR(_capsule_destructor)


def dl_dtype(dtype):
    dtype = np.dtype(dtype)
    return DLDataType(_CODE[dtype.kind], dtype.itemsize * 8, 1)


def capsule(pointer, shape, strides, dtype, device, keep, versioned, flags=0):
    """A DLPack capsule of the memory at ``pointer`` (an integer address on ``device``, a
    ``(device_type, device_id)`` pair) holding ``shape`` with ``strides`` (in elements) of
    ``dtype``; ``keep`` stays referenced until the consumer's deleter call."""
    ndim = len(shape)
    c_shape = (ctypes.c_int64 * max(ndim, 1))(*shape)
    c_strides = (ctypes.c_int64 * max(ndim, 1))(*strides)
    tensor = DLTensor(ctypes.c_void_p(pointer or None), DLDevice(*device), ndim, dl_dtype(dtype),
                      ctypes.cast(c_shape, ctypes.POINTER(ctypes.c_int64)),
                      ctypes.cast(c_strides, ctypes.POINTER(ctypes.c_int64)), 0)
    if versioned:
        managed = DLManagedTensorVersioned(DLPackVersion(*VERSION), None, _DELETER, flags, tensor)
    else:
        managed = DLManagedTensor(tensor, None, _DELETER)
    address = ctypes.addressof(managed)
    with _live_lock:
        _live[address] = (managed, c_shape, c_strides, keep)
    return _capsule_new(address, VERSIONED if versioned else LEGACY, _DESTRUCTOR)


class Release:
    """Calls a consumed tensor's deleter once, when collected (or by ``release()``)."""

    def __init__(self, deleter, address):
        self._deleter, self._address = deleter, address

    def release(self):
        deleter, self._deleter = self._deleter, None
        if deleter:
            deleter(self._address)

    def __del__(self):
        self.release()


class Tensor:
    """What a consumed capsule holds: ``pointer`` (byte offset applied), ``shape``,
    ``strides`` (in elements; None: C-contiguous), ``dtype``, ``device``, ``flags``,
    ``version``, and ``release`` (keep it as long as the memory is used)."""
    __slots__ = ("pointer", "shape", "strides", "dtype", "device", "flags", "version", "release")


def consume(obj):
    """Read the DLPack capsule ``obj`` and take ownership of its tensor (see the module
    docstring).  BufferError for anything else, a used capsule, or an unknown dtype."""
    name = VERSIONED if _is_valid(obj, VERSIONED) else LEGACY if _is_valid(obj, LEGACY) else None
    if name is None:
        raise BufferError("not an unconsumed DLPack capsule (dltensor or dltensor_versioned)")
    address = _get_pointer(obj, name)
    managed = (DLManagedTensorVersioned if name == VERSIONED else DLManagedTensor).from_address(address)
    t = Tensor()
    t.version = (managed.version.major, managed.version.minor) if name == VERSIONED else (0, 0)
    if t.version[0] > VERSION[0]:
        raise BufferError(f"DLPack {t.version[0]}.{t.version[1]} capsule: only major version "
                          f"{VERSION[0]} is understood")
    ten = managed.dl_tensor
    code, bits, lanes = ten.dtype.code, ten.dtype.bits, ten.dtype.lanes
    kind = _KIND.get(code)
    if kind is None or lanes != 1 or bits % 8 or (kind == "b" and bits != 8):
        raise BufferError(f"DLPack dtype (code {code}, {bits} bits, {lanes} lanes) is not supported")
    t.dtype = np.dtype(np.bool_) if kind == "b" else np.dtype(f"{kind}{bits // 8}")
    n = ten.ndim
    t.shape = tuple(ten.shape[i] for i in range(n))
    t.strides = tuple(ten.strides[i] for i in range(n)) if ten.strides else None
    t.pointer = (ten.data or 0) + ten.byte_offset
    t.device = (ten.device.device_type, ten.device.device_id)
    t.flags = managed.flags if name == VERSIONED else 0
    if _set_name(obj, _USED[name]) != 0:      # (PYFUNCTYPE raises on failure; defensive)
        raise BufferError("could not mark the DLPack capsule as used")
    deleter = managed.deleter
    t.release = Release(deleter if deleter else None, address)
    return t


def describe(obj):
    """The fields of an unconsumed capsule, without consuming it (for tests and debugging):
    ``{"name", "version", "flags", "device", "dtype": (code, bits, lanes), "shape",
    "strides", "byte_offset", "data"}``."""
    name = VERSIONED if _is_valid(obj, VERSIONED) else LEGACY if _is_valid(obj, LEGACY) else None
    if name is None:
        raise BufferError("not an unconsumed DLPack capsule")
    managed = (DLManagedTensorVersioned if name == VERSIONED else DLManagedTensor).from_address(
        _get_pointer(obj, name))
    ten = managed.dl_tensor
    n = ten.ndim
    return {"name": name.decode(), "version": (managed.version.major, managed.version.minor)
            if name == VERSIONED else None, "flags": managed.flags if name == VERSIONED else None,
            "device": (ten.device.device_type, ten.device.device_id),
            "dtype": (ten.dtype.code, ten.dtype.bits, ten.dtype.lanes),
            "shape": tuple(ten.shape[i] for i in range(n)),
            "strides": tuple(ten.strides[i] for i in range(n)) if ten.strides else None,
            "byte_offset": ten.byte_offset, "data": ten.data or 0}


def live_count():
    """How many tensors made here have not been deleted yet (tests: nothing leaks)."""
    with _live_lock:
        return len(_live)
