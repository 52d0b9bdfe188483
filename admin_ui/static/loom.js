// Loom's screens: the little the browser does. Every rule (layouts, visibility, permissions,
// guards) is decided by the server; this file only wires htmx and Alpine.js to the pages.
"use strict";

// Every htmx request carries the CSRF token of the page (forms carry theirs as a field).
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});

// htmx swaps in error pages too (422 validation errors, 409/412 conflicts), so the server's
// explanation reaches the user instead of a silent failure.
document.addEventListener("htmx:beforeSwap", function (event) {
  var status = event.detail.xhr.status;
  if (status === 422 || status === 409 || status === 412 || status === 400 || status === 403) {
    event.detail.shouldSwap = true;
    event.detail.isError = false;
  }
});

// Alpine.js (CSP build): components are registered here by name, never as inline code.
window.LoomComponents = window.LoomComponents || {};
document.addEventListener("alpine:init", function () {
  Object.keys(window.LoomComponents).forEach(function (name) {
    window.Alpine.data(name, window.LoomComponents[name]);
  });
});
