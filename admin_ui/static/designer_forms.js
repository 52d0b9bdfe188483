// The form layout editor's browser side: fields dragged between the form's sections (and to
// and from the list of fields not on the form) with SortableJS. A drop only sends the move —
// which field, to which section, at which place — as the same post the editor's "Move to
// section" and "Place on the form" buttons make; the server writes the draft and answers the
// editor and the preview drawn again. After a redraw the element the server named (data-focus)
// takes the focus, so a keyboard user goes on from the control they used.
"use strict";

function loomFormDesigner(root) {
  var designer = document.getElementById("form-designer");
  if (!designer || !window.Sortable) { return; }
  var lists = designer.querySelectorAll(".layout-fields");
  Array.prototype.forEach.call(lists, function (list) {
    if (list.loomSortable) { return; }
    list.loomSortable = window.Sortable.create(list, {
      group: "form-fields", draggable: ".layout-field", filter: "form, a, button, select, input",
      preventOnFilter: false, animation: 0,
      onEnd: function (event) {
        if (event.from === event.to && event.oldIndex === event.newIndex) { return; }
        var field = event.item.dataset.field, section = event.to.dataset.section;
        var context = { target: "#form-designer", select: "#form-designer", swap: "outerHTML" };
        if (!section) {
          if (event.item.dataset.offUrl) { window.htmx.ajax("POST", event.item.dataset.offUrl, context); }
          return;
        }
        context.values = { field: field, section: section, position: event.newIndex };
        window.htmx.ajax("POST", designer.dataset.placeUrl, context);
      }
    });
  });
}

document.addEventListener("htmx:afterSettle", function () {
  var designer = document.getElementById("form-designer");
  if (!designer || !designer.dataset.focus) { return; }
  var target = document.getElementById(designer.dataset.focus);
  designer.dataset.focus = "";
  if (target) { target.focus(); }
});

document.addEventListener("DOMContentLoaded", function () {
  loomFormDesigner(document);
  if (window.htmx) { window.htmx.onLoad(loomFormDesigner); }
});
