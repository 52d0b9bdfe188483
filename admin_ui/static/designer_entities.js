// The designer's entity order: dragging an entity (SortableJS) sends the entities' new
// order to the server, which saves it in the draft and answers with the page. The Move
// buttons beside each entity do the same without a mouse.
"use strict";

document.addEventListener("DOMContentLoaded", function () {
  var list = document.querySelector("[data-entities]");
  var form = document.querySelector("[data-entity-order]");
  if (!list || !form || typeof Sortable === "undefined") { return; }
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
