// Salesflow builder: steps reorder by keyboard (Move up / Move down, htmx swaps the steps and
// focus stays on the step that moved) and by dragging (HTML5 drag and drop posts the new
// position to the same move URL). Without JavaScript the buttons post and the page reloads.
(() => {
  function csrf() {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  // After a move the server names the button that was pressed; at the top or the bottom it is
  // disabled, so the step's other button (or its Edit link) takes the focus.
  function refocus(root) {
    const section = root && root.id === "steps" ? root : root && root.querySelector ? root.querySelector("#steps") : null;
    if (!section || !section.dataset.focus) return;
    const [, stepId] = section.dataset.focus.split("-");
    let target = document.getElementById(section.dataset.focus);
    if (!target || target.disabled) {
      const step = document.getElementById(`step-${stepId}`);
      target = step && [...step.querySelectorAll("button, a")].find((el) => !el.disabled && /Move/.test(el.textContent))
        || (step && step.querySelector("a, button:not(:disabled)"));
    }
    if (target) target.focus();
  }
  document.addEventListener("htmx:load", (event) => refocus(event.detail.elt));

  let dragged = null;
  const clearMarks = () => document.querySelectorAll(".is-drop-before, .is-drop-after").forEach((el) => el.classList.remove("is-drop-before", "is-drop-after"));
  const stepOf = (event) => event.target.closest && event.target.closest(".sf-step");

  document.addEventListener("dragstart", (event) => {
    const step = event.target.closest && event.target.closest(".sf-step[draggable=true]");
    if (!step) return;
    dragged = step;
    step.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", step.id);
  });
  document.addEventListener("dragover", (event) => {
    const step = stepOf(event);
    if (!dragged || !step || step === dragged || step.parentElement !== dragged.parentElement) return;
    event.preventDefault();
    const box = step.getBoundingClientRect();
    clearMarks();
    step.classList.add(event.clientY > box.top + box.height / 2 ? "is-drop-after" : "is-drop-before");
  });
  document.addEventListener("drop", (event) => {
    const step = stepOf(event);
    if (!dragged || !step || step === dragged || step.parentElement !== dragged.parentElement) return;
    event.preventDefault();
    const box = step.getBoundingClientRect();
    const after = event.clientY > box.top + box.height / 2;
    const others = [...step.parentElement.children].filter((el) => el !== dragged);
    const position = others.indexOf(step) + (after ? 1 : 0) + 1;
    const moved = dragged;
    window.htmx.ajax("POST", moved.dataset.moveUrl, {
      target: "#steps",
      swap: "outerHTML",
      values: { position: String(position) },
      headers: { "X-CSRFToken": csrf() },
    });
  });
  document.addEventListener("dragend", () => {
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
    clearMarks();
  });
})();
