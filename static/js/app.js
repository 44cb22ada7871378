// Adds and removes order lines in place (Django formset), and prevents double submits.
(function () {
  function addLine(button) {
    var prefix = button.dataset.prefix;
    var total = document.getElementById("id_" + prefix + "-TOTAL_FORMS");
    var template = document.getElementById("line-template");
    var index = parseInt(total.value, 10);
    var html = template.innerHTML.replace(/__prefix__/g, String(index));
    document.getElementById("line-rows").insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
  }

  // List prices: a blank unit price means the product's price, shown as the field's placeholder.
  var pricesNode = document.getElementById("product-prices");
  var prices = pricesNode ? JSON.parse(pricesNode.textContent) : {};

  function rowField(row, suffix) { return row.querySelector("[name$='-" + suffix + "']"); }

  function showListPrice(row) {
    var product = rowField(row, "product"), price = rowField(row, "unit_price");
    if (product && price) { price.placeholder = prices[product.value] || ""; }
  }

  function cents(text) { var n = Number(text); return isFinite(n) ? Math.round(n * 100) : NaN; }

  function updateRunningTotal() {
    var total = document.getElementById("running-total");
    if (!total) { return; }
    var sum = 0;
    document.querySelectorAll(".line-row").forEach(function (row) {
      var del = rowField(row, "DELETE"), qty = rowField(row, "quantity"), price = rowField(row, "unit_price");
      if (!qty || !price || (del && del.checked) || row.closest("template")) { return; }
      var unit = price.value !== "" ? price.value : price.placeholder;
      var amount = Number(qty.value) * cents(unit);
      if (isFinite(amount) && qty.value !== "" && unit !== "") { sum += Math.round(amount); }
    });
    total.textContent = "$" + (sum / 100).toLocaleString("en-US", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  }

  document.addEventListener("input", updateRunningTotal);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".line-row").forEach(showListPrice);
    updateRunningTotal();
  });

  // "Remove" marks the row at once; the server drops it on save (and the box can be unticked to keep it).
  document.addEventListener("change", function (event) {
    var box = event.target;
    var row = box.closest ? box.closest(".line-row") : null;
    if (row && box.name && /-DELETE$/.test(box.name)) { row.classList.toggle("removed", box.checked); }
    if (row && box.name && /-product$/.test(box.name)) { showListPrice(row); }
    updateRunningTotal();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#add-line");
    if (button) { event.preventDefault(); addLine(button); }
  });

  // Live parts (data-live) poll for changes. While one of their own buttons is working, its answer is the news:
  // skip the poll, and drop a poll answer that arrives meanwhile.
  function busyLivePart(elt) {
    if (!elt || !elt.hasAttribute || !elt.hasAttribute("data-live")) { return false; }
    return elt.querySelector(".htmx-request") !== null;
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (busyLivePart(event.detail.elt)) { event.preventDefault(); }
  });
  document.addEventListener("htmx:beforeSwap", function (event) {
    var config = event.detail.requestConfig;  // the poll's own answer is a GET; a button's answer must swap
    if (config && config.verb === "get" && busyLivePart(event.detail.target)) { event.detail.shouldSwap = false; }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    // htmx handled this submit already (it prevents the default and asks its own hx-confirm): don't ask twice.
    if (event.defaultPrevented) { return; }
    var question = form.dataset.confirm;
    if (question && !window.confirm(question)) { event.preventDefault(); return; }
    if (form.dataset.submitted === "true") { event.preventDefault(); return; }
    form.dataset.submitted = "true";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.setAttribute("aria-busy", "true"); });
  });
})();
