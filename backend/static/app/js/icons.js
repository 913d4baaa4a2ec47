// Small line icons for venue types (24x24, stroke = currentColor). Each venue type's own icon comes from the
// registry (js/venues.js, assets/venue-types.json); this one stands in for a type not named yet.
import { venueIconPaths } from "./venues.js";

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
