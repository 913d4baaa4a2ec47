"""QR rendering and decoding helpers (optional extras: ``pip install perkpass[qr]``).

Rendering puts the ``PP1`` prefix in an alphanumeric segment and the body in a numeric segment, which is
what makes a typical credential fit QR version 10-11 at error-correction level M.
"""

from __future__ import annotations

import io
import os
from typing import Any

from . import format as fmt
from .errors import ConfigurationError


def _qrcode() -> Any:
    try:
        import qrcode  # type: ignore[import-untyped]
        import qrcode.util  # type: ignore[import-untyped]
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ConfigurationError("QR rendering needs the 'qrcode' package: pip install 'perkpass[qr]'") from exc
    return qrcode


def build_qr(qr_text: str, error_correction: str = "M", border: int = 4, box_size: int = 10) -> Any:
    """A ``qrcode.QRCode`` with the optimal segments for a PP1 code (any other text: qrcode's own choice)."""
    qrcode = _qrcode()
    levels = {"L": qrcode.constants.ERROR_CORRECT_L, "M": qrcode.constants.ERROR_CORRECT_M,
              "Q": qrcode.constants.ERROR_CORRECT_Q, "H": qrcode.constants.ERROR_CORRECT_H}
    qr = qrcode.QRCode(error_correction=levels[error_correction], border=border, box_size=box_size)
    if qr_text[: len(fmt.QR_PREFIX)].upper() == fmt.QR_PREFIX and qr_text[len(fmt.QR_PREFIX):].isdigit():
        for mode, data in fmt.qr_segments(qr_text):
            m = qrcode.util.MODE_ALPHA_NUM if mode == "alphanumeric" else qrcode.util.MODE_NUMBER
            qr.add_data(qrcode.util.QRData(data.encode("ascii"), mode=m, check_data=False))
    else:
        qr.add_data(qr_text)
    qr.make(fit=True)
    return qr


def qr_png(qr_text: str, box_size: int = 10, border: int = 4) -> bytes:
    """PNG bytes of the code (needs pillow)."""
    img = build_qr(qr_text, box_size=box_size, border=border).make_image(fill_color="black", back_color="white")
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_svg(qr_text: str, box_size: int = 10, border: int = 4) -> str:
    """SVG text of the code (no pillow needed)."""
    import qrcode.image.svg  # type: ignore[import-untyped]

    img = build_qr(qr_text, box_size=box_size, border=border).make_image(image_factory=qrcode.image.svg.SvgPathImage)
    buf = io.BytesIO()
    img.save(buf)
    return buf.getvalue().decode("utf-8")


def decode_image(source: str | os.PathLike[str] | bytes | Any) -> list[str]:
    """Every QR code text found in an image (a path, PNG/JPEG bytes, a PIL image or a numpy array)."""
    try:
        import zxingcpp
    except ImportError as exc:  # pragma: no cover
        raise ConfigurationError("decoding images needs zxing-cpp: pip install 'perkpass[qr]'") from exc
    image = source
    if isinstance(source, (str, os.PathLike, bytes)):
        try:
            from PIL import Image
        except ImportError as exc:  # pragma: no cover
            raise ConfigurationError("reading image files needs pillow") from exc
        image = Image.open(io.BytesIO(source) if isinstance(source, bytes) else source)
        image.load()  # type: ignore[no-untyped-call]
    results = zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode)  # type: ignore[arg-type]
    return [r.text for r in results if r.valid]
