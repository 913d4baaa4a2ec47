// The home screen's data, asked for while the rest of the page is still downloading. index.html runs this
// small module before js/main.js: on a slow phone connection the page's files take about a second, and the
// answers arrive meanwhile instead of after them (bench/page_load.py). main.js takes each answer once
// (``takeEarly``); anything not taken, or failed, is simply asked for again.
import { api, loadSession } from "./api.js";

const early = {};
const home = location.hash === "" || location.hash === "#" || location.hash === "#/" || location.hash === "#/home";
if (home && navigator.onLine !== false) {
  early.catalogue = api("/api/v1/catalogue", { auth: false });
  if (loadSession()) early.me = api("/api/v1/me");
  for (const p of Object.values(early)) p.catch(() => {});  // a failure is handled by asking again
}

export function takeEarly(name) {
  const p = early[name];
  delete early[name];
  return p || null;
}
