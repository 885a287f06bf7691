"""Showcase: ``python -m arrayforge``.

Runs the programs users bring first (shared/EXAMPLES.md) through arrayforge, prints the
fused plan of each and times it against NumPy in the same process.
"""
import sys
import time

import numpy as np

import arrayforge as xp


def best_of(fn, repeat=5):
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def show(title, ours, theirs, plan=None, repeat=5):
    if plan is not None:
        print(f"\n{title}\n{plan}")
    else:
        print(f"\n{title}")
    t_ours, t_np = best_of(ours, repeat), best_of(theirs, repeat)
    unit, scale = ("ms", 1e3) if t_np > 1e-3 else ("us", 1e6)
    print(f"  arrayforge {t_ours * scale:9.2f} {unit}   numpy {t_np * scale:9.2f} {unit}   "
          f"speed-up {t_np / t_ours:5.2f}x")


def linear_algebra_basics():
    print("== 1. Linear algebra basics (EXAMPLES.md)")
    A = xp.reshape(xp.arange(20, dtype=xp.float32), (5, 4))
    print("sum axis=0      ", xp.sum(A, axis=0))
    print("sum axis=1      ", xp.sum(A, axis=1))
    print("sum axis=(0,1)  ", xp.sum(A, axis=(0, 1)))
    print("mean axis=0     ", xp.mean(A, axis=0))
    s = xp.sum(A, axis=1, keepdims=True)
    print("A / row sums   \n", A / s)
    x = xp.arange(4, dtype=xp.float32)
    print("sum(x * ones)   ", xp.sum(x * xp.ones(4, dtype=xp.float32)))
    print("A @ x           ", A @ x)
    print("(A @ ones(4,3)).shape", (A @ xp.ones((4, 3), dtype=xp.float32)).shape)
    print("plan of A / sum(A, axis=1, keepdims=True):")
    print(xp.explain(A / xp.sum(A, axis=1, keepdims=True)))


def broadcasting_and_tensors():
    print("\n== 2./3. Broadcasting and tensordot")
    print("(2,3)+(2,1) ->", (xp.ones((2, 3)) + xp.ones((2, 1))).shape)
    try:
        xp.ones((4, 3)) * xp.ones((3, 2))
    except ValueError as exc:
        print("(4,3)*(3,2)  -> ValueError at the recording line:", exc)
    s = xp.asarray([[[1, 2], [3, 4]]])
    t = xp.asarray([[[5, 6], [7, 8]]])
    print("s * t (Hadamard)            ", (s * t).tolist())
    print("tensordot(s, t, 0).shape    ", xp.tensordot(s, t, axes=0).shape)
    print("tensordot(s, t, ([1, 2], [1, 2]))", xp.tensordot(s, t, axes=([1, 2], [1, 2])).tolist())
    A = xp.asarray([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    print("plan of maximum(A @ A.T + 1, 0): one GEMM (A.T is a BLAS flag, not a copy), one fused epilogue")
    print(xp.explain(xp.maximum(A @ A.T + 1.0, 0.0)))


def clean_images(ns, data):
    """EXAMPLES.md section 4: (N, 3072) uint8 pixels -> standardised (N, 576) float32 crops.

    ``ns`` is ``arrayforge`` or ``numpy``: the same program runs on both.
    """
    imgs = ns.reshape(data, (data.shape[0], 3, 32, 32))
    gray = ns.mean(ns.astype(imgs, ns.float32), axis=1)
    cropped = gray[:, 4:28, 4:28]
    flat = ns.reshape(cropped, (data.shape[0], -1))
    means = ns.mean(flat, axis=1, keepdims=True)
    stds = ns.std(flat, axis=1, keepdims=True)
    adj = ns.maximum(stds, 1.0 / (flat.shape[1] ** 0.5))
    return (flat - means) / adj


def performance():
    print("\n== Fused kernels against NumPy (same process, best of 5)")
    rng = np.random.default_rng(0)
    n = 10_000_000
    A, B, C, D = (rng.random(n) for _ in range(4))
    a, b, c, d = (xp.asarray(v) for v in (A, B, C, D))

    def chain(a, b, c, d):
        return ((a * b + c) * 0.5 - d) * (a + 1.0) + (b - c) * d * 2.0 - a / (d + 1.0)

    print("warming up: compiling kernels the first time (later runs load them from the disk cache) ...",
          end=" ", flush=True)
    t = time.perf_counter()
    chain(a, b, c, d).compute()
    float(xp.sum((a - b) ** 2))
    info = xp.cache_info()
    print(f"{time.perf_counter() - t:.2f} s ({info['compiled']} compiled, {info['disk_hits']} from disk)")
    show("elementwise chain on 1e7 float64: ((a*b + c)*0.5 - d)*(a + 1.0) + (b - c)*d*2.0 - a/(d + 1.0)",
         lambda: chain(a, b, c, d).compute(), lambda: chain(A, B, C, D), xp.explain(chain(a, b, c, d)))
    show("map-reduce on 1e7 float64: sum((a - b)**2)",
         lambda: float(xp.sum((a - b) ** 2)), lambda: float(np.sum((A - B) ** 2)), xp.explain(xp.sum((a - b) ** 2)))
    X = rng.standard_normal((4096, 4096)).astype(np.float32)
    x = xp.asarray(X)

    def softmax(ns, x):
        e = ns.exp(x - ns.max(x, axis=1, keepdims=True))
        return e / ns.sum(e, axis=1, keepdims=True)

    show("row softmax on (4096, 4096) float32: exp(x - max(x, axis=1)) / sum(...); each row read once",
         lambda: softmax(xp, x).compute(), lambda: softmax(np, X), xp.explain(softmax(xp, x)))
    E = [rng.random(n) * 200 - 100 for _ in range(5)]
    e5 = [xp.asarray(v) for v in E]

    def math_chain(ns, a, b, c, d, e):
        return a * b + c * ns.sin(d) - ns.sqrt(ns.abs(e))

    show("vectorised math on 1e7 float64: a*b + c*sin(d) - sqrt(abs(e))",
         lambda: math_chain(xp, *e5).compute(), lambda: math_chain(np, *E), xp.explain(math_chain(xp, *e5)))
    Zc = rng.standard_normal(n // 4) * 3 + 1j * rng.standard_normal(n // 4) * 3
    zc = xp.asarray(Zc)
    show("complex exp on 2.5e6 complex128 (the vectorised real exp/sin/cos; special values by C99 helpers)",
         lambda: xp.exp(zc).compute(), lambda: np.exp(Zc), xp.explain(xp.exp(zc)))
    small = [rng.random(100) for _ in range(4)]
    sa = [xp.asarray(v) for v in small]
    show("small-array dispatch: float(sum(a*b + c - d*0.5)) on 100 elements (the eager tier: each op runs at once through NumPy)",
         lambda: float(xp.sum(sa[0] * sa[1] + sa[2] - sa[3] * 0.5)),
         lambda: float(np.sum(small[0] * small[1] + small[2] - small[3] * 0.5)), repeat=2000)
    M, N = (rng.random((1024, 1024), dtype=np.float32) for _ in range(2))
    bias = rng.random(1024, dtype=np.float32)
    m, nn, b = xp.asarray(M), xp.asarray(N), xp.asarray(bias)
    show("GEMM with a fused epilogue: relu(A @ B + b), 1024 float32 (BLAS GEMM, then one fused kernel)",
         lambda: xp.maximum(m @ nn + b, 0.0).compute(), lambda: np.maximum(M @ N + bias, 0.0),
         xp.explain(xp.maximum(m @ nn + b, 0.0)))
    I, J = (rng.integers(-1000, 1000, (512, 512)) for _ in range(2))
    i, j = xp.asarray(I), xp.asarray(J)
    show("integer matmul 512x512 int64 (NumPy has no BLAS for integers; ours is a tiled parallel kernel)",
         lambda: (i @ j).compute(), lambda: I @ J, xp.explain(i @ j), repeat=3)
    data_np = rng.integers(0, 256, size=(50_000, 3072), dtype=np.uint8)
    data = xp.asarray(data_np)
    got = np.asarray(clean_images(xp, data))
    expected = clean_images(np, data_np)
    print(f"\nimage pipeline (EXAMPLES.md 4) on (50000, 3072) uint8: max |diff| vs NumPy "
          f"{np.max(np.abs(got - expected)):.2e}")
    show("image pipeline", lambda: clean_images(xp, data).compute(), lambda: clean_images(np, data_np),
         xp.explain(clean_images(xp, data)),
         repeat=3)


def signal_examples(timing=True):
    """EXAMPLES.md section 5, signal style: convolve2d's three modes, and edge detection."""
    import scipy.signal as ss
    from arrayforge import signal

    print("\n== 5. Convolution, signal style (arrayforge.signal, SciPy's semantics)")
    A = xp.reshape(xp.arange(1.0, 10.0), (3, 3))
    K = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    print("A =", A.tolist(), "  K =", K.tolist())
    for mode in ("full", "same", "valid"):
        out = signal.convolve2d(A, K, mode=mode)
        same = np.array_equal(np.asarray(out), ss.convolve2d(np.asarray(A), np.asarray(K), mode=mode))
        print(f"convolve2d(A, K, mode={mode!r:7}) {out.shape}: {out.tolist()}  (= scipy: {same})")
    rng = np.random.default_rng(0)
    image_np = rng.integers(0, 256, (512, 512)).astype(np.float64)
    edge_np = np.array([[-1.0, -1.0, -1.0], [-1.0, 8.0, -1.0], [-1.0, -1.0, -1.0]])
    image, edge = xp.asarray(image_np), xp.asarray(edge_np)

    def edges(boundary="symm"):
        return xp.abs(signal.convolve2d(image, edge, mode="same", boundary=boundary))

    got = np.asarray(edges())
    ref = np.abs(ss.convolve2d(image_np, edge_np, mode="same", boundary="symm"))
    print("edge detection on 512x512 float64, K = [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]], boundary='symm': "
          f"equals scipy.signal.convolve2d: {np.allclose(got, ref)}")
    print("plan of abs(convolve2d(image, K, mode='same', boundary='symm')): one correlate kernel, one fused epilogue")
    print(xp.explain(edges()))
    if timing:
        t_ours = best_of(lambda: edges().compute())
        t_scipy = best_of(lambda: np.abs(ss.convolve2d(image_np, edge_np, mode="same", boundary="symm")))
        print(f"  arrayforge {t_ours * 1e3:9.2f} ms   scipy {t_scipy * 1e3:9.2f} ms   speed-up {t_scipy / t_ours:5.2f}x")


def small_cnn_layer():
    """EXAMPLES.md 5: conv2d(x, w, padding=1) on (128, 3, 28, 28) with (16, 3, 3, 3), bias, relu,
    2x2 max pooling, flatten and a linear layer, against the same layer in NumPy (im2col by
    sliding windows + one GEMM)."""
    from numpy.lib.stride_tricks import sliding_window_view
    from arrayforge import nn
    print("\n== 5. A small CNN layer (EXAMPLES.md 5): conv2d 3->16, 3x3, padding 1, relu, max_pool2d 2, linear")
    rng = np.random.default_rng(5)
    X = rng.standard_normal((128, 3, 28, 28), dtype=np.float32)
    W = rng.standard_normal((16, 3, 3, 3), dtype=np.float32) * 0.3
    B = rng.standard_normal(16, dtype=np.float32) * 0.1
    L = rng.standard_normal((10, 16 * 14 * 14), dtype=np.float32) * 0.01
    LB = np.zeros(10, np.float32)
    x, w, b, lw, lb = (xp.asarray(a) for a in (X, W, B, L, LB))

    def ours():
        h = nn.max_pool2d(nn.relu(nn.conv2d(x, w, b, padding=1)), 2)
        return nn.linear(xp.reshape(h, (h.shape[0], -1)), lw, lb)

    def numpy_layer():
        cols = sliding_window_view(np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1))), (3, 3), axis=(2, 3))
        cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(128, 28 * 28, 27)       # im2col
        h = np.maximum(cols @ W.reshape(16, 27).T + B, 0).transpose(0, 2, 1).reshape(128, 16, 28, 28)
        h = h.reshape(128, 16, 14, 2, 14, 2).max(axis=(3, 5))
        return h.reshape(128, -1) @ L.T + LB

    y = ours()
    print(f"output {y.shape}; max |ours - numpy| = {np.max(np.abs(np.asarray(y) - numpy_layer())):.2e}")
    show("the layer: conv (direct kernel, 3 input channels), then bias + relu + max pool fused, then linear (BLAS)",
         lambda: ours().compute(), numpy_layer, xp.explain(ours()))
    z = xp.asarray(rng.standard_normal((16, 8, 4, 4), dtype=np.float32))
    g = nn.conv_transpose2d(z, xp.asarray(rng.standard_normal((8, 4, 4, 4), dtype=np.float32)), stride=2, padding=1)
    print(f"DCGAN step: conv_transpose2d (16, 8, 4, 4), stride 2 -> {g.shape} (H and W doubled)")


def sparse_matrices(timings=True):
    """EXAMPLES.md section 6: the textbook example, the plan of ``A @ x * 2 + y`` and
    products against SciPy (and against the dense product) in the same process."""
    import scipy.sparse
    from arrayforge import sparse
    print("\n== 6. Sparse matrices (arrayforge.sparse; SciPy 1.17 semantics)")
    row = np.array([0, 0, 1, 2, 2, 2])
    col = np.array([0, 2, 2, 0, 1, 2])
    data = np.array([1, 2, 3, 4, 5, 6])
    m = sparse.csr_array((data, (row, col)), shape=(3, col.max() + 1))
    print("m = sparse.csr_array((data, (row, col)), shape=(3, max_col + 1))")
    print("shape, dtype, ndim, nnz, format:", m.shape, m.dtype, m.ndim, m.nnz, m.format)
    print("m.toarray()\n", np.asarray(m.toarray()))
    ref = scipy.sparse.csr_array((data, (row, col)), shape=(3, col.max() + 1)).toarray()
    print("equals SciPy's:", np.array_equal(np.asarray(m.toarray()), ref))
    print("conversions:", [f.format for f in (m.tocoo(), m.tocsc(), m.tobsr(blocksize=(3, 3)), m.todia(),
                                              m.todok(), m.tolil())])
    lil = sparse.lil_array((1000, 1000))
    lil[3, 4] = 1.0
    print("lil[3, 4] = 1.0; lil.tocsr().nnz =", lil.tocsr().nnz)
    try:
        xp.exp(m)
    except ValueError as exc:
        print("xp.exp(m) ->", exc)
    n = 200_000 if timings else 2_000
    A = sparse.random(n, n, density=10 / n, format="csr", rng=0)
    S = A.to_scipy()
    rng = np.random.default_rng(0)
    x_np, y_np = rng.standard_normal(n), rng.standard_normal(n)
    x, y = xp.asarray(x_np), xp.asarray(y_np)
    print(f"\nplan of A @ x * 2 + y ({n}x{n} CSR, {A.nnz} stored): one SpMV kernel + one fused epilogue")
    print(xp.explain(A @ x * 2 + y))
    if not timings:
        return
    t_ours = best_of(lambda: (A @ x * 2 + y).compute())
    t_sp = best_of(lambda: S @ x_np * 2 + y_np)
    print(f"  arrayforge {t_ours * 1e3:9.2f} ms   scipy {t_sp * 1e3:9.2f} ms   speed-up {t_sp / t_ours:5.2f}x")
    X_np = rng.standard_normal((n, 16))
    X = xp.asarray(X_np)
    t_ours, t_sp = best_of(lambda: (A @ X).compute(), 3), best_of(lambda: S @ X_np, 3)
    print(f"SpMM A @ X (16 columns): arrayforge {t_ours * 1e3:8.2f} ms   scipy {t_sp * 1e3:8.2f} ms   "
          f"speed-up {t_sp / t_ours:5.2f}x")
    B = sparse.random(4000, 4000, density=0.01, format="csr", rng=1)
    D_np = B.to_scipy().toarray()
    v_np = rng.standard_normal(4000)
    v = xp.asarray(v_np)
    t_ours, t_dense = best_of(lambda: (B @ v).compute()), best_of(lambda: D_np @ v_np)
    print(f"4000x4000 at 1% density: CSR @ x {t_ours * 1e6:8.1f} us   dense (NumPy) @ x {t_dense * 1e6:8.1f} us"
          f"   {t_dense / t_ours:5.1f}x (the dense matrix is never built by the sparse path)")


def main():
    print(f"arrayforge {xp.__version__} (Array API {xp.__array_api_version__}); NumPy {np.__version__}")
    print("Dense arrays, sparse arrays (arrayforge.sparse), convolution (arrayforge.nn, arrayforge.signal); "
          "CUDA devices: README, 'CUDA'.")
    quick = "--quick" in sys.argv
    linear_algebra_basics()
    broadcasting_and_tensors()
    signal_examples(timing=not quick)
    if not quick:
        small_cnn_layer()
    sparse_matrices(timings=not quick)
    if not quick:
        performance()
    print("\ncache:", xp.cache_info())


if __name__ == "__main__":
    main()
