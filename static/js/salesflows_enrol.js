// Add to Salesflow: the dialog's page loaded into a <dialog> with htmx on the contacts pages (the
// page itself works without JavaScript); the Salesflow select narrowed as one types; a plan
// marked out of date (its Start disabled) once the choices above it change.
(function () {
  function openDialog(url) {
    const dialog = document.getElementById("enrol-dialog");
    if (!dialog || !window.htmx) { window.location.href = url; return; }
    window.htmx.ajax("GET", url, { target: "#enrol-dialog-body", swap: "innerHTML" }).then(() => {
      if (!dialog.open) dialog.showModal();
    });
  }

  function enhance(root) {
    root.querySelectorAll("[data-flow-search]").forEach((input) => { input.hidden = false; });
    root.querySelectorAll("dialog [data-enrol-close][hidden]").forEach((button) => { button.hidden = false; });
  }

  function markStale(form) {
    const plan = form && form.parentElement.querySelector("[data-enrol-plan]");
    if (!plan) return;
    const note = plan.querySelector("[data-plan-stale]");
    if (note) note.hidden = false;
    const start = plan.querySelector("#enrol-start");
    if (start) start.disabled = true;
  }

  document.addEventListener("click", (event) => {
    const opener = event.target.closest("[data-enrol-open]");
    if (opener) { event.preventDefault(); openDialog(opener.href); return; }
    const closer = event.target.closest("[data-enrol-close]");
    const dialog = closer && closer.closest("dialog");
    if (dialog) { event.preventDefault(); dialog.close(); }
  });

  // The contacts list's bulk bar: "Add to Salesflow…" opens the dialog for the selected contacts,
  // or for everyone matching the filters. Capture phase: before the bar's "change every contact?".
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!form.classList.contains("bulk-form") || !form.dataset.enrolUrl) return;
    const action = form.querySelector('[name="action"]');
    if (!action || action.value !== "salesflow") return;
    event.preventDefault();
    event.stopPropagation();
    const data = new FormData(form);
    const params = new URLSearchParams();
    const skip = ["csrfmiddlewaretoken", "action", "new_status", "new_owner", "scope", "ids", "sort"];
    if (data.get("scope") === "all") {
      params.append("scope", "all");
      for (const [name, value] of data.entries()) if (!skip.includes(name) && value) params.append(name, value);
    } else {
      for (const id of data.getAll("ids")) params.append("contact", id);
    }
    params.append("next", window.location.pathname + window.location.search);
    openDialog(form.dataset.enrolUrl + "?" + params.toString());
  }, true);

  document.addEventListener("input", (event) => {
    const input = event.target.closest && event.target.closest("[data-flow-search]");
    if (!input) { markStale(event.target.closest && event.target.closest("[data-enrol-check]")); return; }
    const select = document.getElementById(input.dataset.flowSearch);
    if (!select) return;
    const words = input.value.trim().toLowerCase();
    for (const option of select.options) {
      if (option.value) option.hidden = Boolean(words) && !option.text.toLowerCase().includes(words);
    }
    const current = select.selectedOptions[0];
    if (words && (!current || !current.value || current.hidden)) {
      const first = [...select.options].find((option) => option.value && !option.hidden);
      if (first && first.value !== select.value) { select.value = first.value; markStale(select.form); }
    }
  });
  document.addEventListener("change", (event) => {
    markStale(event.target.closest && event.target.closest("[data-enrol-check]"));
  });
  document.addEventListener("htmx:afterSwap", (event) => enhance(event.detail.target));
  enhance(document);
})();
