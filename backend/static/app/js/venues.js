// The city's venue types (labels, icon, order) as the backend's registry states them (assets/venue-types.json,
// served in /api/v1/catalogue). The page names no venue type itself: a type the city adds shows with its own
// name and icon without a new page. Kept in localStorage so the first paint, and a visit without signal, use
// the names last seen; until the catalogue has been read once, a code is shown as itself.
const KEY = "perkpass.venue-types";
let types = load();

function load() {
  try {
    const list = JSON.parse(localStorage.getItem(KEY) || "[]");
    return Array.isArray(list) ? list : [];
  } catch (_) {
    return [];  // storage disabled or a corrupt entry: names come with the catalogue
  }
}

export function setVenueTypes(list) {
  if (!Array.isArray(list)) return;
  types = list;
  try { localStorage.setItem(KEY, JSON.stringify(list)); } catch (_) { /* storage disabled: memory only */ }
}

function find(code) {
  return types.find((v) => v.code === code) || null;
}

// The venue type's label in ``lang``, or null when the registry has not named it (yet).
export function venueLabel(code, lang) {
  const v = find(code);
  return v && v.label ? (v.label[lang] || v.label.en || null) : null;
}

export function venueIconPaths(code) {
  const v = find(code);
  return v && Array.isArray(v.icon) && v.icon.length ? v.icon : null;
}

// Display order: the registry's order; types it does not name come last.
export function venueRank(code) {
  const i = types.findIndex((v) => v.code === code);
  return i < 0 ? types.length : i;
}

// Small line icons (24x24, stroke = currentColor): the type's own from the registry; DEFAULT_PATHS stands in
// for a type not named yet.
const SVG = "http://www.w3.org/2000/svg";

const DEFAULT_PATHS = ["M12 3l8.5 5v8L12 21l-8.5-5V8z", "M12 8v4l3 2"];

export function venueIcon(audience) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon");
  for (const d of venueIconPaths(audience) || DEFAULT_PATHS) {
    const p = document.createElementNS(SVG, "path");
    p.setAttribute("d", d);
    p.setAttribute("fill", "none");
    p.setAttribute("stroke", "currentColor");
    p.setAttribute("stroke-width", "1.8");
    p.setAttribute("stroke-linecap", "round");
    p.setAttribute("stroke-linejoin", "round");
    svg.appendChild(p);
  }
  return svg;
}
