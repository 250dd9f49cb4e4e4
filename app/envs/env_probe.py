"""Probe run *inside* a candidate interpreter (as `python -c <this file's text>`): prints one JSON line.

Standard library only, and old-Python-safe syntax (no f-strings, no annotations) so that a Python 2 or
3.6 interpreter found on $PATH answers "too old" instead of a SyntaxError. Nothing heavy is imported:
package versions come from `importlib.metadata`, presence from `find_spec`, and torch's CUDA build is read
from the text of `torch/version.py`. Only with the argument `--cuda` is torch imported, to ask
`torch.cuda.is_available()`. The packages to look for come as the first argument: a JSON object
{name: [import name, [distribution names]]} (built by `app/envs/probe.py` from the engine registry).
"""
import importlib
import json
import os
import platform
import re
import sys


def dist_version(metadata, dists):
    """The version of the first installed distribution among `dists`, or None."""
    for dist in dists:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    return None


def torch_cuda_build(spec):
    """The CUDA version torch was built for ('' for a CPU build), read from torch/version.py."""
    if spec is None or not spec.submodule_search_locations:
        return None
    path = os.path.join(list(spec.submodule_search_locations)[0], "version.py")
    try:
        with open(path) as handle:
            text = handle.read()
    except OSError:
        return None
    match = re.search(r"^cuda\b[^=\n]*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return match.group(1) if match else ""


def cuda_runtime():
    """Import torch and ask it about CUDA (only when asked: importing torch takes seconds)."""
    try:
        # import_module, not an import statement: this file runs only in the probed interpreter, and the
        # app's import contracts (no torch in app/) must not count it as an import of the app.
        torch = importlib.import_module("torch")
        available = bool(torch.cuda.is_available())
        names = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())] if available else []
        return {"available": available, "version": torch.version.cuda, "devices": names, "error": None}
    except Exception as exc:  # any failure to import or query torch is the answer itself
        return {"available": False, "version": None, "devices": [], "error": type(exc).__name__ + ": " + str(exc)}


def main():
    info = {"probe": 1, "executable": sys.executable, "version": platform.python_version(),
            "implementation": platform.python_implementation(), "prefix": sys.prefix,
            "base_prefix": getattr(sys, "base_prefix", sys.prefix), "machine": platform.machine()}
    if sys.version_info < (3, 8):  # noqa: UP036 - this runs in *other* interpreters, old ones included
        info["packages"] = {}
        print(json.dumps(info))
        return
    import importlib.metadata  # 3.8+
    import importlib.util
    packages = {}
    for name, (module, dists) in json.loads(sys.argv[1]).items():
        version = dist_version(importlib.metadata, dists)
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        packages[name] = {"version": version, "importable": spec is not None}
        if name == "torch":
            info["torch_cuda_build"] = torch_cuda_build(spec)
    info["packages"] = packages
    if "--cuda" in sys.argv:
        info["cuda"] = cuda_runtime()
    print(json.dumps(info))


main()
