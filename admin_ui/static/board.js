// The kanban's browser side: a "Move" menu per card (keyboard: Enter opens it, arrows move,
// Escape closes) and drag and drop between columns. Both only send the move (card, target
// column) to the server and show the board it answers: the server decides.
"use strict";

window.LoomComponents = window.LoomComponents || {};
window.LoomComponents.moveMenu = function () {
  return {
    open: false,
    get expanded() { return this.open ? "true" : "false"; },
    get closed() { return !this.open; },
    items: function () { return Array.prototype.slice.call(this.$root.querySelectorAll('[role="menuitem"]')); },
    focusAt: function (index) {
      var items = this.items();
      if (items.length) { items[(index + items.length) % items.length].focus(); }
    },
    toggle: function () {
      this.open = !this.open;
      if (this.open) { this.$nextTick(function () { this.focusAt(0); }.bind(this)); }
    },
    close: function () { this.open = false; this.$refs.button.focus(); },
    next: function () { this.focusAt(this.items().indexOf(document.activeElement) + 1); },
    previous: function () { this.focusAt(this.items().indexOf(document.activeElement) - 1); }
  };
};

function loomBoards(root) {
  var lists = root.querySelectorAll ? root.querySelectorAll(".kanban-cards") : [];
  Array.prototype.forEach.call(lists, function (list) {
    if (list.loomSortable || !window.Sortable) { return; }
    list.loomSortable = window.Sortable.create(list, {
      group: "kanban", draggable: ".kanban-card", filter: ".move", preventOnFilter: false,
      animation: 0,
      onEnd: function (event) {
        if (event.from === event.to) { return; }
        var form = event.item.querySelector("form.move-menu");
        var board = document.getElementById("board");
        window.htmx.ajax("POST", board.dataset.moveUrl, {
          source: form, target: "#board", swap: "outerHTML", values: { to: event.to.dataset.column }
        });
      }
    });
  });
}

// After a move the board is new: keyboard users go on from the card they moved.
document.addEventListener("htmx:afterSettle", function (event) {
  var board = document.getElementById("board");
  if (!board || event.detail.elt !== board || !board.dataset.moved) { return; }
  var button = board.querySelector('.kanban-card[data-id="' + board.dataset.moved + '"] [aria-haspopup]');
  if (button) { button.focus(); }
});

document.addEventListener("DOMContentLoaded", function () {
  loomBoards(document);
  if (window.htmx) { window.htmx.onLoad(loomBoards); }
});
