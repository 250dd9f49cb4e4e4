"""The built-in backends, one package per engine: `config.py` (`Options`) and `backend.py` (`Backend`).

Which engines exist, and everything known about them before their code is imported, is the
registry's (`engine/registry.py`); this package holds only the code behind the entries.
"""
