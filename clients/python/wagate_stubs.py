"""Makes the generated wagate.v1 stubs importable (`from wagate.v1 import ...`).

Importing this module generates the stubs first with generate.sh when they are
missing or older than protos/, into clients/python/gen or $WAGATE_PY_STUBS.

    import wagate_stubs  # noqa: F401  (before any wagate.v1 import)
    from wagate.v1 import messaging_pb2, messaging_pb2_grpc
"""
import glob
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def stubs_dir():
    return os.environ.get("WAGATE_PY_STUBS") or os.path.join(HERE, "gen")


def _stale(out):
    marker = os.path.join(out, "wagate", "v1", "messaging_pb2_grpc.py")
    if not os.path.exists(marker):
        return True
    built = os.path.getmtime(marker)
    protos = glob.glob(os.path.join(ROOT, "protos", "wagate", "v1", "*.proto"))
    return any(os.path.getmtime(p) > built for p in protos)


def ensure():
    out = stubs_dir()
    if _stale(out):
        subprocess.run(["bash", os.path.join(HERE, "generate.sh"), out],
                       check=True)
    if out not in sys.path:
        sys.path.insert(0, out)


ensure()
