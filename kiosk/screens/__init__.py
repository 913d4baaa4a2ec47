"""One module and one .kv file per screen; each module loads its own .kv when imported."""
from pathlib import Path

from kivy.lang import Builder

KV_DIR = Path(__file__).resolve().parent


def load_kv(name: str) -> None:
    path = str(KV_DIR / f"{name}.kv")
    Builder.unload_file(path)
    Builder.load_file(path)
