// The list screen's small local behaviour: "select all on this page" and showing the
// inputs of the chosen bulk action. What a row may do is decided by the server per row.
"use strict";

document.addEventListener("change", function (event) {
  var target = event.target;
  if (target.matches("[data-select-all]")) {
    document.querySelectorAll('input[name="ids"][form="bulk"]').forEach(function (box) {
      box.checked = target.checked;
    });
  }
  if (target.matches("[data-bulk-action]")) {
    document.querySelectorAll("[data-bulk-for]").forEach(function (part) {
      part.hidden = part.getAttribute("data-bulk-for") !== target.value;
    });
  }
});
