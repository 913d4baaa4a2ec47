// Build step for the citizen page (docs/citizen.md): copies the npm libraries the page uses into
// backend/static/app/vendor/ with their licences, and records versions and SHA-256 sums in
// vendor/MANIFEST.json. The page never loads anything from a CDN.
//
// The browser tests' axe-core goes to tests/browser/vendor/ the same way (a dev dependency).
//
//   cd web && npm ci && npm run build
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "backend", "static", "app", "vendor");

const MIT = (holder) => `MIT License

Copyright (c) ${holder}

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`;

// name -> [file inside the package, file name in vendor/, licence text builder]
const LIBS = {
  "qrcode-generator": {
    file: "dist/qrcode.mjs",
    as: "qrcode.mjs",
    // the package ships no LICENSE file; its source header says "Copyright (c) 2009 Kazuhiko Arase,
    // Licensed under the MIT license"
    licence: () => MIT("2009 Kazuhiko Arase"),
  },
};

// Libraries the browser tests use, never served with the page: axe-core checks every screen for
// accessibility problems (tests/browser/test_accessibility.py). It ships its own LICENSE (MPL-2.0).
const TEST_LIBS = {
  "axe-core": {
    file: "axe.min.js",
    as: "axe.min.js",
    licence: (pkgDir) => readFileSync(join(pkgDir, "LICENSE"), "utf8"),
    licences: ["MPL-2.0"],
  },
};

function vendor(libs, outDir, shown) {
  mkdirSync(outDir, { recursive: true });
  const manifest = {};
  for (const [name, lib] of Object.entries(libs)) {
    const pkgDir = join(here, "node_modules", name);
    const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
    if (!(lib.licences || ["MIT"]).includes(pkg.license)) throw new Error(`${name}: unexpected licence ${pkg.license}`);
    const src = readFileSync(join(pkgDir, lib.file));
    const banner = Buffer.from(`// ${name}@${pkg.version} (${pkg.license}) vendored by web/build.mjs from ${lib.file}; see LICENSE-${name}.txt\n`);
    const body = Buffer.concat([banner, src]);
    writeFileSync(join(outDir, lib.as), body);
    writeFileSync(join(outDir, `LICENSE-${name}.txt`), lib.licence(pkgDir));
    manifest[name] = {
      version: pkg.version,
      license: pkg.license,
      source: `npm:${name}@${pkg.version}/${lib.file}`,
      file: lib.as,
      sha256: createHash("sha256").update(body).digest("hex"),
    };
    console.log(`vendored ${name}@${pkg.version} -> ${shown}/${lib.as}`);
  }
  writeFileSync(join(outDir, "MANIFEST.json"), JSON.stringify(manifest, null, 2) + "\n");
}

vendor(LIBS, out, "backend/static/app/vendor");
vendor(TEST_LIBS, join(here, "..", "tests", "browser", "vendor"), "tests/browser/vendor");
