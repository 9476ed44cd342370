"""plugin.domain stays pure: it imports without Flask, SQLAlchemy, MSAL or any HTTP client."""

import subprocess
import sys

BLOCKED = ("flask", "flask_babel", "sqlalchemy", "msal", "httpx", "requests", "msgraph_core", "jwt", "huey")

PROBE = f"""
import importlib, pkgutil, sys
for name in {BLOCKED!r}:
    sys.modules[name] = None  # any import of it now raises ImportError
import plugin.domain as domain
imported = []
for info in pkgutil.walk_packages(domain.__path__, "plugin.domain."):
    importlib.import_module(info.name)
    imported.append(info.name)
leaked = sorted(m for m in sys.modules if m.split(".")[0] in {BLOCKED!r} and sys.modules[m] is not None)
print(len(imported), leaked)
"""


def test_domain_imports_with_frameworks_blocked():
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    count, leaked = result.stdout.split(" ", 1)
    assert leaked.strip() == "[]"
    assert int(count) >= 0
