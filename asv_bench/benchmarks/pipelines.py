"""The image preprocessing pipeline of EXAMPLES.md §4 on 5000 CIFAR-sized images."""
from .inputs import clean_images, np, warm, xp


class ImagePipeline:
    """reshape -> gray (mean over channels, float32) -> crop -> flatten -> standardise."""

    N = 5000

    def setup(self):
        rng = np.random.default_rng(0)
        self.data_np = rng.integers(0, 256, size=(self.N, 3072), dtype=np.uint8)
        self.data = xp.asarray(self.data_np)
        warm(self)

    def time_arrayforge(self):
        clean_images(xp, self.data).compute()

    def time_numpy(self):
        clean_images(np, self.data_np)
