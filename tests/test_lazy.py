"""lazy_import: a module named at the top of the app's modules is imported only when first used."""

import subprocess
import sys

CHECK = """
import sys
from workbench.lazy import lazy_import
m = lazy_import("json.tool")
assert "json.tool" not in sys.modules, "imported before use"
assert callable(m.main)
assert "json.tool" in sys.modules, "not imported on use"
"""


def test_lazy_import_waits_for_first_attribute():
    r = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_lazy_import_unknown_attribute_is_attribute_error():
    from workbench.lazy import lazy_import

    try:
        lazy_import("json").no_such_thing
    except AttributeError as e:
        assert "no_such_thing" in str(e)
    else:
        raise AssertionError("no AttributeError")
