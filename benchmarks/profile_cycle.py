"""Profile N x (connect + listPath('/') + close) in-process against a private Samba:

    python benchmarks/profile_cycle.py [N] [--pysmb]     (cProfile, sorted by own time)

``--pysmb`` profiles pysmb instead (run it with pysmb's interpreter, PYTHONPATH=this checkout
for tests.sambaserver only). Prints the top functions by total and by own time.
"""

import cProfile
import os
import pstats
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from tests.sambaserver import SambaServer  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 200
    if "--pysmb" in sys.argv:
        sys.path = [p for p in sys.path if p != os.path.dirname(HERE)]
    from smb.SMBConnection import SMBConnection

    srv = SambaServer("default")
    info = srv.start()
    try:
        def cycle():
            c = SMBConnection(info.user, info.password, "PROF", info.server_name, is_direct_tcp=True)
            assert c.connect(info.host, info.port, timeout=30)
            c.listPath(info.share, "/")
            c.close()

        cycle()
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(n):
            cycle()
        prof.disable()
        st = pstats.Stats(prof)
        st.sort_stats("cumulative").print_stats(45)
        st.sort_stats("tottime").print_stats(30)
    finally:
        srv.stop()


if __name__ == "__main__":
    main()
