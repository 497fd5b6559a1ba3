// deskpilot workspace: small progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // --- Menus: <details data-menu> with arrow keys, Escape, and closing on outside click or focus loss.
  function menuItems(menu) {
    return Array.from(menu.querySelectorAll(".menu-items button:not([disabled]), .menu-items a[href]"));
  }

  function closeMenus(except) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (menu !== except) menu.open = false;
    });
  }

  document.querySelectorAll("details[data-menu]").forEach(function (menu) {
    var summary = menu.querySelector("summary");
    var byKeyboard = false;
    summary.setAttribute("aria-haspopup", "true");
    summary.setAttribute("aria-expanded", "false");
    summary.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") byKeyboard = true;
    });
    menu.addEventListener("toggle", function () {
      summary.setAttribute("aria-expanded", menu.open ? "true" : "false");
      if (menu.open) {
        closeMenus(menu);
        var first = menuItems(menu)[0];
        if (byKeyboard && first) first.focus();
      }
      byKeyboard = false;
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        summary.focus();
        event.preventDefault();
      } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        var items = menuItems(menu);
        if (!items.length) return;
        if (!menu.open) menu.open = true;
        var index = items.indexOf(document.activeElement);
        var next = event.key === "ArrowDown" ? (index + 1) % items.length : (index <= 0 ? items.length - 1 : index - 1);
        items[next].focus();
        event.preventDefault();
      }
    });
    menu.addEventListener("focusout", function (event) {
      if (menu.open && event.relatedTarget && !menu.contains(event.relatedTarget)) menu.open = false;
    });
  });

  document.addEventListener("click", function (event) {
    document.querySelectorAll("details[data-menu][open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });

  // --- Dialogs: [data-open-dialog=ID] opens <dialog id=ID> modally; focus returns to the opener on close.
  function visible(element) {
    return element && document.contains(element) && element.getClientRects().length > 0;
  }

  // A dialog's body waits in a <template> until first opened: pages stay light (one per inbox row) and a
  // closed dialog's fields are not in the document. "dialog-open" lets page scripts wire the body up.
  function materialize(dialog) {
    var body = dialog.querySelector(":scope > template[data-dialog-body]");
    if (!body) return;
    dialog.appendChild(body.content.cloneNode(true));
    body.remove();
  }

  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-open-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-open-dialog"));
      if (dialog && typeof dialog.showModal === "function") {
        var menu = opener.closest("details[data-menu]");
        dialog.returnFocusTo = menu ? menu.querySelector("summary") : opener;
        closeMenus();
        materialize(dialog);
        dialog.dispatchEvent(new CustomEvent("dialog-open", { bubbles: true }));
        dialog.showModal();
      }
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer && closer.closest("dialog")) closer.closest("dialog").close();
  });

  document.querySelectorAll("dialog").forEach(function (dialog) {
    dialog.addEventListener("close", function () {
      if (visible(dialog.returnFocusTo)) dialog.returnFocusTo.focus();
    });
  });

  // --- Forms that take a while (AI summary): show progress and prevent double submits.
  document.querySelectorAll("form[data-busy-form]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("[data-busy-label]");
      if (!button) return;
      window.setTimeout(function () {
        button.disabled = true;
        button.textContent = button.getAttribute("data-busy-label");
      }, 0);
      form.setAttribute("aria-busy", "true");
    });
  });

  // --- Help desk: select all, the selection count, and bulk buttons that need a selection.
  var selectAll = document.querySelector("[data-select-all]");
  var rowChecks = Array.from(document.querySelectorAll("[data-row-check]"));
  function updateSelection() {
    var picked = rowChecks.filter(function (box) { return box.checked; }).length;
    var counter = document.querySelector("[data-selected-count]");
    if (counter) counter.textContent = picked + " selected";
    document.querySelectorAll("[data-needs-selection]").forEach(function (button) { button.disabled = picked === 0; });
    if (selectAll) {
      selectAll.checked = picked > 0 && picked === rowChecks.length;
      selectAll.indeterminate = picked > 0 && picked < rowChecks.length;
    }
  }
  if (selectAll) {
    selectAll.addEventListener("change", function () {
      rowChecks.forEach(function (box) { box.checked = selectAll.checked; });
      updateSelection();
    });
  }
  rowChecks.forEach(function (box) { box.addEventListener("change", updateSelection); });
  if (rowChecks.length) updateSelection();

  // --- Shared by page scripts: POST with the session's CSRF token, answers as JSON.
  window.deskpilot = {
    post: function (url, body) {
      var headers = { "X-CSRF-Token": document.querySelector('meta[name="csrf-token"]').content, "Accept": "application/json" };
      if (!(body instanceof FormData)) {
        headers["Content-Type"] = "application/json";
        body = JSON.stringify(body || {});
      }
      return fetch(url, { method: "POST", body: body, headers: headers, credentials: "same-origin" })
        .then(function (response) {
          return response.json().catch(function () { return null; }).then(function (data) {
            return { ok: response.ok, status: response.status, data: data };
          });
        });
    },
    errorText: function (result) {
      var error = result.data && result.data.error;
      return error && error.message ? error.message : "The request failed (" + result.status + ").";
    }
  };
})();
