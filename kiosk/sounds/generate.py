"""Generate the kiosk's result sounds (small 16-bit mono WAVs) with numpy sine tones.

    python -m kiosk.sounds.generate      # writes granted.wav, refused.wav, attention.wav next to this file

Each result has a sound that can be told apart without looking, even in a noisy hall:
* granted:   two short rising notes (C6 then G6), bright and friendly;
* refused:   a falling two-part buzz (660 -> 520 Hz, then 520 Hz, odd harmonics), the loudest of the three.
  Small kiosk speakers (25-40 mm) give almost nothing below ~400 Hz, so every part of it sits in the
  500-4000 Hz band they do play and the ear is most sensitive to (the old 330 -> 220 Hz tone was nearly
  silent on them, at a noisy gate);
* attention: three quick mid-pitched beeps (A5), like a "check this" chime.
"""
from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

RATE = 22050
HERE = Path(__file__).resolve().parent


def _envelope(n: int, attack: float = 0.008, release: float = 0.04) -> np.ndarray:
    env = np.ones(n)
    a, r = int(attack * RATE), int(release * RATE)
    env[:a] = np.linspace(0, 1, a)
    env[n - r:] = np.linspace(1, 0, r)
    return env


def tone(freq: float, seconds: float, harmonics: tuple[float, ...] = (1.0,),
         slide_to: float | None = None) -> np.ndarray:
    n = int(seconds * RATE)
    f = np.linspace(freq, slide_to or freq, n)
    phase = 2 * np.pi * np.cumsum(f) / RATE
    out = sum(a * np.sin((i + 1) * phase) for i, a in enumerate(harmonics))
    return out / sum(harmonics) * _envelope(n)


def silence(seconds: float) -> np.ndarray:
    return np.zeros(int(seconds * RATE))


def write(path: Path, signal: np.ndarray, volume: float = 0.6) -> None:
    data = (np.clip(signal, -1, 1) * volume * 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(data.tobytes())


# odd harmonics (a soft square wave): a "wrong" buzz, with its energy where small speakers play
_BUZZ = (1.0, 0.0, 0.45, 0.0, 0.25)
VOLUME = {"granted": 0.6, "refused": 0.9, "attention": 0.6}

SOUNDS = {
    "granted": lambda: np.concatenate([tone(1046.5, 0.12, (1, 0.3)), silence(0.03), tone(1568.0, 0.22, (1, 0.3))]),
    "refused": lambda: np.concatenate([tone(660, 0.26, _BUZZ, slide_to=520), silence(0.05),
                                       tone(520, 0.38, _BUZZ)]),
    "attention": lambda: np.concatenate([tone(880, 0.09, (1, 0.2)), silence(0.06), tone(880, 0.09, (1, 0.2)),
                                         silence(0.06), tone(880, 0.09, (1, 0.2))]),
}


def main(out_dir: Path = HERE) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, make in SOUNDS.items():
        path = out_dir / f"{name}.wav"
        write(path, make(), volume=VOLUME[name])
        written.append(path)
    return written


if __name__ == "__main__":
    for p in main():
        print(p, p.stat().st_size, "bytes")
