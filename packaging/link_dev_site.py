"""Makes the dev virtualenv's packages (pytest, torch, TF, JAX, ...) importable in the fresh
virtualenv that tests the installed wheel, without reinstalling them.

Run with the fresh env's Python: python packaging/link_dev_site.py DEV_VENV. It writes a .pth
file into the fresh env's site-packages that calls site.addsitedir(<dev site-packages>): that
folder (and the .pth files inside it) is appended to sys.path, after the fresh env's own
site-packages, so the wheel's nocopy and the fresh env's NumPy are found first.
"""

from __future__ import annotations

import sys
import sysconfig
from pathlib import Path

PTH_NAME = "zz_nocopy_dev_site.pth"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.exit(__doc__)
    dev = Path(argv[0]).resolve()
    dev_site = Path(sysconfig.get_path("purelib", vars={"base": str(dev), "platbase": str(dev)}))
    if not dev_site.is_dir():
        sys.exit(f"{dev_site} is not a folder: is {dev} a virtualenv of this Python version?")
    own_site = Path(sysconfig.get_path("purelib"))
    if own_site == dev_site:
        sys.exit("run this with the fresh virtualenv's Python, not the dev one's")
    (own_site / PTH_NAME).write_text(f"import site; site.addsitedir({str(dev_site)!r})\n")
    print(f"{own_site / PTH_NAME}: adds {dev_site}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
