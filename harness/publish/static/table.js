// Sorting and filtering for reliabench tables; everything is readable without it.
(function () {
  "use strict";

  function cellValue(row, index, numeric) {
    var cell = row.children[index];
    if (!cell) return numeric ? NaN : "";
    var raw = cell.hasAttribute("data-value") ? cell.getAttribute("data-value") : cell.textContent.trim();
    return numeric ? (raw === "" ? NaN : parseFloat(raw)) : raw.toLowerCase();
  }

  function sortBy(table, header) {
    var index = Array.prototype.indexOf.call(header.parentNode.children, header);
    var numeric = header.getAttribute("data-sort") === "num";
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach(function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
      if (numeric) {  // missing values always last
        if (isNaN(x)) return isNaN(y) ? 0 : 1;
        if (isNaN(y)) return -1;
        return ascending ? x - y : y - x;
      }
      return ascending ? x.localeCompare(y) : y.localeCompare(x);
    });
    rows.forEach(function (row) { body.appendChild(row); });
  }

  function applyFilters(form, table) {
    var wanted = {};
    form.querySelectorAll("[data-filter]").forEach(function (input) {
      wanted[input.getAttribute("data-filter")] = input.value.trim().toLowerCase();
    });
    Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
      var show = Object.keys(wanted).every(function (key) {
        return !wanted[key] || (row.getAttribute("data-" + key) || "").toLowerCase().indexOf(wanted[key]) !== -1;
      });
      row.classList.toggle("hidden-row", !show);
    });
    var select = form.querySelector("[data-task-filter]");
    if (select) {
      var task = select.value;
      table.querySelectorAll("[data-task]").forEach(function (cell) {
        cell.classList.toggle("hidden-col", task !== "*" && cell.getAttribute("data-task") !== task);
      });
    }
  }

  // A table wider than the page scrolls inside its box; say so above it, as a scroll bar may be hidden.
  function markOverflow() {
    document.querySelectorAll(".scroll").forEach(function (box) {
      var hint = box.previousElementSibling;
      var over = box.scrollWidth > box.clientWidth + 1;
      if (hint && hint.classList.contains("scroll-hint")) {
        hint.hidden = !over;
      } else if (over) {
        hint = document.createElement("p");
        hint.className = "scroll-hint";
        hint.textContent = "Wider than the page: scroll the table sideways for more columns →";
        box.parentNode.insertBefore(hint, box);
      }
    });
  }

  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (header) {
      header.tabIndex = 0;
      header.addEventListener("click", function () { sortBy(table, header); });
      header.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); sortBy(table, header); }
      });
    });
  });
  document.querySelectorAll("form.filters").forEach(function (form) {
    var table = document.querySelector("table.board");
    if (!table) return;
    form.addEventListener("input", function () { applyFilters(form, table); });
    form.addEventListener("change", function () { applyFilters(form, table); markOverflow(); });
    applyFilters(form, table);
  });
  markOverflow();
  window.addEventListener("resize", markOverflow);
})();
