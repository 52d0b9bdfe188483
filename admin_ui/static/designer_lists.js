// The list views editor's drag: dragging a column (SortableJS) sends the columns' new order
// to the server, which saves it in the draft and answers with the page. The Move buttons
// beside each column do the same without a mouse.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-columns]").forEach(function (list) {
    var form = list.parentElement.querySelector("[data-column-order]");
    if (!form || typeof Sortable === "undefined") { return; }
    Sortable.create(list, {
      handle: ".drag-handle",
      animation: 150,
      onEnd: function (event) {
        if (event.oldIndex === event.newIndex) { return; }
        var names = Array.prototype.map.call(list.querySelectorAll("[data-name]"), function (item) {
          return item.getAttribute("data-name");
        });
        form.querySelector("input[name=order]").value = names.join(",");
        form.submit();
      }
    });
  });
});
