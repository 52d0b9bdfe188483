// The kanban's browser side: a "Move" menu per card (keyboard: Enter opens it, arrows move,
// Escape closes), drag and drop between columns, and the board's sideways scrolling (a hint
// and buttons when the columns are wider than the window). A menu lists, and a drop accepts,
// only the columns the server named for the card (`data-targets`); both only send the move
// (card, target column) to the server and show the board it answers: the server decides.
// The calendar's month or week is one tab stop: arrow keys move between its days (Home and
// End to the week's ends), Tab goes on to the focused day's records, then out of the grid.
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

window.LoomComponents.boardColumns = function () {
  return {
    overflows: false, start: true, end: true,
    get fits() { return !this.overflows; },
    get atStart() { return this.start; },
    get atEnd() { return this.end; },
    get scrollTabindex() { return this.overflows ? "0" : "-1"; },
    get edges() { return (this.start ? "" : "more-before ") + (this.end ? "" : "more-after"); },
    init: function () {
      this.measure();
      this.resized = this.measure.bind(this);
      window.addEventListener("resize", this.resized);
    },
    destroy: function () { window.removeEventListener("resize", this.resized); },
    measure: function () {
      var box = this.$refs.columns;
      this.overflows = box.scrollWidth > box.clientWidth + 1;
      this.start = box.scrollLeft <= 1;
      this.end = box.scrollLeft + box.clientWidth >= box.scrollWidth - 1;
    },
    step: function () {
      var column = this.$refs.columns.querySelector(".kanban-column");
      return column ? column.getBoundingClientRect().width : this.$refs.columns.clientWidth / 2;
    },
    earlier: function () { this.$refs.columns.scrollBy({ left: -this.step(), behavior: "auto" }); this.measure(); },
    later: function () { this.$refs.columns.scrollBy({ left: this.step(), behavior: "auto" }); this.measure(); }
  };
};

window.LoomComponents.calendarGrid = function () {
  var MOVES = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
  return {
    init: function () {
      var start = this.$root.querySelector("td.today") || this.$root.querySelector("tbody td:not(.other-month)");
      this.cells().forEach(function (cell) { this.activate(cell, cell === start); }, this);
      this.$root.addEventListener("keydown", this.key.bind(this));
    },
    cells: function () { return Array.prototype.slice.call(this.$root.querySelectorAll("tbody td")); },
    activate: function (cell, on) {
      cell.tabIndex = on ? 0 : -1;
      Array.prototype.forEach.call(cell.querySelectorAll("a"), function (link) { link.tabIndex = on ? 0 : -1; });
    },
    key: function (event) {
      var cells = this.cells(), here = cells.indexOf(event.target), there;
      if (here < 0) { return; }
      if (event.key in MOVES) { there = this.visible(cells, here, MOVES[event.key]); }
      else if (event.key === "Home") { there = here - here % 7; }
      else if (event.key === "End") { there = here - here % 7 + 6; }
      else { return; }
      event.preventDefault();
      if (there === null || there === here || !cells[there]) { return; }
      this.activate(cells[here], false);
      this.activate(cells[there], true);
      cells[there].focus();
    },
    visible: function (cells, here, delta) {  // the next shown day that way (a narrow screen hides empty ones)
      var step = delta > 0 ? 1 : -1, at = here + delta;
      while (at >= 0 && at < cells.length) {
        if (cells[at].offsetParent !== null) { return at; }
        at += step;
      }
      return null;
    }
  };
};

function targetsOf(card) {
  try { return JSON.parse(card.dataset.targets || "[]"); } catch (error) { return []; }
}

function loomBoards(root) {
  var lists = root.querySelectorAll ? root.querySelectorAll(".kanban-cards") : [];
  Array.prototype.forEach.call(lists, function (list) {
    if (list.loomSortable || !window.Sortable) { return; }
    list.loomSortable = window.Sortable.create(list, {
      group: "kanban", draggable: ".kanban-card.movable", filter: ".move", preventOnFilter: false,
      animation: 0,
      onMove: function (event) {  // only into a column the server named for this card
        return event.to === event.from || targetsOf(event.dragged).indexOf(event.to.dataset.column) >= 0;
      },
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
