"""The fft extension (placeholder until filled in below)."""
__all__ = []
