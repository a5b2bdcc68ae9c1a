// Small enhancements; every form works without them.
// Buttons with data-opens="<dialog id>" open that dialog; [data-closes] buttons close theirs.
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-opens]");
  if (opener) {
    const dialog = document.getElementById(opener.dataset.opens);
    if (dialog && typeof dialog.showModal === "function") {
      event.preventDefault();
      dialog.showModal();
      // A modal dialog keeps the focus within it; once closed, it goes back where it was.
      dialog.addEventListener("close", () => opener.focus(), { once: true });
      const first = dialog.querySelector("input:not([type=hidden]), textarea, select");
      if (first) first.focus();
    }
  }
  const closer = event.target.closest("[data-closes]");
  if (closer) {
    event.preventDefault();
    closer.closest("dialog").close();
  }
});

// [data-print] buttons print the page (its print stylesheet leaves out the navigation).
document.addEventListener("click", (event) => {
  if (event.target.closest("[data-print]")) window.print();
});

// A dialog whose form was refused opens again with the page, as it was left.
for (const dialog of document.querySelectorAll("dialog[data-open-on-load]")) {
  if (typeof dialog.showModal === "function") dialog.showModal();
}
