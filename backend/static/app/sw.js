// Service worker of the citizen page: keeps the page itself (never API answers, never codes) so that
// opening it without a network shows a clear offline state instead of the browser's error page.
// Network first: a fresh deploy is always used when the network works; the cache is only a fallback,
// also when the network hangs (a metro platform with one bar): after NETWORK_WAIT_MS the cached page
// opens so the citizen's offline code (made by js/holder.js, never cached here) shows at once.
const CACHE = "perkpass-app-v1";
const NETWORK_WAIT_MS = 2500;
const SHELL = [
  "./", "css/app.css", "js/main.js", "js/api.js", "js/i18n.js", "js/qr.js", "js/icons.js", "js/ledger.js", "js/holder.js", "css/ledger.css",
  "vendor/qrcode.mjs", "icon.svg", "manifest.webmanifest",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== "GET" || url.origin !== self.location.origin || !url.pathname.startsWith("/app/")) return;
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
