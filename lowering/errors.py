class KernelError(RuntimeError):
    """A generated kernel failed to compile or run; the message names its ops and dtypes."""
