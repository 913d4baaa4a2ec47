"""A seeded set of degraded 1280x720 camera frames, each holding one Perkpass QR code on a phone screen.

Used by ``bench/scan.py`` (the per-condition reader comparison) and by the kiosk's decoder tests. Every frame
is generated in code from a seed, so a run is reproducible on any machine and nothing is downloaded.

Conditions (what a desk camera sees when a citizen holds up a phone):

* ``clean``         - a sharp code, 3-5 px per module, slightly rotated (the control row);
* ``inverted``      - dark mode: light modules on a dark screen;
* ``glare``         - a saturated reflection spot (a ceiling lamp) over part of the code;
* ``occlusion``     - a fingertip over part of the code (sometimes over a finder pattern);
* ``blur``          - out of focus (Gaussian) or moving (motion blur);
* ``tilt``          - the phone tilted 25-45 degrees towards or away from the camera, any rotation;
* ``low contrast``  - a dimmed screen in a bright room: module grey levels 25-45 apart, sensor noise;
* ``moire``         - the screen's pixel grid beating against the camera's (interference stripes);
* ``small modules`` - the phone held far away: 1.5-2.2 px per module.

Half the codes are real ``PP1`` credentials (~430 characters, QR version 10-11 at level M), half are ``PP2``
texts of ~600 digits (QR version 11-12 at level M), both segmented as the issuer renders them.
"""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass

import cv2
import numpy as np

W, H = 1280, 720
CONDITIONS = ("clean", "inverted", "glare", "occlusion", "blur", "tilt", "low contrast", "moire", "small modules")


@dataclass
class Frame:
    condition: str
    text: str          # what the code says: a reader "decodes" the frame when it returns exactly this text
    image: np.ndarray  # 1280x720 BGR, uint8
    version: int       # QR version of the code


def code_matrix(text: str) -> tuple[np.ndarray, int]:
    """Module matrix (True = dark) with a 4-module quiet zone, segmented like the issuer's renderer."""
    import qrcode
    import qrcode.util
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=4)
    prefix, body = text[:3], text[3:]
    if prefix[:2] == "PP" and body.isdigit():
        qr.add_data(qrcode.util.QRData(prefix.encode(), mode=qrcode.util.MODE_ALPHA_NUM, check_data=False))
        qr.add_data(qrcode.util.QRData(body.encode(), mode=qrcode.util.MODE_NUMBER, check_data=False))
    else:
        qr.add_data(text)
    qr.make(fit=True)
    return np.array(qr.get_matrix(), dtype=bool), int(qr.version)


def sample_texts(n: int, rng: np.random.Generator, now: float | None = None) -> list[str]:
    """``n`` code texts: real PP1 credentials and ~600-digit PP2 texts, alternating."""
    from partner_sdk.testing import TestIssuer
    issuer = TestIssuer(issuer="perkpass.bench", seed=b"scan-frames")
    now = 1_750_000_000 if now is None else now    # fixed: the same texts (and frames) on every run
    out = []
    for i in range(n):
        if i % 2 == 0:
            # a code id of its own (the issuer would draw a random one; the generator is left as it was): the same frames on
            # every run, so two versions of the camera path can be compared frame for frame
            jti = base64.urlsafe_b64encode(hashlib.sha256(f"scan-frames-{now}-{i}".encode()).digest()[:16]).rstrip(b"=").decode()
            out.append(issuer.credential("library", ["BAILU-LIB-NODEPOSIT"], now=now, citizen=f"c{i}", jti=jti).qr_text)
        else:
            out.append("PP2" + "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(590, 612)))))
    return out


def scene(rng: np.random.Generator) -> np.ndarray:
    """A desk under office light: smooth gradients, a few objects, a textured surface."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    a, b = rng.uniform(60, 140), rng.uniform(40, 110)
    base = 110 + 50 * np.sin(x / a + rng.uniform(0, 6)) + 35 * np.cos(y / b + rng.uniform(0, 6))
    img = np.dstack([base * rng.uniform(0.8, 1.0), base, base * rng.uniform(1.0, 1.15)])
    img = img.clip(0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(4, 9))):
        c = tuple(int(v) for v in rng.integers(20, 230, 3))
        p1 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        p2 = (int(rng.integers(0, W)), int(rng.integers(0, H)))
        if rng.random() < 0.5:
            cv2.rectangle(img, p1, p2, c, -1)
        else:
            cv2.circle(img, p1, int(rng.integers(20, 120)), c, -1)
    return img


def _quad(cx: float, cy: float, size: float, angle: float, tilt_x: float = 0.0, tilt_y: float = 0.0,
          f: float = 1400.0) -> np.ndarray:
    """Corners of a square of side ``size`` centred on (cx, cy), rotated in-plane and tilted in 3-D."""
    h = size / 2
    pts = np.array([[-h, -h, 0], [h, -h, 0], [h, h, 0], [-h, h, 0]], np.float64)
    ca, sa = np.cos(angle), np.sin(angle)
    rz = np.array([[ca, -sa, 0], [sa, ca, 0], [0, 0, 1]])
    cx_, sx_ = np.cos(tilt_x), np.sin(tilt_x)
    rx = np.array([[1, 0, 0], [0, cx_, -sx_], [0, sx_, cx_]])
    cy_, sy_ = np.cos(tilt_y), np.sin(tilt_y)
    ry = np.array([[cy_, 0, sy_], [0, 1, 0], [-sy_, 0, cy_]])
    p = pts @ rz.T @ rx.T @ ry.T
    z = f + p[:, 2]
    return np.stack([cx + f * p[:, 0] / z, cy + f * p[:, 1] / z], axis=1).astype(np.float32)


def render(frame: np.ndarray, matrix: np.ndarray, quad: np.ndarray, dark: int, light: int,
           phone_margin: float = 0.10) -> np.ndarray:
    """Draw a phone (dark body, screen of colour ``light``) showing the code, warped onto ``quad``.

    Returns the mask of the screen area (for effects that belong to the screen: glare, moire).
    """
    k = 8                                                        # source pixels per module
    src = np.where(np.kron(matrix, np.ones((k, k), bool)), dark, light).astype(np.uint8)
    side = src.shape[0]
    # the phone: a body around the screen, the code filling the screen's width
    m = int(side * phone_margin)
    screen = np.full((int(side * 1.5), side), light, np.uint8)
    top = (screen.shape[0] - side) // 2
    screen[top:top + side] = src
    body = np.full((screen.shape[0] + 2 * m, side + 2 * m), 18, np.uint8)
    body[m:m + screen.shape[0], m:m + side] = screen
    # map the code square to the quad, and the rest of the phone follows
    code_src = np.array([[m, m + top], [m + side, m + top], [m + side, m + top + side], [m, m + top + side]],
                        np.float32)
    M = cv2.getPerspectiveTransform(code_src, quad)
    # anti-alias: blur the source in proportion to the downscale, so thin modules average as a lens would
    scale = np.sqrt(abs(cv2.contourArea(quad)) / float(side * side))
    sigma = max(0.0, 0.45 / max(scale, 1e-3) - 0.3)
    if sigma > 0.3:
        body = cv2.GaussianBlur(body, (0, 0), sigma)
    warped = cv2.warpPerspective(body, M, (W, H), flags=cv2.INTER_LINEAR, borderValue=0)
    mask = cv2.warpPerspective(np.full_like(body, 255), M, (W, H), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    screen_mask = np.zeros_like(body)
    screen_mask[m:m + screen.shape[0], m:m + side] = 255
    smask = cv2.warpPerspective(screen_mask, M, (W, H), flags=cv2.INTER_NEAREST, borderValue=0) > 0
    frame[mask] = np.dstack([warped] * 3)[mask]
    return smask


def _noise(img: np.ndarray, rng: np.random.Generator, sd: float) -> np.ndarray:
    return np.clip(img.astype(np.float32) + rng.normal(0, sd, img.shape).astype(np.float32), 0, 255).astype(np.uint8)


def make_frame(condition: str, text: str, rng: np.random.Generator) -> Frame:
    matrix, version = code_matrix(text)
    n = matrix.shape[0]
    img = scene(rng)
    module = rng.uniform(3.0, 5.0)
    angle = rng.uniform(-0.25, 0.25)
    tilt_x = tilt_y = 0.0
    dark, light = 10, 245
    if condition == "small modules":
        module = rng.uniform(1.3, 1.9)
    elif condition == "tilt":
        angle = rng.uniform(0, 2 * np.pi)
        t = np.deg2rad(rng.uniform(35, 55)) * rng.choice([-1, 1])
        if rng.random() < 0.5:
            tilt_x = t
        else:
            tilt_y = t
        module = rng.uniform(3.5, 5.0)
    elif condition == "inverted":
        dark, light = 235, 22    # light modules on a dark screen
    elif condition == "low contrast":
        base = rng.uniform(95, 150)
        gap = rng.uniform(14, 30)
        dark, light = int(base), int(base + gap)
    elif condition == "blur":
        module = rng.uniform(3.5, 5.5)
    size = n * module
    cx = W / 2 + rng.uniform(-0.25, 0.25) * (W - size)
    cy = H / 2 + rng.uniform(-0.15, 0.15) * max(0.0, H - size)
    quad = _quad(cx, cy, size, angle, tilt_x, tilt_y)
    smask = render(img, matrix, quad, dark, light)
    qmin, qmax = quad.min(axis=0), quad.max(axis=0)
    if condition == "glare":
        # a lamp's reflection: a bright, saturated spot with a soft edge, somewhere over the code
        gx = rng.uniform(qmin[0] + 0.2 * size, qmax[0] - 0.2 * size)
        gy = rng.uniform(qmin[1] + 0.2 * size, qmax[1] - 0.2 * size)
        r = rng.uniform(0.16, 0.32) * size
        y, x = np.mgrid[0:H, 0:W].astype(np.float32)
        d2 = ((x - gx) ** 2 + ((y - gy) * rng.uniform(0.8, 1.4)) ** 2) / (r * r)
        spot = rng.uniform(190, 255) * np.exp(-d2 ** 1.5) + 30 * np.exp(-d2 / 9)
        add = np.where(smask, spot, 0).astype(np.float32)[:, :, None]
        img = np.clip(img.astype(np.float32) + add, 0, 255).astype(np.uint8)
    elif condition == "occlusion":
        # a fingertip (skin tone, shaded) pushed in from one side of the code
        side = int(rng.integers(0, 4))
        depth = rng.uniform(0.22, 0.40) * size
        along = rng.uniform(0.25, 0.75)
        c = quad.mean(axis=0)
        if side == 0:
            p = (qmin[0] + along * (qmax[0] - qmin[0]), qmin[1] + 0.5 * depth)
        elif side == 1:
            p = (qmax[0] - 0.5 * depth, qmin[1] + along * (qmax[1] - qmin[1]))
        elif side == 2:
            p = (qmin[0] + along * (qmax[0] - qmin[0]), qmax[1] - 0.5 * depth)
        else:
            p = (qmin[0] + 0.5 * depth, qmin[1] + along * (qmax[1] - qmin[1]))
        ang = np.degrees(np.arctan2(p[1] - c[1], p[0] - c[0]))
        axes = (int(rng.uniform(1.8, 2.6) * depth), int(0.55 * size * rng.uniform(0.30, 0.42)))
        skin = (int(rng.uniform(110, 160)), int(rng.uniform(140, 185)), int(rng.uniform(190, 230)))
        centre = (int(p[0] + np.cos(np.radians(ang)) * axes[0] * 0.8),
                  int(p[1] + np.sin(np.radians(ang)) * axes[0] * 0.8))
        cv2.ellipse(img, centre, axes, ang, 0, 360, skin, -1, lineType=cv2.LINE_AA)
    elif condition == "blur":
        if rng.random() < 0.5:
            img = cv2.GaussianBlur(img, (0, 0), rng.uniform(1.8, 2.8))
        else:
            length = int(rng.integers(7, 13))
            k = np.zeros((length, length), np.float32)
            k[length // 2, :] = 1.0 / length
            rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
            k = cv2.warpAffine(k, rot, (length, length))
            img = cv2.filter2D(img, -1, k / k.sum())
    elif condition == "moire":
        # the screen's sub-pixel grid, sampled by the sensor: interference stripes across the screen
        y, x = np.mgrid[0:H, 0:W].astype(np.float32)
        th = rng.uniform(0, np.pi)
        period = rng.uniform(2.1, 3.2)
        u = (x * np.cos(th) + y * np.sin(th)) * 2 * np.pi / period
        th2 = th + rng.uniform(0.05, 0.2)
        v = (x * np.cos(th2) + y * np.sin(th2)) * 2 * np.pi / (period * rng.uniform(0.96, 1.04))
        depth = rng.uniform(0.35, 0.55)
        pattern = 1.0 - depth * (0.5 + 0.25 * np.sin(u) + 0.25 * np.sin(v))
        mult = np.where(smask, pattern, 1.0).astype(np.float32)[:, :, None]
        img = np.clip(img.astype(np.float32) * mult, 0, 255).astype(np.uint8)
    sd = {"low contrast": 6.0, "small modules": 3.0}.get(condition, 4.0)
    img = _noise(img, rng, sd)
    return Frame(condition, text, img, version)


def frame_set(per_condition: int = 24, seed: int = 2024, conditions: tuple[str, ...] = CONDITIONS,
              now: float | None = None) -> list[Frame]:
    """The whole seeded set: ``per_condition`` frames for each condition (same seed, same frames)."""
    rng = np.random.default_rng(seed)
    texts = sample_texts(max(2, per_condition), rng, now=now)
    frames = []
    for condition in conditions:
        crng = np.random.default_rng([seed, CONDITIONS.index(condition)])
        for i in range(per_condition):
            frames.append(make_frame(condition, texts[i % len(texts)], crng))
    return frames


def cluttered_scene(rng: np.random.Generator) -> np.ndarray:
    """A busy counter with no Perkpass code on it: the desk of :func:`scene` plus a product barcode sticker
    (EAN-13-like bars), a printed notice (rows of small glyph blocks) and a keyboard (a grid of keys). The
    sticker and the print are dense in sharp edges, which is what the second reader's region search looks for."""
    img = scene(rng)
    # the barcode sticker: white label, 95 modules of 2-3 px, 60-90 px tall, slightly rotated
    module = int(rng.integers(2, 4))
    bars = rng.integers(0, 2, 95).astype(bool)
    bars[:3] = bars[-3:] = [True, False, True]
    strip = np.where(np.repeat(bars, module), 25, 240).astype(np.uint8)
    label = np.full((int(rng.integers(60, 90)) + 24, strip.size + 24), 240, np.uint8)
    label[12:-12, 12:-12] = strip[None, :]
    rot = cv2.getRotationMatrix2D((label.shape[1] / 2, label.shape[0] / 2), rng.uniform(-8, 8), 1.0)
    label = cv2.warpAffine(label, rot, (label.shape[1], label.shape[0]), borderValue=240)
    x, y = int(rng.integers(40, W // 2 - label.shape[1])), int(rng.integers(40, H - label.shape[0] - 40))
    img[y:y + label.shape[0], x:x + label.shape[1]] = label[:, :, None]
    # the printed notice: a sheet with rows of glyph-sized dark blocks
    sx, sy = int(rng.integers(W // 2 + 20, W - 320)), int(rng.integers(30, H - 260))
    img[sy:sy + 230, sx:sx + 300] = 235
    for row in range(12):
        gx = sx + 14
        while gx < sx + 280:
            w = int(rng.integers(4, 9))
            if rng.random() < 0.85:
                img[sy + 14 + row * 17:sy + 24 + row * 17, gx:gx + w] = int(rng.integers(20, 60))
            gx += w + int(rng.integers(2, 5))
    # the keyboard: dark body, light keys
    kx, ky = int(rng.integers(60, W - 560)), H - 150
    img[ky:ky + 140, kx:kx + 500] = 45
    for r in range(5):
        for c in range(14):
            img[ky + 8 + r * 26:ky + 30 + r * 26, kx + 8 + c * 35:kx + 38 + c * 35] = 200
    return img
