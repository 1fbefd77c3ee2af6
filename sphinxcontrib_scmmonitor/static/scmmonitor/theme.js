// Light or dark: the page's own mode, as its theme shows it. furo writes
// body[data-theme], pydata-sphinx-theme and sphinx-book-theme html[data-theme]
// ("light", "dark", or "auto" that follows the reader's prefers-color-scheme);
// a page without that attribute is as dark as its background: alabaster and
// sphinx-rtd-theme are always light, whatever the operating system prefers, and
// furo whose own script was blocked (a strict CSP) follows the system in its CSS
// (docs/sphinx.rst, "Light and dark").

export const MODES = ["light", "dark"];
// where the listed themes keep their mode, most specific first
export const THEME_ATTRIBUTE = "data-theme";
// what the page script writes on <html> for our stylesheet (and a site's own rules)
export const MODE_ATTRIBUTE = "data-scm-mode";

// attributes: the theme attribute's values, most specific element first (null: absent);
// osDark: whether the reader's system prefers dark; background: the page's background
// colour as the browser computed it (used only where no attribute says)
export function pageMode(attributes, osDark, background) {
  for (const raw of attributes) {
    const value = typeof raw === "string" ? raw.trim().toLowerCase() : "";
    if (value === "dark" || value === "light") {
      return value;
    }
    if (value === "auto") {
      return osDark ? "dark" : "light";
    }
  }
  const lum = luminance(background);
  return lum !== null && lum < DARK_BELOW ? "dark" : "light";
}

// A background darker than this (relative luminance, WCAG) is a dark page: the
// listed themes' dark backgrounds are below 0.02, their light ones above 0.8
const DARK_BELOW = 0.2;

// WCAG relative luminance of "rgb(r, g, b)" / "rgba(r, g, b, a)"; null: transparent
// or a form not read here
export function luminance(colour) {
  const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)(?:\s*[,/]\s*([\d.]+%?))?\s*\)$/
    .exec(String(colour || "").trim());
  if (!m) {
    return null;
  }
  const alpha = m[4] === undefined ? 1
    : (m[4].endsWith("%") ? parseFloat(m[4]) / 100 : parseFloat(m[4]));
  if (!(alpha > 0.5)) {
    return null;
  }
  const [r, g, b] = [m[1], m[2], m[3]].map((v) => {
    const c = Math.min(255, parseFloat(v)) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

// The address of a picture in one mode: its #scm-light / #scm-dark fragment set
export function pictureSrc(src, mode) {
  const base = String(src || "").replace(/#.*$/, "");
  return base ? `${base}#scm-${MODES.includes(mode) ? mode : "light"}` : "";
}

// Paper is light (scmmonitor.css prints our colours light): while the page prints, every
// picture shows its light colours, then the page's mode again. An <img>'s SVG does not
// see the print medium itself, so its #scm-<mode> fragment is what switches it.
export function printPictures(doc, printing) {
  const mode = printing ? "light" : doc.documentElement.getAttribute(MODE_ATTRIBUTE);
  doc.querySelectorAll(".scmmonitor-chart > img.scmmonitor-picture").forEach((img) => {
    const src = img.getAttribute("src");
    const want = mode ? pictureSrc(src, mode) : String(src || "").replace(/#.*$/, "");
    if (want && want !== src) {
      img.setAttribute("src", want);
    }
  });
}

// Only in a page (node --test imports this module)
if (typeof window !== "undefined" && typeof document !== "undefined" &&
    typeof window.addEventListener === "function") {
  window.addEventListener("beforeprint", () => printPictures(document, true));
  window.addEventListener("afterprint", () => printPictures(document, false));
}
