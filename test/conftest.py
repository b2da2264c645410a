"""Every test session compiles into a compile cache of its own (never the user's), so runs are
independent of each other and of what a developer compiled before; every Quartet pass is
followed by the dialect verifier; and CPU builds fill their temporaries and outputs with poison
(NaN bytes), so a read before any write shows in the results (the emulator always does)."""

import os
import shutil
import tempfile

_CACHE = tempfile.mkdtemp(prefix="quartet-test-cache-")
os.environ["QUARTET_CACHE_DIR"] = _CACHE
os.environ["QUARTET_VERIFY_EACH_PASS"] = "1"  # the dialect verifier after every Quartet pass
os.environ["QUARTET_POISON"] = "1"  # CPU builds start temporaries and outputs as poison


def pytest_unconfigure(config):
    shutil.rmtree(_CACHE, ignore_errors=True)
