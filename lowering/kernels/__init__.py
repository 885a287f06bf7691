"""Hand-written kernels that are not loop nests (contractions; later spmv, conv, sort, scan)."""
