"""nn_bundle.py — writes named tensors to the small binary "tensor bundle" the C parity tests
read (tests/nn/bundle.c): magic b"PDTB1\\n", then per tensor: u32 name length, name, u32 dtype
(0 = f32, 1 = i32, 2 = u8), u32 ndim, ndim x i64 shape, raw little-endian data."""
import struct

import numpy as np

_DTYPES = {np.dtype(np.float32): 0, np.dtype(np.int32): 1, np.dtype(np.uint8): 2}


class Bundle:
    def __init__(self):
        self.items = []

    def add(self, name, value):
        """value: a torch tensor or numpy array; floats are stored as f32, ints as i32."""
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        a = np.asarray(value)
        if a.dtype.kind == "f":
            a = a.astype(np.float32)
        elif a.dtype == np.bool_ or a.dtype == np.uint8:
            a = a.astype(np.uint8)
        else:
            a = a.astype(np.int32)
        if a.ndim == 0:
            a = a.reshape(1)
        self.items.append((name, np.ascontiguousarray(a)))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(b"PDTB1\n")
            for name, a in self.items:
                nb = name.encode()
                f.write(struct.pack("<I", len(nb)))
                f.write(nb)
                f.write(struct.pack("<II", _DTYPES[a.dtype], a.ndim))
                f.write(struct.pack("<%dq" % a.ndim, *a.shape))
                f.write(a.astype(a.dtype.newbyteorder("<")).tobytes())
