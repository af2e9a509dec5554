// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("keydown", (event) => {
  // Escape closes an open user menu and returns focus to its toggle.
  if (event.key !== "Escape") return;
  document.querySelectorAll("details.user-menu[open]").forEach((menu) => {
    menu.removeAttribute("open");
    menu.querySelector("summary").focus();
  });
});
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.user-menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});
// Buttons with data-confirm ask before submitting (the server still shows a confirmation page
// for destructive actions when JavaScript is off).
document.addEventListener("submit", (event) => {
  const message = event.submitter && event.submitter.dataset.confirm;
  if (message && !window.confirm(message)) event.preventDefault();
});
// htmx ignores error responses by default; tell the person instead of silently doing nothing.
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  const text = status === 403 ? "You no longer have permission to do that. Reload the page."
    : status === 404 ? "That item no longer exists. Reload the page."
    : "Something went wrong (" + status + "). Your change was not saved; please try again.";
  let box = document.getElementById("htmx-error");
  if (!box) {
    box = document.createElement("p");
    box.id = "htmx-error";
    box.className = "message message-error";
    box.setAttribute("role", "alert");
    (document.querySelector("main") || document.body).prepend(box);
  }
  box.textContent = text;
});
// Contacts list: "select all on this page", the live selected count, and the bulk bar showing
// the select that belongs to the chosen action; a change to every matching contact is confirmed.
document.addEventListener("change", (event) => {
  const target = event.target;
  const form = target.form;
  if (!form || !form.classList.contains("bulk-form")) return;
  if (target.dataset.selectAll) {
    form.querySelectorAll(`input[name="${target.dataset.selectAll}"]`).forEach((box) => { box.checked = target.checked; });
  }
  if (target.dataset.bulkAction !== undefined) {
    form.querySelectorAll("[data-bulk-for]").forEach((el) => { el.hidden = el.dataset.bulkFor !== target.value; });
  }
  const count = form.querySelectorAll('input[name="ids"]:checked').length;
  const counter = form.querySelector("[data-selected-count]");
  if (counter) counter.textContent = count;
});
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.classList.contains("bulk-form") || event.defaultPrevented) return;
  const scope = form.querySelector('input[name="scope"]:checked');
  const button = form.querySelector("[data-confirm-all]");
  if (scope && scope.value === "all" && button && !window.confirm(button.dataset.confirmAll)) event.preventDefault();
});
