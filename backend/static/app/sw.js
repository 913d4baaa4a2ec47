// Service worker of the citizen page: keeps the page itself (never API answers, never codes) so that
// opening it without a network shows a clear offline state instead of the browser's error page.
// The backend serves this file with SHELL = every version-stamped file of the current deploy and BUILD =
// its version (backend/services/app_assets.py); the lists below are what the plain source has.
// * stamped files (js/main.3f2a9c1b0d.js) never change: cache first, the network only when missing;
// * the page itself ("./") network first: a fresh deploy is used when the network works; the cache is
//   only a fallback, also when the network hangs (a metro platform with one bar): after NETWORK_WAIT_MS
//   the cached page opens so the citizen's offline code (made by js/holder.js, never cached) shows at once.
// A new deploy installs a new worker (this file changed); it fetches the new stamped files and, once
// active, deletes whatever the cache holds that the new list does not name.
const CACHE = "perkpass-app-v1";
const BUILD = "source";
const NETWORK_WAIT_MS = 2500;
const SHELL = [
  "./", "css/app.css", "js/main.js", "js/i18n.js", "js/venues.js", "js/holder.js", "js/home.js", "js/code.js", "js/qr.js", "js/auth.js",
  "js/account.js", "js/ledger.js", "css/ledger.css",
  "vendor/qrcode.mjs", "icon.svg", "manifest.webmanifest",
];
const STAMPED = /\.[0-9a-f]{10}\.[a-z]+$/;
const scope = new URL("./", self.location.href);
const keep = () => new Set(SHELL.map((p) => new URL(p, scope).href));

self.addEventListener("install", (event) => {
  // stamped files come from the HTTP cache when the page already loaded them (immutable), so only what the
  // first screen did not need (the QR library, "Why is my score this?") crosses the network here
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const k of await caches.keys()) if (k !== CACHE) await caches.delete(k);
    const cache = await caches.open(CACHE);
    const wanted = keep();
    for (const req of await cache.keys()) if (!wanted.has(req.url)) await cache.delete(req);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) return;
  if (STAMPED.test(url.pathname)) {
    event.respondWith((async () => {
      const hit = await caches.match(req);
      if (hit) return hit;
      const resp = await fetch(req);
      if (resp.ok) { const copy = resp.clone(); caches.open(CACHE).then((c) => c.put(req, copy)).catch(() => {}); }
      return resp;
    })());
    return;
  }
  event.respondWith((async () => {
    try {
      const cachedNow = await caches.match(req, { ignoreSearch: true });
      const network = fetch(req);
      const resp = cachedNow
        ? await Promise.race([network, new Promise((_, no) => setTimeout(() => no(new Error("slow")), NETWORK_WAIT_MS))])
        : await network;
      if (resp.ok) {
        const copy = resp.clone();
        caches.open(CACHE).then((c) => c.put(url.pathname === "/app/" ? "./" : req, copy)).catch(() => {});
      }
      return resp;
    } catch (err) {
      const cached = (await caches.match(req, { ignoreSearch: true })) ||
        (req.mode === "navigate" ? await caches.match("./") : undefined);
      if (cached) return cached;
      throw err;
    }
  })());
});
