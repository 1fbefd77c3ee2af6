// Light or dark: the page's own mode, as its theme shows it. furo writes
// body[data-theme], pydata-sphinx-theme and sphinx-book-theme html[data-theme]
// ("light", "dark", or "auto" that follows the reader's prefers-color-scheme);
// a theme without that attribute (alabaster, sphinx-rtd-theme) is always light,
// whatever the operating system prefers (docs/sphinx.rst, "Light and dark").

export const MODES = ["light", "dark"];
// where the listed themes keep their mode, most specific first
export const THEME_ATTRIBUTE = "data-theme";
// what the page script writes on <html> for our stylesheet (and a site's own rules)
export const MODE_ATTRIBUTE = "data-scm-mode";

// attributes: the theme attribute's values, most specific element first (null: absent);
// osDark: whether the reader's system prefers dark
export function pageMode(attributes, osDark) {
  for (const raw of attributes) {
    const value = typeof raw === "string" ? raw.trim().toLowerCase() : "";
    if (value === "dark" || value === "light") {
      return value;
    }
    if (value === "auto") {
      return osDark ? "dark" : "light";
    }
  }
  return "light";
}

// The address of a picture in one mode: its #scm-light / #scm-dark fragment set
export function pictureSrc(src, mode) {
  const base = String(src || "").replace(/#.*$/, "");
  return base ? `${base}#scm-${MODES.includes(mode) ? mode : "light"}` : "";
}
