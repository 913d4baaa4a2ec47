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
