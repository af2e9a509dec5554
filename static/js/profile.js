// Profile › Email signature: a small rich-text editor over the plain textarea. Without
// JavaScript the textarea itself is used; the server sanitises whatever arrives either way.
(() => {
  const SAFE_LINK = /^(https?:\/\/|mailto:)/i;

  function enhance(root) {
    root.querySelectorAll("[data-rte-for]:not([data-rte-ready])").forEach((editor) => {
      const textarea = document.getElementById(editor.dataset.rteFor);
      const area = editor.querySelector(".rte-area");
      if (!textarea || !area) return;
      editor.dataset.rteReady = "1";
      area.innerHTML = textarea.value;
      editor.hidden = false;
      textarea.hidden = true;
      const choice = document.getElementById(editor.dataset.rteChoice);
      const sync = () => {
        textarea.value = area.innerHTML;
        if (choice && !choice.checked) choice.checked = true; // typing here means "Custom"
      };
      area.addEventListener("input", sync);
      editor.querySelectorAll("[data-rte-command]").forEach((button) => {
        button.addEventListener("click", () => {
          const command = button.dataset.rteCommand;
          area.focus();
          if (command === "createLink") {
            const url = window.prompt("Link address (https://… or mailto:…)", "https://");
            if (!url || !SAFE_LINK.test(url.trim())) return;
            document.execCommand("createLink", false, url.trim());
          } else {
            document.execCommand(command, false);
          }
          sync();
        });
      });
      const form = textarea.closest("form");
      if (form) form.addEventListener("submit", () => { textarea.value = area.innerHTML; });
    });
  }

  document.addEventListener("DOMContentLoaded", () => enhance(document));
  document.addEventListener("htmx:load", (event) => enhance(event.detail.elt));
  if (document.readyState !== "loading") enhance(document);
})();
