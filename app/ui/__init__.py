"""The desktop app (PySide6 + pyqtgraph): presentation only; the work happens in app core and the worker."""
