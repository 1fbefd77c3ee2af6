// Unit tests of static/scmmonitor/theme.js: which mode a page is in
import assert from "node:assert/strict";
import { test } from "node:test";

import { luminance, pageMode, pictureSrc } from "../../sphinxcontrib_scmmonitor/static/scmmonitor/theme.js";

test("pageMode: a theme without the attribute is light whatever the OS says", () => {
  assert.equal(pageMode([null, null], true, "rgb(255, 255, 255)"), "light");
  assert.equal(pageMode([null, null], false, "rgb(252, 252, 252)"), "light");
  assert.equal(pageMode([], true), "light");
  assert.equal(pageMode([null], true, "rgba(0, 0, 0, 0)"), "light");   // transparent
});

test("pageMode: without the attribute, a dark background is a dark page", () => {
  // furo whose inline script a strict CSP blocked: its CSS follows the OS
  assert.equal(pageMode([null, null], true, "rgb(19, 20, 22)"), "dark");
  assert.equal(pageMode([null, null], false, "rgba(18, 18, 18, 1)"), "dark");
  assert.equal(pageMode([null, null], false, "oklch(0.2 0 0)"), "light");   // unread form
});

test("pageMode: the attribute wins over the background", () => {
  assert.equal(pageMode(["light"], true, "rgb(0, 0, 0)"), "light");
  assert.equal(pageMode(["dark"], false, "rgb(255, 255, 255)"), "dark");
});

test("luminance: WCAG relative luminance of computed colours", () => {
  assert.equal(luminance("rgb(255, 255, 255)"), 1);
  assert.equal(luminance("rgb(0, 0, 0)"), 0);
  assert.ok(Math.abs(luminance("rgb(118, 118, 118)") - 0.1812) < 1e-3);
  assert.equal(luminance("rgba(0, 0, 0, 0)"), null);
  assert.equal(luminance("rgb(0 0 0 / 0.2)"), null);
  assert.equal(luminance("transparent"), null);
});

test("pageMode: the theme's own light and dark win over the OS", () => {
  assert.equal(pageMode(["dark", null], false), "dark");
  assert.equal(pageMode([null, "light"], true), "light");
  assert.equal(pageMode([" Dark ", null], false), "dark");
});

test("pageMode: auto follows the OS", () => {
  assert.equal(pageMode(["auto", null], true), "dark");
  assert.equal(pageMode(["auto", null], false), "light");
});

test("pageMode: the most specific element decides; an unknown value is passed over", () => {
  assert.equal(pageMode(["light", "dark"], true), "light");
  assert.equal(pageMode(["", "dark"], false), "dark");
  assert.equal(pageMode(["sepia", "auto"], true), "dark");
  assert.equal(pageMode([42, undefined], true), "light");
});

test("pictureSrc: the fragment is replaced, never stacked", () => {
  assert.equal(pictureSrc("_static/scmmonitor/pictures/ab.svg", "dark"),
    "_static/scmmonitor/pictures/ab.svg#scm-dark");
  assert.equal(pictureSrc("../p/ab.svg#scm-dark", "light"), "../p/ab.svg#scm-light");
  assert.equal(pictureSrc("ab.svg#scm-light", "sepia"), "ab.svg#scm-light");
  assert.equal(pictureSrc("", "dark"), "");
});
