"""Entry point of `salfom-app`."""
import sys


def main(argv=None) -> int:
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication.instance() or QApplication(sys.argv if argv is None else argv)
    label = QLabel("SalFoM Studio: the viewer is coming.")
    label.resize(480, 120)
    label.show()
    return app.exec()


if __name__ == "__main__":
    sys.exit(main())
