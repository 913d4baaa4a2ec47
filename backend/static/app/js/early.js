// The home screen's data, asked for while the rest of the page is still downloading. index.html runs this
// small module before js/main.js: on a slow phone connection the page's files take about a second, and the
// answers arrive meanwhile instead of after them (bench/page_load.py). main.js takes each answer once
// (``takeEarly``); anything not taken, or failed, is simply asked for again.
import { api, loadSession } from "./api.js";

const early = {};
const home = location.hash === "" || location.hash === "#" || location.hash === "#/" || location.hash === "#/home";
if (home && navigator.onLine !== false) {
  // /me first: "Show my code" waits for it, the catalogue only explains the scores (on HTTP/1.1 the two
  // queue behind the page's modules for a free connection, in the order asked)
  if (loadSession()) early.me = api("/api/v1/me");
  early.catalogue = api("/api/v1/catalogue", { auth: false });
  for (const p of Object.values(early)) p.catch(() => {});  // a failure is handled by asking again
}

// Opening a code (the tab was left on it, or a bookmark): the QR library starts loading now, beside main.js,
// instead of after it; offline, from the service worker, that is most of the wait for the code
// (bench/pp2_browser.py). The home screen does not pay for it.
if (/^#\/code\//.test(location.hash)) {
  early.qr = import("./qr.js");
  early.qr.catch(() => {});
}

export function takeEarly(name) {
  const p = early[name];
  delete early[name];
  return p || null;
}
