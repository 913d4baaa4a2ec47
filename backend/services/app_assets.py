"""The citizen page's files as the browser gets them: version-stamped names, gzip, long cache lifetimes.

Built in memory from ``backend/static/app/`` when the app first serves the page (no build step, so the
served page always matches its source), rebuilt when a source file changes:

* every ``.js``/``.mjs``/``.css``/``.svg``/``.webmanifest`` file gets a stamped name, ``js/main.js`` ->
  ``js/main.3f2a9c1b0d.js``: the first 10 hex digits of the SHA-256 of its content *after* its own
  references were stamped, so a change anywhere below a module changes its name too. Stamped names are
  served ``Cache-Control: public, max-age=31536000, immutable``: a later visit asks for none of them again;
  a new deploy changes the names that changed. The plain names keep working (``no-cache``), unchanged.
* references are rewritten where they are quoted: ``import … from "./api.js"``, ``import("./qr.js")``,
  ``"../vendor/qrcode.mjs"``, ``href="css/app.css"``, and paths written from the page root such as
  ``"css/ledger.css"`` (a stylesheet a module adds). ``sw.js`` and ``index.html`` are never stamped: the
  service worker's address must stay put and ``/app/`` is the page's address.
* ``index.html`` gets ``<link rel="modulepreload">`` for every module ``js/main.js`` imports statically, so
  the browser fetches them together instead of discovering them one round trip at a time.
* ``sw.js`` gets the list of every stamped file (``SHELL``), so the service worker keeps exactly what the
  page needs to open and show a code offline, and drops what an older deploy left.
* scripts and stylesheets are minified (``rjsmin``/``rcssmin``: comments and layout whitespace go, names
  stay, so a stack trace still reads; ~30 % of the JavaScript was comments), the page's inline boot script
  too (its CSP hash is taken from the served bytes, backend/api/app_page.py). The files in the repository stay
  as written; ``minify=False`` (``PERKPASS_MINIFY=0``) serves them so for debugging. A vendored file that is
  already minified (one long line) is left as it is; license comments (``/*! … */``, a vendored file's
  leading comment block) are kept.
* each body is kept gzipped too (level 9) for clients that accept it.
"""
from __future__ import annotations

import gzip
import hashlib
import json
import posixpath
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import rcssmin
import rjsmin

STAMPED_SUFFIXES = (".js", ".mjs", ".css", ".svg", ".webmanifest")
TEXT_SUFFIXES = STAMPED_SUFFIXES + (".html", ".json", ".txt")
NEVER_STAMPED = ("sw.js", "index.html")
IMMUTABLE = "public, max-age=31536000, immutable"
# a quoted relative path ending in a known suffix: "./api.js", "../vendor/qrcode.mjs", "css/app.css"
_QUOTED = re.compile(r"""(?P<q>["'])"""
                     r"""(?P<path>(?:\.{1,2}/)*[A-Za-z0-9_][A-Za-z0-9_./-]*\.(?:m?js|css|svg|webmanifest))"""
                     r"""(?P=q)""")
_STATIC_IMPORT = re.compile(r"""^\s*import\s[^;]*?\bfrom\s*["']([^"']+)["']|^\s*import\s*["']([^"']+)["']""", re.M)
_STAMP = re.compile(r"\.[0-9a-f]{10}(?=\.[a-z]+$)")
_LEADING_LINE_COMMENTS = re.compile(r"\A(?:[ \t]*//[^\n]*\n)+")
_INLINE_SCRIPT = re.compile(r"(<script>)(.*?)(</script>)", re.S)
_INDENT = re.compile(r"\n[ \t]+")


@dataclass
class Asset:
    path: str            # the stamped path under /app/ ("js/main.3f2a9c1b0d.js"), or the plain one for index/sw
    body: bytes
    gzipped: bytes
    etag: str
    mimetype_suffix: str


@dataclass
class Build:
    version: str                                            # changes whenever any served byte changes
    stamped: dict[str, str] = field(default_factory=dict)   # plain path -> stamped path
    assets: dict[str, Asset] = field(default_factory=dict)  # served path (stamped, "index.html", "sw.js") -> asset
    signature: tuple = ()


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def _asset(path: str, body: bytes) -> Asset:
    digest = hashlib.sha256(body).hexdigest()
    return Asset(path, body, _gzip(body), f'"{digest[:20]}"', Path(path).suffix.lower())


def _already_minified(text: str) -> bool:
    """A bundler's output (vendor/pp3-holder.mjs: esbuild --minify) is one long line: nothing to gain."""
    return len(text) > 2000 and len(text) / (text.count("\n") + 1) > 500


def minify(path: str, text: str) -> str:
    """``text`` of the file at ``path`` without comments and layout whitespace. ``rjsmin`` keeps every token
    (ES module syntax, regular expressions and unnested template literals included): the test compares
    what it makes of each page file with esbuild's reading of the source."""
    if path.endswith(".css"):
        return rcssmin.cssmin(text)
    if not path.endswith((".js", ".mjs")) or _already_minified(text):
        return text
    header = ""
    if path.startswith("vendor/"):  # a vendored library's leading comment block is its copyright notice
        m = _LEADING_LINE_COMMENTS.match(text)
        header = m.group(0) if m else ""
    return header + rjsmin.jsmin(text[len(header):], keep_bang_comments=True)


def minify_html(text: str) -> str:
    """The page: its inline scripts minified, lines unindented (the page has no <pre> or <textarea>, so a
    newline still separates what the indentation did)."""
    text = _INLINE_SCRIPT.sub(lambda m: m.group(1) + rjsmin.jsmin(m.group(2)) + m.group(3), text)
    return _INDENT.sub("\n", text)


def _resolve(ref: str, owner: str) -> str:
    """The path under /app/ a quoted reference in ``owner`` names: ./ and ../ from the file's folder (module
    specifiers), anything else from the page root (document URLs such as a stylesheet a module adds)."""
    base = posixpath.dirname(owner) if ref.startswith(("./", "../")) else ""
    return posixpath.normpath(posixpath.join(base, ref))


def _with_stamp(ref: str, stamped_path: str) -> str:
    """``ref`` with its file name replaced by the stamped one, keeping how it was written."""
    return posixpath.join(posixpath.dirname(ref), posixpath.basename(stamped_path)) if "/" in ref \
        else posixpath.basename(stamped_path)


def signature(root: Path) -> tuple:
    return tuple(sorted((str(p.relative_to(root)), p.stat().st_mtime_ns, p.stat().st_size)
                        for p in root.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES))


def build(root: Path, minified: bool = True) -> Build:
    sources = {str(p.relative_to(root)).replace("\\", "/"): p.read_bytes()
               for p in sorted(root.rglob("*")) if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES
               and not any(part.startswith(".") for part in p.relative_to(root).parts)}
    out = Build(version="", signature=signature(root))

    def shrink(path: str, text: str) -> str:
        return minify(path, text) if minified else text

    stampable = {p for p in sources if p.endswith(STAMPED_SUFFIXES) and p not in NEVER_STAMPED}
    bodies: dict[str, bytes] = {}
    visiting: set[str] = set()

    def rewrite(owner: str, text: str) -> str:
        def sub(m: re.Match) -> str:
            target = _resolve(m.group("path"), owner)
            if target not in stampable or target == owner:
                return m.group(0)
            return m.group("q") + _with_stamp(m.group("path"), stamp(target)) + m.group("q")
        return _QUOTED.sub(sub, text)

    def stamp(path: str) -> str:
        if path in out.stamped:
            return out.stamped[path]
        if path in visiting:
            raise ValueError(f"reference cycle through {path}: stamped names need an acyclic graph")
        visiting.add(path)
        raw = sources[path]
        body = rewrite(path, shrink(path, raw.decode("utf-8"))).encode("utf-8") if not path.endswith(".svg") else raw
        visiting.discard(path)
        digest = hashlib.sha256(body).hexdigest()[:10]
        stem, suffix = posixpath.splitext(path)
        out.stamped[path] = f"{stem}.{digest}{suffix}"
        bodies[out.stamped[path]] = body
        return out.stamped[path]

    for path in sorted(stampable):
        stamp(path)
    for stamped, body in bodies.items():
        out.assets[stamped] = _asset(stamped, body)

    # index.html: stamped references, and every module main.js needs at start fetched at once
    if "index.html" in sources:
        html = sources["index.html"].decode("utf-8")
        html = rewrite("index.html", minify_html(html) if minified else html)
        preload = [out.stamped[p] for p in static_imports(sources, "js/main.js") if p in out.stamped]
        indent = "" if minified else "  "
        links = "".join(f'{indent}<link rel="modulepreload" href="{p}">\n' for p in preload)
        html = re.sub(r'(\s*<script type="module" src="[^"]+"></script>\n)', lambda m: m.group(1) + links, html,
                      count=1)
        out.assets["index.html"] = _asset("index.html", html.encode("utf-8"))
    out.version = hashlib.sha256("".join(sorted(out.stamped.values())).encode()
                                 + (out.assets["index.html"].etag.encode() if "index.html" in out.assets else b"")
                                 ).hexdigest()[:12]
    # sw.js: the exact list of files the page may need offline, and this build's version
    if "sw.js" in sources:
        sw = sources["sw.js"].decode("utf-8")
        shell = ["./"] + sorted(v for k, v in out.stamped.items() if not k.endswith(".txt"))
        sw = re.sub(r"const SHELL = \[[^\]]*\];", "const SHELL = " + json.dumps(shell) + ";", sw, count=1)
        sw = re.sub(r'const BUILD = "[^"]*";', f'const BUILD = "{out.version}";', sw, count=1)
        out.assets["sw.js"] = _asset("sw.js", shrink("sw.js", sw).encode("utf-8"))
    return out


def static_imports(sources: dict[str, bytes], entry: str) -> list[str]:
    """Every module ``entry`` imports statically (transitively), in discovery order, without ``entry``."""
    seen: list[str] = []
    todo = [entry]
    while todo:
        path = todo.pop(0)
        if path not in sources:
            continue
        for m in _STATIC_IMPORT.finditer(sources[path].decode("utf-8")):
            target = _resolve(m.group(1) or m.group(2), path)
            if target != entry and target not in seen and target in sources:
                seen.append(target)
                todo.append(target)
    return seen


class AssetCache:
    """One build per app; rebuilt when a source file changes (checked at most every ``recheck`` seconds)."""

    def __init__(self, root: Path, recheck: float = 2.0, minified: bool = True):
        self.root, self.recheck, self.minified = root, recheck, minified
        self._build: Build | None = None
        self._checked = 0.0
        self._lock = threading.Lock()

    def get(self, now: float) -> Build:
        with self._lock:
            if self._build is None or (now - self._checked >= self.recheck
                                       and signature(self.root) != self._build.signature):
                self._build = build(self.root, self.minified)
            if now - self._checked >= self.recheck:
                self._checked = now
            return self._build


def is_stamped(path: str) -> bool:
    return bool(_STAMP.search(path))
