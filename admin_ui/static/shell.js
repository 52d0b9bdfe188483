// The shell's navigation: the phone-width menu button and the entity filter box. Only
// presentation: which entities are listed is the server's decision.
"use strict";
window.LoomComponents = window.LoomComponents || {};

window.LoomComponents.shellNav = function () {
  return {
    open: false,
    get openClass() { return this.open ? "open" : ""; },
    toggle: function () { this.open = !this.open; },
    // Escape folds the open menu and gives the focus back to its button.
    close: function () {
      if (this.open) { this.open = false; this.$refs.menu.focus(); }
    },
    filter: function () {
      var wanted = this.$refs.query.value.trim().toLocaleLowerCase();
      var shown = 0;
      this.$refs.entities.querySelectorAll("li").forEach(function (item) {
        var match = !wanted || item.textContent.toLocaleLowerCase().indexOf(wanted) !== -1;
        item.hidden = !match;
        if (match) { shown += 1; }
      });
      this.$refs.none.hidden = shown > 0;
    }
  };
};
