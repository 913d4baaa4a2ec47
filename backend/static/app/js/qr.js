// Client-side QR rendering with the vendored qrcode-generator (npm, MIT; see ../vendor/).
// A PP1 or PP2 code goes in two segments, "PP1"/"PP2" alphanumeric + digits numeric, exactly like the
// backend and the partner SDK render it, at error-correction level M.
import qrcode from "../vendor/qrcode.mjs";

const SVG = "http://www.w3.org/2000/svg";
const QUIET = 4; // modules of white border the QR standard asks for

export function makeMatrix(text) {
  const qr = qrcode(0, "M");
  const m = /^(PP[12])(\d+)$/i.exec(text);
  if (m) {
    qr.addData(m[1].toUpperCase(), "Alphanumeric");
    qr.addData(m[2], "Numeric");
  } else {
    qr.addData(text, "Byte");
  }
  qr.make();
  const n = qr.getModuleCount();
  const rows = [];
  for (let r = 0; r < n; r++) {
    const row = [];
    for (let c = 0; c < n; c++) row.push(qr.isDark(r, c));
    rows.push(row);
  }
  return { size: n, rows, version: (n - 17) / 4 };
}

// An <svg> of the code: one path, whole modules on integer coordinates, crisp at any size.
// `maxPx`: the largest side available (CSS pixels). Each module gets a whole number of *device*
// pixels, so the edges stay sharp on 2x/3x phone screens.
export function renderSvg(text, maxPx, label) {
  const { size, rows, version } = makeMatrix(text);
  const total = size + 2 * QUIET;
  const dpr = Math.max(1, Math.round((window.devicePixelRatio || 1) * 4) / 4);
  const deviceModule = Math.max(2, Math.floor((maxPx * dpr) / total));
  const px = (deviceModule * total) / dpr;
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${total} ${total}`);
  svg.setAttribute("width", String(px));
  svg.setAttribute("height", String(px));
  svg.setAttribute("shape-rendering", "crispEdges");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.setAttribute("class", "qr-svg");
  svg.dataset.version = String(version);
  const bg = document.createElementNS(SVG, "rect");
  bg.setAttribute("width", String(total));
  bg.setAttribute("height", String(total));
  bg.setAttribute("fill", "#ffffff");
  svg.appendChild(bg);
  let d = "";
  for (let r = 0; r < size; r++) {
    let c = 0;
    while (c < size) {
      if (!rows[r][c]) { c++; continue; }
      let run = 1;
      while (c + run < size && rows[r][c + run]) run++;
      d += `M${c + QUIET} ${r + QUIET}h${run}v1h-${run}z`;
      c += run;
    }
  }
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", d);
  path.setAttribute("fill", "#000000");
  svg.appendChild(path);
  return svg;
}
