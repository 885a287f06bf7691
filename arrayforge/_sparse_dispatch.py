"""Sparse arguments to the namespace's functions: one table, consulted at their entry.

A namespace function (``xp.sum``, ``xp.multiply``, ``xp.abs``, ``xp.matmul``, ...) checks
its arguments with ``type(x) is Array`` first, as it always did; only an argument that is
not an Array is tested with :func:`is_sparse`, so the dense hot paths cost what they cost
before.  A sparse argument is handed to :func:`call`, which looks the function's name up in
:data:`HANDLERS`, filled by ``arrayforge.sparse`` when it is imported.  A function without a
handler raises a TypeError naming ``todense()``: a sparse array is never densified silently.
"""

SPARSE = ()          # the sparse base class (a 1-tuple), set by arrayforge.sparse at import
HANDLERS: dict = {}  # namespace function name -> handler taking the function's arguments


def register_type(cls):
    """Make ``cls`` (and its subclasses) the sparse arrays the namespace dispatches."""
    global SPARSE
    SPARSE = (cls,)


def handles(*names):
    """Decorator: the handler of the namespace functions ``names`` for sparse arguments."""
    def deco(fn):
        for name in names:
            HANDLERS[name] = fn
        return fn
    return deco


def is_sparse(x):
    return isinstance(x, SPARSE)


def any_sparse(x1, x2):
    return isinstance(x1, SPARSE) or isinstance(x2, SPARSE)


def unsupported(name, x):
    """The TypeError for a function given ``x`` that is not an Array (naming todense() for
    a sparse array): raised from the functions' error paths, so it costs nothing otherwise."""
    if isinstance(x, SPARSE):
        return TypeError(f"{name} does not accept sparse arrays; densify explicitly with .todense() "
                         f"(never done silently)")
    return TypeError(f"{name} expects an arrayforge array, got {type(x).__name__}")


def call(name, *args, **kwargs):
    """Run the sparse handler of the namespace function ``name``."""
    handler = HANDLERS.get(name)
    if handler is None:
        raise TypeError(f"{name} does not accept sparse arrays; densify explicitly with .todense() "
                        f"(never done silently)")
    return handler(name, *args, **kwargs)
