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
