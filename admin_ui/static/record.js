// Record pages' browser side: the form's tabs. Which tabs, sections and fields show, and
// which are required, is drawn by the server (also as the user edits: htmx asks it again);
// this only moves between the tabs it drew (click, arrow keys, Home, End) and remembers the
// open tab in the form's `_tab` field, so the server draws the same one next time.
"use strict";

window.LoomComponents = window.LoomComponents || {};
window.LoomComponents.formTabs = function () {
  return {
    tabs: function () { return Array.prototype.slice.call(this.$root.querySelectorAll('[role="tab"]')); },
    show: function (tab, focus) {
      this.tabs().forEach(function (other) {
        var on = other === tab;
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.tabIndex = on ? 0 : -1;
        var panel = document.getElementById(other.getAttribute("aria-controls"));
        if (panel) { panel.hidden = !on; }
      });
      var chosen = this.$root.querySelector('input[name="_tab"]');
      if (chosen) { chosen.value = tab.getAttribute("data-tab"); }
      if (focus) { tab.focus(); }
    },
    choose: function (event) { this.show(event.currentTarget, false); },
    key: function (event) {
      var tabs = this.tabs(), at = tabs.indexOf(document.activeElement), to = null;
      if (at < 0) { return; }
      if (event.key === "ArrowRight") { to = (at + 1) % tabs.length; }
      else if (event.key === "ArrowLeft") { to = (at - 1 + tabs.length) % tabs.length; }
      else if (event.key === "Home") { to = 0; }
      else if (event.key === "End") { to = tabs.length - 1; }
      if (to === null) { return; }
      event.preventDefault();
      this.show(tabs[to], true);
    }
  };
};
