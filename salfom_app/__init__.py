"""salfom_app: the SalFoM Studio desktop viewer (PySide6 + pyqtgraph)."""
