// Unit tests of static/scmmonitor/theme.js: which mode a page is in
import assert from "node:assert/strict";
import { test } from "node:test";

import { pageMode, pictureSrc } from "../../sphinxcontrib_scmmonitor/static/scmmonitor/theme.js";

test("pageMode: a theme without the attribute is light whatever the OS says", () => {
  assert.equal(pageMode([null, null], true), "light");
  assert.equal(pageMode([null, null], false), "light");
  assert.equal(pageMode([], true), "light");
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
