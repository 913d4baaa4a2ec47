// Small line icons for venue types (24x24, stroke = currentColor). Drawn for this page.
const SVG = "http://www.w3.org/2000/svg";

const PATHS = {
  "library": ["M4 5.5C6.5 4.5 9.5 4.5 12 6c2.5-1.5 5.5-1.5 8-.5V19c-2.5-1-5.5-1-8 .5-2.5-1.5-5.5-1.5-8-.5z", "M12 6v13.5"],
  "metro": ["M7 3.5h10a2 2 0 0 1 2 2V15a2.5 2.5 0 0 1-2.5 2.5h-9A2.5 2.5 0 0 1 5 15V5.5a2 2 0 0 1 2-2z", "M5 10.5h14", "M8.5 14h.01M15.5 14h.01", "M8 17.5 6 21M16 17.5l2 3.5"],
  "hospital": ["M4 4h16v16H4z", "M12 8v8M8 12h8"],
  "gov-office": ["M3 20.5h18", "M4.5 9.5 12 4l7.5 5.5", "M6 10v8M10 10v8M14 10v8M18 10v8"],
  "culture": ["M4 8a2 2 0 0 0 0 4v4h16v-4a2 2 0 0 1 0-4V4H4z", "M9.5 4v12"],
  "utility": ["M12 3c1.5 3 5 5 5 10a5 5 0 0 1-10 0c0-2.5 1.5-4 2.5-5 .3 1.7 1 2.7 2 3 .5-2.5 0-5.5.5-8z"],
  "bank": ["M3 20.5h18", "M3.5 9h17L12 4z", "M6 11.5v6M10 11.5v6M14 11.5v6M18 11.5v6"],
  "rental": ["M14.5 9.5a4.5 4.5 0 1 0-4.2 4.5", "M10.3 14H21v3h-2v2h-3v-2", "M6.5 9.5h.01"],
  "default": ["M12 3l8.5 5v8L12 21l-8.5-5V8z", "M12 8v4l3 2"],
};

export function venueIcon(audience) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "28");
  svg.setAttribute("height", "28");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", "icon");
  for (const d of PATHS[audience] || PATHS.default) {
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
