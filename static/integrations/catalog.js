// Admin Portal › Integrations: filter the tiles as the admin types (the form's ?q= does the same
// on the server when scripts are off).
(function () {
  "use strict";
  function setUp() {
    var input = document.querySelector("[data-catalog-filter]");
    var tiles = document.querySelectorAll("[data-catalog-tiles] [data-search]");
    var empty = document.querySelector("[data-catalog-empty]");
    var echo = document.querySelector("[data-catalog-query]");
    if (!input || !tiles.length) return;
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      tiles.forEach(function (tile) {
        var text = tile.getAttribute("data-search");
        var match = words.every(function (w) { return text.indexOf(w) !== -1; });
        tile.hidden = !match;
        if (match) shown += 1;
      });
      if (empty) empty.hidden = shown > 0;
      if (echo) echo.textContent = input.value;
    }
    input.addEventListener("input", apply);
    apply();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setUp);
  else setUp();
})();
