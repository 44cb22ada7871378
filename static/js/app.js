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

  // "Remove" marks the row at once; the server drops it on save (and the box can be unticked to keep it).
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box.name && /-DELETE$/.test(box.name)) {
      var row = box.closest(".line-row");
      if (row) { row.classList.toggle("removed", box.checked); }
    }
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest("#add-line");
    if (button) { event.preventDefault(); addLine(button); }
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
