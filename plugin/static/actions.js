// deskpilot actions: split mode, the merge search, the spam and bulk delete confirmations.
// Dialog bodies appear on first open (app.js sends "dialog-open"); every check here is repeated by the server.
(function () {
  "use strict";

  function checkedCount(boxes) { return boxes.filter(function (box) { return box.checked; }).length; }

  // --- Split: the Actions entry puts the thread in split mode; ticked messages go to the details panel.
  var thread = document.querySelector("[data-thread]");
  var bar = document.querySelector("[data-split-bar]");
  var splitChecks = Array.from(document.querySelectorAll("[data-split-check]"));
  function splitSummary() {
    var picked = checkedCount(splitChecks);
    return picked === 1 ? "The message you ticked" : "The " + picked + " messages you ticked";
  }
  if (thread && bar) {
    var next = bar.querySelector("[data-split-next]");
    var count = bar.querySelector("[data-split-count]");
    var updateSplit = function () {
      var picked = checkedCount(splitChecks);
      count.textContent = picked + " selected";
      next.disabled = picked === 0;
      splitChecks.forEach(function (box) { box.closest(".message").classList.toggle("is-picked", box.checked); });
    };
    document.querySelectorAll("[data-split-start]").forEach(function (start) {
      start.addEventListener("click", function () {
        var menu = start.closest("details");
        if (menu) menu.open = false;
        thread.classList.add("is-splitting");
        bar.hidden = false;
        updateSplit();
        bar.scrollIntoView({ block: "nearest" });
        if (splitChecks.length) splitChecks[0].focus();
      });
    });
    splitChecks.forEach(function (box) { box.addEventListener("change", updateSplit); });
    bar.querySelector("[data-split-cancel]").addEventListener("click", function () {
      thread.classList.remove("is-splitting");
      bar.hidden = true;
      splitChecks.forEach(function (box) { box.checked = false; });
      updateSplit();
      var actions = document.getElementById("actions-button");
      if (actions) actions.focus();
    });
  }

  // --- Merge: search for the other ticket, choose it, then choose the primary.
  function setUpMerge(form) {
    var search = form.querySelector("[data-merge-search]");
    var status = form.querySelector("[data-merge-status]");
    var box = form.querySelector("[data-merge-results-box]");
    var results = form.querySelector("[data-merge-results]");
    var other = form.querySelector("[data-merge-other]");
    var otherLabel = form.querySelector("[data-merge-other-label]");
    var thisPrimary = form.querySelector('input[name="primary"][value="this"]');
    var submit = form.querySelector("[data-merge-submit]");
    var asked = 0;
    var timer = null;

    var update = function () {
      var pick = results.querySelector('input[name="other_id"]:checked');
      submit.disabled = !pick;
      other.disabled = !pick;
      otherLabel.textContent = pick ? pick.getAttribute("data-label") : "The ticket you choose above";
      if (!pick && other.checked) thisPrimary.checked = true;
    };
    var show = function (items) {
      results.replaceChildren();
      items.forEach(function (item) {
        var label = document.createElement("label");
        label.className = "check";
        var radio = document.createElement("input");
        radio.type = "radio";
        radio.name = "other_id";
        radio.value = String(item.id);
        radio.setAttribute("data-label", "#" + item.id + " " + item.name);
        radio.addEventListener("change", update);
        var name = document.createElement("span");
        name.textContent = "#" + item.id + " " + item.name;
        var meta = document.createElement("span");
        meta.className = "muted small";
        meta.textContent = [item.contact, item.status].filter(Boolean).join(" · ");
        label.append(radio, name, meta);
        var li = document.createElement("li");
        li.appendChild(label);
        results.appendChild(li);
      });
      box.hidden = items.length === 0;
      update();
    };
    var find = function () {
      var q = search.value.trim();
      var mine = ++asked;
      if (!q) { show([]); status.textContent = "Type to search."; return; }
      status.textContent = "Searching…";
      var url = form.getAttribute("data-candidates-url") + "?q=" + encodeURIComponent(q);
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (data) {
          if (mine !== asked) return;  // an older answer arriving late
          show(data.items);
          status.textContent = data.items.length ? data.items.length + " found; choose one." : "No other ticket matches.";
        }, function () { if (mine === asked) status.textContent = "The search failed; try again."; });
    };
    search.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(find, 250);
    });
    search.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {  // search now instead of submitting the merge
        event.preventDefault();
        window.clearTimeout(timer);
        find();
      }
    });
  }

  // --- Mark as spam: say so when every conversation is chosen (the ticket will be deleted).
  function setUpSpam(form) {
    var choices = Array.from(form.querySelectorAll("[data-spam-choice]"));
    var warning = form.querySelector("[data-spam-deletes-ticket]");
    var confirm = form.querySelector("[data-spam-confirm]");
    var update = function () {
      var picked = checkedCount(choices);
      warning.hidden = !(picked > 0 && picked === choices.length);
      confirm.disabled = picked === 0;
    };
    choices.forEach(function (c) { c.addEventListener("change", update); });
    update();
  }

  // --- Bulk delete: the button stays disabled until the typed number equals the ticked tickets.
  function bulkUpdater(dialog) {
    var typed = dialog.querySelector("[data-bulk-confirm]");
    var expected = dialog.querySelector("[data-bulk-expected]");
    var submit = dialog.querySelector("[data-bulk-submit]");
    return function () {
      var n = document.querySelectorAll("[data-row-check]:checked").length;
      expected.textContent = String(n);
      submit.disabled = !(n > 0 && typed.value.trim() === String(n));
    };
  }
  function setUpBulk(dialog) {
    var update = bulkUpdater(dialog);
    dialog.querySelector("[data-bulk-confirm]").addEventListener("input", update);
    document.addEventListener("change", function (event) {
      if (event.target.matches("[data-row-check], [data-select-all]")) update();
    });
  }

  // --- Composer: the button says what will happen (send a reply or add a note).
  var composer = document.querySelector("[data-composer]");
  if (composer) {
    var send = composer.querySelector("[data-composer-submit]");
    var hint = composer.querySelector("[data-reply-hint]");
    composer.addEventListener("change", function (event) {
      if (event.target.name !== "kind") return;
      send.textContent = event.target.getAttribute("data-kind-label");
      hint.hidden = event.target.value !== "reply";
    });
  }

  document.addEventListener("dialog-open", function (event) {
    var dialog = event.target;
    if (!dialog.hasAttribute("data-wired")) {
      dialog.setAttribute("data-wired", "");
      var merge = dialog.querySelector("[data-merge-form]");
      var spam = dialog.querySelector("[data-spam-form]");
      if (merge) setUpMerge(merge);
      if (spam) setUpSpam(spam);
      if (dialog.querySelector("[data-bulk-delete]")) setUpBulk(dialog);
    }
    var typed = dialog.querySelector("[data-bulk-confirm]");
    if (typed) {  // each time: a fresh count to type
      typed.value = "";
      bulkUpdater(dialog)();
    }
    var summary = dialog.querySelector("[data-split-summary]");
    if (summary) summary.textContent = splitSummary();
  });
})();
