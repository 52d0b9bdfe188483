// The global search box: "/" focuses it from anywhere but a text field.
"use strict";

document.addEventListener("keydown", function (event) {
  if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
  var target = event.target;
  if (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName)) { return; }
  var box = document.getElementById("global-search");
  if (box) { event.preventDefault(); box.focus(); box.select(); }
});
