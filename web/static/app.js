// The workspace's one script: a rejection is confirmed in a <dialog> before it is sent.
"use strict";
document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-confirm]");
  if (opener) {
    const form = opener.form;
    if (form && !form.reportValidity()) return;  // a reason must be chosen first
    const dialog = document.getElementById(opener.dataset.confirm);
    if (dialog) dialog.showModal();
    return;
  }
  const closer = event.target.closest("[data-close]");
  if (closer) closer.closest("dialog").close();
});
