// Salesflow step and template editor. The email is written in an HTML editor (Squire, vendored
// in static/vendor/squire-rte-2.4.8) laid over the plain textarea, which keeps what is posted;
// the merge-field picker inserts {{ field }} (or {{ field|fallback }}) where the cursor was, in
// the subject, the email or the plain-text version; the step form shows the parts of the chosen
// kind. Without JavaScript the textarea is used as it is. The server cleans the HTML again.
(() => {
  const TAGS = new Set(["A", "B", "BLOCKQUOTE", "BR", "DIV", "EM", "I", "LI", "OL", "P", "S", "SPAN", "STRONG", "U", "UL"]);
  const DROP_WITH_CONTENT = new Set(["SCRIPT", "STYLE", "TEMPLATE", "IFRAME", "OBJECT", "EMBED", "SVG", "MATH"]);
  const SAFE_LINK = /^(https?:\/\/|mailto:|\{\{)/i;

  // Squire asks the page to turn HTML (its own, or pasted) into safe nodes: only the tags and
  // links the server keeps. A <template> parses without running or loading anything.
  function clean(html) {
    const holder = document.createElement("template");
    holder.innerHTML = html;
    const walk = (node) => {
      [...node.childNodes].forEach((child) => {
        if (child.nodeType === Node.TEXT_NODE) return;
        if (child.nodeType !== Node.ELEMENT_NODE || DROP_WITH_CONTENT.has(child.tagName.toUpperCase())) {
          child.remove();
          return;
        }
        walk(child);
        if (!TAGS.has(child.tagName)) {
          child.replaceWith(...child.childNodes);
          return;
        }
        [...child.attributes].forEach((attr) => {
          const keep = child.tagName === "A" && attr.name === "href" && SAFE_LINK.test(attr.value.trim());
          if (!keep) child.removeAttribute(attr.name);
        });
      });
    };
    walk(holder.content);
    return document.importNode(holder.content, true);
  }

  const FORMATS = { bold: ["B", "bold", "removeBold"], italic: ["I", "italic", "removeItalic"], underline: ["U", "underline", "removeUnderline"] };

  function setUpEditor(wrapper) {
    const textarea = document.getElementById(wrapper.dataset.editorFor);
    const area = wrapper.querySelector(".sf-editor-area");
    if (!textarea || !area || !window.Squire || textarea.readOnly) return null;
    const editor = new window.Squire(area, { blockTag: "P", sanitizeToDOMFragment: clean });
    editor.setHTML(textarea.value);
    wrapper.hidden = false;
    textarea.hidden = true;
    const sync = () => { textarea.value = editor.getHTML(); };
    editor.addEventListener("input", sync);
    editor.addEventListener("pathChange", () => {
      wrapper.querySelectorAll("[aria-pressed]").forEach((button) => {
        const format = FORMATS[button.dataset.editorCommand];
        if (format) button.setAttribute("aria-pressed", String(editor.hasFormat(format[0])));
      });
    });
    wrapper.querySelectorAll("[data-editor-command]").forEach((button) => {
      button.addEventListener("click", () => {
        const command = button.dataset.editorCommand;
        if (FORMATS[command]) {
          const [tag, on, off] = FORMATS[command];
          editor[editor.hasFormat(tag) ? off : on]();
        } else if (command === "makeLink") {
          const url = window.prompt("Link address (https://… or mailto:…)", "https://");
          if (!url || !/^(https?:\/\/|mailto:)/i.test(url.trim())) return;
          editor.makeLink(url.trim());
        } else {
          editor[command]();
        }
        sync();
        editor.focus();
      });
    });
    if (textarea.form) textarea.form.addEventListener("submit", sync);
    area.editor = editor;
    return editor;
  }

  function setUpPicker(form) {
    const picker = form.querySelector("[data-merge-picker]");
    if (!picker) return;
    picker.hidden = false;
    const where = picker.querySelector("[data-merge-where]");
    const visible = (el) => el && !el.hidden && el.offsetParent !== null;
    let target = null;
    form.addEventListener("focusin", (event) => {
      const field = event.target.closest("[data-merge-target]");
      if (field) target = field;
    });
    picker.querySelector("[data-merge-insert]").addEventListener("click", () => {
      const key = picker.querySelector("[data-merge-field]").value;
      const fallback = picker.querySelector("[data-merge-fallback]").value.replace(/[{}]/g, "").trim();
      const tag = "{{ " + key + (fallback ? "|" + fallback : "") + " }}";
      let field = visible(target) ? target : null;
      if (!field) field = [...form.querySelectorAll(".sf-editor-area, textarea.sf-html-source")].find(visible);
      if (!field) return;
      if (field.editor) {
        field.editor.focus();
        field.editor.insertPlainText(tag);
        field.dispatchEvent(new Event("input", { bubbles: true }));
      } else {
        const start = field.selectionStart ?? field.value.length;
        const end = field.selectionEnd ?? start;
        field.focus();
        field.setRangeText(tag, start, end, "end");
        field.dispatchEvent(new Event("input", { bubbles: true }));
      }
      target = field;
      if (where) where.textContent = `Inserted ${tag} into ${field.dataset.mergeTarget}.`;
    });
  }

  function setUpKinds(form) {
    const kind = form.querySelector("select[name=kind]");
    if (!kind) return;
    const show = () => {
      form.querySelectorAll("[data-for-kinds]").forEach((part) => {
        part.hidden = !part.dataset.forKinds.split(" ").includes(kind.value);
      });
    };
    kind.addEventListener("change", show);
    show();
  }

  function enhance() {
    document.querySelectorAll("[data-editor-for]:not([data-ready])").forEach((wrapper) => {
      wrapper.dataset.ready = "1";
      setUpEditor(wrapper);
    });
    document.querySelectorAll("form.sf-step-form:not([data-ready])").forEach((form) => {
      form.dataset.ready = "1";
      setUpPicker(form);
      setUpKinds(form);
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", enhance);
  else enhance();
})();
