// Ticket page: header properties saved as they change (with optimistic locking) and AI name suggestions.
(function () {
  "use strict";
  var api = window.deskpilot;
  if (!api) return;

  function versionInputs() { return document.querySelectorAll("[data-ticket-version]"); }
  function currentVersion() { var input = versionInputs()[0]; return input ? input.value : ""; }
  function setVersion(version) { versionInputs().forEach(function (input) { input.value = String(version); }); }

  function showStatus(element, text, kind, reload) {
    element.textContent = text;
    element.classList.toggle("is-error", kind === "error");
    element.classList.toggle("is-ok", kind === "ok");
    if (reload) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "link-button";
      button.textContent = "Reload the ticket";
      button.addEventListener("click", function () { window.location.reload(); });
      element.appendChild(document.createTextNode(" "));
      element.appendChild(button);
    }
  }

  // --- Owner, priority, category, status: each change is saved in turn, with the version it was based on.
  var form = document.querySelector("form[data-autosave]");
  if (form) {
    var status = form.querySelector("[data-form-status]");
    var queue = Promise.resolve();
    var save = function (label) {
      var data = new FormData(form);
      data.set("version", currentVersion());
      showStatus(status, "Saving…", "");
      return api.post(form.action, data).then(function (result) {
        if (result.ok) {
          setVersion(result.data.version);
          showStatus(status, label + " saved.", "ok");
        } else {
          showStatus(status, api.errorText(result), "error", result.status === 409);
        }
      }, function () { showStatus(status, "Could not reach the server; nothing was saved.", "error"); });
    };
    form.addEventListener("change", function (event) {
      if (!event.target.matches("select")) return;
      var label = form.querySelector('label[for="' + event.target.id + '"]');
      queue = queue.then(function () { return save(label ? label.textContent : "Change"); });
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      queue = queue.then(function () { return save("Changes"); });
    });
  }

  // --- AI name suggestions: Insert renames the ticket (name_source=ai); Regenerate excludes what is shown.
  var star = document.querySelector("[data-ai-names]");
  var panel = document.getElementById("ai-names-panel");
  if (!star || !panel) return;
  var list = panel.querySelector("[data-ai-list]");
  var aiStatus = panel.querySelector("[data-ai-status]");
  var regenerate = panel.querySelector("[data-ai-regenerate]");
  var shown = [];

  function busy(on) {
    regenerate.disabled = on;
    list.querySelectorAll("button").forEach(function (button) { button.disabled = on; });
  }

  function insert(name) {
    var data = new FormData();
    data.set("name", name);
    data.set("name_source", "ai");
    data.set("version", currentVersion());
    busy(true);
    api.post(panel.getAttribute("data-rename-url"), data).then(function (result) {
      busy(false);
      if (!result.ok) {
        showStatus(aiStatus, api.errorText(result), "error", result.status === 409);
        return;
      }
      setVersion(result.data.version);
      document.querySelector("[data-ticket-name]").textContent = result.data.name;
      document.title = result.data.name + " · deskpilot";
      showStatus(aiStatus, "Renamed to “" + result.data.name + "”.", "ok");
    }, function () { busy(false); showStatus(aiStatus, "Could not reach the server.", "error"); });
  }

  function render(names) {
    list.replaceChildren();
    names.forEach(function (name) {
      var item = document.createElement("li");
      var row = document.createElement("div");
      row.className = "row";
      var text = document.createElement("span");
      text.textContent = name;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button";
      button.textContent = "Insert";
      button.setAttribute("aria-label", "Insert “" + name + "” as the ticket name");
      button.addEventListener("click", function () { insert(name); });
      row.appendChild(text);
      row.appendChild(button);
      item.appendChild(row);
      list.appendChild(item);
    });
  }

  function ask(exclude) {
    busy(true);
    showStatus(aiStatus, "Asking the AI…", "");
    api.post(panel.getAttribute("data-names-url"), { exclude: exclude }).then(function (result) {
      busy(false);
      if (!result.ok) {
        showStatus(aiStatus, api.errorText(result), "error");
        return;
      }
      shown = exclude.concat(result.data.suggestions).slice(-30);
      render(result.data.suggestions);
      showStatus(aiStatus, "Suggested by " + result.data.model + ".", "");
      aiStatus.setAttribute("data-model", result.data.model);
    }, function () { busy(false); showStatus(aiStatus, "Could not reach the server.", "error"); });
  }

  star.addEventListener("click", function () {
    var opening = panel.hidden;
    panel.hidden = !opening;
    star.setAttribute("aria-expanded", opening ? "true" : "false");
    if (opening) ask([]);
  });
  regenerate.addEventListener("click", function () { ask(shown); });
  panel.querySelector("[data-ai-close]").addEventListener("click", function () {
    panel.hidden = true;
    star.setAttribute("aria-expanded", "false");
    star.focus();
  });
})();
