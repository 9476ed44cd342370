"""The impact report benchmark under the name issue 10 gives it; the work is in bench/impact.py (same options)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from impact import main  # noqa: E402 - after the path set-up, so it runs as `python bench/report.py`

if __name__ == "__main__":
    main()
